/**
 * Routing-script runtime over real sockets: asynchronous routes (the transaction waits while the
 * route awaits an HTTP lookup, retransmissions are absorbed), runtime reload without dropping
 * transactions in flight, a script that fails to load keeps the old one, stateless forwarding,
 * IPv6. Ports: a block of 100 from test/kit/ports.ts (freePortBlock), P + offset.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createServer, type Server } from "node:http";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startProxy, TEST_SCRIPTS } from "./helpers/proxy.js";
import { runSipp, startSippServer, type SippServer } from "./helpers/sipp.js";
import { UdpPeer, request, statusOf, headerOf } from "./helpers/udp-peer.js";
import type { DataPlane } from "../data-plane/node.js";
import { freePortBlock } from "./kit/ports.js";
import { letTimePass, waitUpTo } from "./kit/wait.js";

const P = await freePortBlock(100, { ipv6: true }); // the IPv6 test binds ::1 too

describe("asynchronous route", () => {
  let dp: DataPlane;
  let http: Server;
  let uas: SippServer;
  let lookups = 0;
  beforeAll(async () => {
    http = createServer((req, res) => {
      lookups++;
      const user = new URL(req.url!, "http://x").searchParams.get("user");
      // answer slowly, so that the UAC retransmits while the route is suspended
      setTimeout(() => {
        if (user === "nobody") {
          res.writeHead(404).end();
          return;
        }
        res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ dst: `sip:127.0.0.1:${P + 11}` }));
      }, 700);
    });
    await new Promise<void>((r) => http.listen(P + 10, "127.0.0.1", r));
    uas = await startSippServer({ scenario: "uas_rr.xml", port: P + 11 });
    dp = await startProxy({
      listen: [`udp:127.0.0.1:${P}`],
      script: { file: join(TEST_SCRIPTS, "async-test.ts"), settings: { lookupUrl: `http://127.0.0.1:${P + 10}/route` } },
    });
  });
  afterAll(async () => {
    await uas?.stop();
    await dp?.stop();
    http?.close();
  });

  it("suspends the transaction while awaiting, absorbing retransmissions, then relays once", async () => {
    const uac = await UdpPeer.open(P + 1);
    try {
      const inv = request("INVITE", `sip:alice@127.0.0.1:${P}`, { port: P + 1, callId: "async-1@test", branch: "z9hG4bK-async1" });
      uac.send(inv, P);
      await uac.wait((t) => t.includes("async-1@test") && statusOf(t) === 100, 2000);
      await letTimePass(300, "the retransmission comes while the async lookup is still running");
      uac.send(inv, P); // retransmission while the lookup is still running
      const ok = await uac.wait((t) => t.includes("async-1@test") && statusOf(t) === 200, 5000);
      expect(headerOf(ok, "record-route")).toEqual([`<sip:127.0.0.1:${P};lr>`]);
      expect(uac.received.filter((m) => m.text.includes("async-1@test") && statusOf(m.text) === 100).length).toBe(2);
      expect(lookups).toBe(1); // the retransmission did not run the route again
    } finally {
      uac.close();
    }
  });

  it("replies from the resumed route (404 after the lookup says no)", async () => {
    const uac = await UdpPeer.open(P + 2);
    try {
      uac.send(request("INVITE", `sip:nobody@127.0.0.1:${P}`, { port: P + 2, callId: "async-2@test" }), P);
      const r = await uac.wait((t) => t.includes("async-2@test") && statusOf(t) >= 200, 5000);
      expect(statusOf(r)).toBe(404);
    } finally {
      uac.close();
    }
  });

  it("carries sipp calls through the asynchronous route", async () => {
    const r = await runSipp({ scenario: "uac_rr.xml", port: P + 3, remote: `127.0.0.1:${P}`, calls: 20, rate: 20, service: "bob" });
    expect(r.failed, r.errors).toBe(0);
    expect(r.successful).toBe(20);
  });
});

describe("script reload", () => {
  let dp: DataPlane;
  let a: UdpPeer;
  let b: UdpPeer;
  let uac: UdpPeer;
  const dir = mkdtempSync(join(tmpdir(), "olelo-script-"));
  const scriptFor = (port: number, tag: string) => `
import { defineScript } from "${join(process.cwd(), "data-plane/core/script/context.ts")}";
export default defineScript(() => ({
  request(req) {
    if (req.method === "ACK") { if (req.checkTransaction()) req.relay(); return; }
    req.addHeader("X-Script", "${tag}");
    req.setDst("sip:127.0.0.1:${port}");
    req.onFailure("F");
    req.relay();
  },
  failure: { F(f) { f.reply(599, "failure route of ${tag}"); } },
}));
`;
  beforeAll(async () => {
    a = await UdpPeer.open(P + 21);
    b = await UdpPeer.open(P + 22);
    uac = await UdpPeer.open(P + 23);
    writeFileSync(join(dir, "s.ts"), scriptFor(P + 21, "v1"));
    dp = await startProxy({ listen: [`udp:127.0.0.1:${P + 20}`], script: { file: join(dir, "s.ts") }, core: { tm: { frTimer: 2500 } } });
  });
  afterAll(async () => {
    for (const p of [a, b, uac]) p?.close();
    await dp?.stop();
  });

  it("swaps the script at runtime; a transaction in flight finds its failure route in the new script", async () => {
    uac.send(request("OPTIONS", `sip:x@127.0.0.1:${P + 20}`, { port: P + 23, callId: "reload-1@test" }), P + 20);
    const first = await a.wait((t) => t.includes("reload-1@test"));
    expect(headerOf(first, "x-script")).toEqual(["v1"]);
    // reload while reload-1 is still waiting for its (never coming) reply
    writeFileSync(join(dir, "s.ts"), scriptFor(P + 22, "v2"));
    const res = await dp.rpc.call("script.reload", [], { transport: "internal" });
    expect(res).toMatchObject({ path: join(dir, "s.ts") });
    uac.send(request("OPTIONS", `sip:x@127.0.0.1:${P + 20}`, { port: P + 23, callId: "reload-2@test" }), P + 20);
    const second = await b.wait((t) => t.includes("reload-2@test"));
    expect(headerOf(second, "x-script")).toEqual(["v2"]);
    // the old transaction times out and runs failure route "F" of the script now loaded
    const fin = await uac.wait((t) => t.includes("reload-1@test") && statusOf(t) >= 200, 6000);
    expect(fin.split("\r\n")[0]).toBe("SIP/2.0 599 failure route of v2");
  });

  it("keeps the old script when the new one fails to load, and says why", async () => {
    writeFileSync(join(dir, "s.ts"), "export default 42;\n");
    await expect(dp.rpc.call("script.reload", [], { transport: "internal" })).rejects.toThrow(/default export must be defineScript/);
    writeFileSync(join(dir, "broken.ts"), "export default (( =>;\n");
    await expect(dp.rpc.call("script.reload", [join(dir, "broken.ts")], { transport: "internal" })).rejects.toThrow(/script reload failed/);
    uac.send(request("OPTIONS", `sip:x@127.0.0.1:${P + 20}`, { port: P + 23, callId: "reload-3@test" }), P + 20);
    const m = await b.wait((t) => t.includes("reload-3@test")).catch((e) => { throw new Error(e.message + " UAC got: " + uac.received.map((x) => x.text.split("\r\n")[0] + " " + /Call-ID: (.*)/.exec(x.text)?.[1]).join(" / ") + " A got: " + a.received.map((x) => /Call-ID: (.*)/.exec(x.text)?.[1]).join(",")); });
    expect(headerOf(m, "x-script")).toEqual(["v2"]);
  });
});

describe("stateless forwarding", () => {
  let dp: DataPlane;
  let uas: UdpPeer;
  let uac: UdpPeer;
  beforeAll(async () => {
    uas = await UdpPeer.open(P + 41);
    uac = await UdpPeer.open(P + 42);
    dp = await startProxy({
      listen: [`udp:127.0.0.1:${P + 40}`],
      script: { file: join(TEST_SCRIPTS, "proxy-test.ts"), settings: { targets: [`sip:127.0.0.1:${P + 41}`], stateless: true } },
    });
  });
  afterAll(async () => {
    uas?.close();
    uac?.close();
    await dp?.stop();
  });

  it("forwards without a transaction, same branch for retransmissions, and relays the reply by Via", async () => {
    const msg = request("MESSAGE", `sip:bob@127.0.0.1:${P + 40}`, { port: P + 42, callId: "sl-1@test", branch: "z9hG4bK-sl1" });
    uac.send(msg, P + 40);
    uac.send(msg, P + 40);
    await waitUpTo(() => uas.received.filter((m) => m.text.includes("sl-1@test")).length >= 2, 200);
    const copies = uas.received.filter((m) => m.text.includes("sl-1@test"));
    expect(copies).toHaveLength(2); // no transaction: both copies go on
    const br = copies.map((c) => /branch=([^;\r]+)/.exec(c.text)![1]);
    expect(br[0]).toBe(br[1]);
    expect(dp.core.serverTxns.size).toBe(0);
    expect(uac.received.some((m) => statusOf(m.text) === 100)).toBe(false);
    // UAS answers: the reply goes back by the second Via (received/rport)
    const fwd = copies[0]!.text;
    const vias = fwd.split("\r\n").filter((l) => l.startsWith("Via:"));
    const rest = fwd.split("\r\n").filter((l) => /^(From|To|Call-ID|CSeq):/.test(l));
    uas.send(["SIP/2.0 200 OK", ...vias, ...rest, "Content-Length: 0", "", ""].join("\r\n"), P + 40);
    const ok = await uac.wait((t) => t.includes("sl-1@test") && statusOf(t) === 200);
    expect(headerOf(ok, "via")).toHaveLength(1);
  });
});

describe("IPv6", () => {
  let dp: DataPlane;
  let uas: SippServer;
  beforeAll(async () => {
    uas = await startSippServer({ scenario: "uas_rr.xml", port: P + 61, ip: "::1" });
    dp = await startProxy({
      listen: [`udp:[::1]:${P + 60}`, `udp:127.0.0.1:${P + 60}`],
      script: { file: join(TEST_SCRIPTS, "proxy-test.ts"), settings: { targets: [`sip:[::1]:${P + 61}`] } },
    });
  });
  afterAll(async () => {
    await uas?.stop();
    await dp?.stop();
  });

  it("carries calls over IPv6", async () => {
    const r = await runSipp({ scenario: "uac_rr.xml", port: P + 62, remote: `[::1]:${P + 60}`, calls: 20, rate: 20, service: "bob", ip: "::1" });
    expect(r.failed, r.errors + r.stderr).toBe(0);
    expect(r.successful).toBe(20);
  });

  it("bridges IPv4 in to IPv6 out with double Record-Route", async () => {
    const r = await runSipp({ scenario: "uac_rr.xml", port: P + 63, remote: `127.0.0.1:${P + 60}`, calls: 20, rate: 20, service: "bob" });
    expect(r.failed, r.errors + r.stderr).toBe(0);
    expect(r.successful).toBe(20);
  });
});
