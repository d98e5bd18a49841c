/**
 * Figures an operator reads (issue 20 §5): tm.stats counts local transactions inside `total`
 * (total_local never exceeds total), and ul.* shows an unspecified q as -1, as Kamailio does.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startProxy } from "./helpers/proxy.js";
import { UdpPeer } from "./helpers/udp-peer.js";
import type { DataPlane } from "../data-plane/node.js";
import { freePortBlock } from "./kit/ports.js";

describe("tm.stats and ul figures", () => {
  let dp: DataPlane;
  let uas: UdpPeer;
  let sip = 0;
  const call = (m: string, params: unknown) => dp.rpc.call(m, params, { transport: "internal" });
  beforeAll(async () => {
    sip = await freePortBlock(1);
    dp = await startProxy({ listen: [`udp:127.0.0.1:${sip}`], modules: { usrloc: {} } });
    uas = await UdpPeer.open(0);
  });
  afterAll(async () => {
    uas?.close();
    await dp?.stop();
  });

  it("total counts the proxy's own requests too, so total_local <= total", async () => {
    const answer = (async () => {
      const req = await uas.wait((t) => t.startsWith("OPTIONS "), 5000);
      const via = /^Via: .*$/im.exec(req)![0];
      const lines = ["SIP/2.0 200 OK", via];
      for (const h of ["From", "To", "Call-ID", "CSeq"]) lines.push(new RegExp(`^${h}: .*$`, "im").exec(req)![0]);
      lines.push("Content-Length: 0", "", "");
      uas.send(lines.join("\r\n"), sip);
    })();
    const r = await dp.core.uacRequest({ method: "OPTIONS", uri: `sip:ping@127.0.0.1:${uas.port}`, timeoutMs: 3000 });
    await answer;
    expect(r.code).toBe(200);
    const s = (await call("tm.stats", [])) as { total: number; total_local: number; created: number; freed: number; current: number };
    expect(s.total_local).toBeGreaterThanOrEqual(1);
    expect(s.total).toBeGreaterThanOrEqual(s.total_local);
    expect(s.created - s.freed).toBe(s.current);
  });

  it("ul.show prints an unspecified q as -1", async () => {
    await call("ul.add", ["location", "carol", "sip:carol@10.1.1.3:5060", "600", "-1", ".", "0", "0", "4294967295"]);
    const l = (await call("ul.lookup", ["location", "carol"])) as { Contacts: Array<{ Contact: Record<string, unknown> }> };
    expect(l.Contacts[0]!.Contact.Q).toBe(-1);
  });
});
