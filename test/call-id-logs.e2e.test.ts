/**
 * Per-call debug logs (issue 20 §5): `npm start -- --log-level debug` logs the request received,
 * forwarded, the reply received and the reply sent, each with the Call-ID as a field, so one call
 * can be followed with `grep <call-id>`. Ports: a block of 3 from test/kit/ports.ts (freePortBlock).
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { spawnCommand, waitUntil, type TestProcess } from "./helpers/processes.js";
import { UdpPeer, request, statusOf } from "./helpers/udp-peer.js";
import { freePortBlock } from "./kit/ports.js";

const P = await freePortBlock(3);

describe("debug logs carry the Call-ID", () => {
  let proc: TestProcess;
  let uas: UdpPeer;
  beforeAll(async () => {
    uas = await UdpPeer.open(0);
    uas.onMessage = (text, r) => {
      if (text.startsWith("SIP/2.0")) return;
      const keep = text.split("\r\n\r\n")[0]!.split("\r\n").filter((l) => /^(via|from|to|call-id|cseq):/i.test(l));
      uas.sock.send(Buffer.from(["SIP/2.0 200 OK", ...keep, "Content-Length: 0", "", ""].join("\r\n"), "latin1"), r.port, r.address);
    };
    proc = spawnCommand("npm start (debug)", "npm", ["start", "--", "--listen", `udp:127.0.0.1:${P}`, "--control", "off", "--set", `script.settings.nextHop=sip:127.0.0.1:${uas.port}`, "--log-level", "debug"]);
    await waitUntil("npm start", () => proc.log().includes("olelo data plane running"), 30_000, [proc]);
  }, 60_000);
  afterAll(async () => {
    uas?.close();
    await proc?.stop();
  });

  it("receive, forward, reply received and reply sent each name the Call-ID", async () => {
    const callId = `dbg-${process.pid}@test`;
    const c = await UdpPeer.open(0);
    c.send(request("OPTIONS", `sip:bob@127.0.0.1:${P}`, { port: c.port, callId }), P);
    expect(statusOf(await c.wait((t) => t.includes(callId)))).toBe(200);
    c.close();
    await waitUntil("the reply log line", () => proc.log().includes("reply sent"), 5000, [proc]);
    const lines = proc.log().split("\n").filter((l) => l.includes(`"callId":"${callId}"`));
    for (const what of ["request received", "request forwarded", "reply received", "reply sent"]) {
      expect(lines.some((l) => l.includes(`DEBUG [core] ${what}`)), what).toBe(true);
    }
    expect(lines.find((l) => l.includes("request forwarded"))).toContain(`"dst":"udp:127.0.0.1:${uas.port}"`);
  });
});
