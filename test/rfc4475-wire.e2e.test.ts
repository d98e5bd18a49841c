/**
 * The 49 RFC 4475 torture messages sent over UDP to a running proxy: every message that must be
 * rejected gets the RFC's answer (400, 416, 420, 483, 505) or is dropped where no reply can be
 * formed; every valid one is processed (forwarded to the loopback next hop, never to the hosts named
 * in the messages); the process keeps serving afterwards. Ports: a block of 100 from test/kit/ports.ts (freePortBlock), P + offset.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { startProxy, TEST_SCRIPTS } from "./helpers/proxy.js";
import { UdpPeer, request, statusOf } from "./helpers/udp-peer.js";
import type { DataPlane } from "../data-plane/node.js";
import { freePortBlock } from "./kit/ports.js";
import { letTimePass } from "./kit/wait.js";

const P = await freePortBlock(100);

const DIR = join(import.meta.dirname, "fixtures/rfc4475");

/** Expected outcome at the proxy: a status, "fwd" = forwarded to the next hop, "drop" = no reply. */
const EXPECT: Record<string, number | "fwd" | "drop"> = {
  wsinv: "fwd",
  intmeth: "fwd",
  esc01: "fwd",
  escnull: "fwd",
  esc02: "fwd",
  lwsdisp: "fwd",
  longreq: "fwd",
  dblreq: "fwd",
  semiuri: "fwd",
  transports: "fwd",
  mpart01: "fwd",
  unreason: "drop", // a response whose Via is not ours
  noreason: "drop",
  badinv01: 400,
  clerr: 400,
  ncl: 400,
  scalar02: 400,
  scalarlg: "drop", // response
  quotbal: 400,
  ltgtruri: 400,
  lwsruri: 400,
  lwsstart: 400,
  trws: 400,
  escruri: 400,
  baddate: 400,
  regbadct: 400,
  badaspec: 400,
  baddn: 400,
  badvers: 505,
  mismatch01: 400,
  mismatch02: 400,
  bigcode: "drop", // response
  badbranch: "fwd",
  insuf: 400,
  unkscm: 416,
  novelsc: 416,
  unksm2: "fwd",
  bext01: 420,
  invut: "fwd",
  regaut01: "fwd",
  multi01: 400,
  mcl01: 400,
  bcast: "drop",
  zeromf: 483,
  cparam01: "fwd",
  cparam02: "fwd",
  regescrt: "fwd",
  sdp01: "fwd",
  inv2543: "fwd",
};

describe("RFC 4475 over the wire", () => {
  let dp: DataPlane;
  let client: UdpPeer;
  let nextHop: UdpPeer;
  beforeAll(async () => {
    client = await UdpPeer.open(P + 1);
    nextHop = await UdpPeer.open(P + 10);
    // the next hop answers every request with 200, so transactions end quickly (several torture
    // messages reuse the same Via branch and would otherwise match as retransmissions)
    nextHop.onMessage = (text, r) => {
      if (!/^[^ ]+ [^ ]+ SIP\/2.0\r\n/.test(text) || text.startsWith("ACK ")) return;
      const head = text.slice(0, text.indexOf("\r\n\r\n")).split("\r\n");
      const keep = head.filter((l) => /^(via|v|from|f|to|t|call-id|i|cseq)\s*:/i.test(l));
      nextHop.send(["SIP/2.0 200 OK", ...keep, "Content-Length: 0", "", ""].join("\r\n"), r.port, r.address);
    };
    dp = await startProxy({
      core: { tm: { wtTimer: 50 } },
      listen: [`udp:127.0.0.1:${P}`],
      script: { file: join(TEST_SCRIPTS, "proxy-test.ts"), settings: { targets: [`sip:127.0.0.1:${P + 10}`], pin: true } },
    });
  });
  afterAll(async () => {
    client?.close();
    nextHop?.close();
    await dp?.stop();
  });

  const files = readdirSync(DIR).filter((f) => f.endsWith(".dat"));
  for (const f of files) {
    const name = f.replace(".dat", "");
    it(`${name}: ${EXPECT[name]}`, async () => {
      const want = EXPECT[name];
      expect(want).toBeDefined();
      const raw = readFileSync(join(DIR, f));
      // every torture message names a unique Call-ID; find it to match replies
      const cid = /^(?:Call-ID|i)\s*:\s*(.+?)\s*$/im.exec(raw.toString("latin1"))?.[1] ?? name;
      await letTimePass(120, "the previous transaction ends (wt_timer 50 ms)");
      const beforeFwd = nextHop.received.length;
      const beforeRx = client.received.length;
      client.sendRaw(raw, P);
      if (typeof want === "number") {
        const r = await client.wait((t) => t.includes(cid) && statusOf(t) >= 200);
        expect(statusOf(r)).toBe(want);
      } else if (want === "fwd") {
        const fwd = await nextHop.wait((t) => t.includes(cid) && nextHop.received.indexOf(nextHop.received.find((m) => m.text === t)!) >= beforeFwd);
        expect(fwd).toMatch(/^[^ ]+ [^ ]+ SIP\/2.0\r\n/);
        expect(nextHop.received.length).toBeGreaterThan(beforeFwd);
      } else {
        await letTimePass(150, "a reply or forwarded copy would come within this");
        expect(client.received.slice(beforeRx).filter((m) => m.text.includes(cid) && statusOf(m.text) >= 200)).toHaveLength(0);
        expect(nextHop.received.slice(beforeFwd).filter((m) => m.text.includes(cid))).toHaveLength(0);
      }
    });
  }

  it("is still serving after all of them", async () => {
    client.send(request("OPTIONS", `sip:127.0.0.1:${P}`, { port: P + 1, callId: "alive@test" }), P);
    const r = await client.wait((t) => t.includes("alive@test"));
    expect(statusOf(r)).toBe(200);
  });
});

describe("hostile input over UDP and TCP", () => {
  it("survives thousands of mutated and random messages and keeps serving", async () => {
    const { startProxy: start } = await import("./helpers/proxy.js");
    const net = await import("node:net");
    const dp = await start({
      listen: [`udp:127.0.0.1:${P + 20}`, `tcp:127.0.0.1:${P + 20}`],
      script: { file: join(TEST_SCRIPTS, "proxy-test.ts"), settings: { targets: [`sip:127.0.0.1:${P + 29}`], pin: true } },
      core: { tm: { wtTimer: 50, frTimer: 500 } },
    });
    const client = await UdpPeer.open(P + 21);
    const sink = await UdpPeer.open(P + 29);
    try {
      let seed = 7;
      const rnd = () => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff);
      const bases = readdirSync(DIR)
        .filter((f) => f.endsWith(".dat"))
        .map((f) => readFileSync(join(DIR, f)));
      for (let i = 0; i < 3000; i++) {
        const base = bases[i % bases.length]!;
        const b = Buffer.from(base);
        const n = 1 + Math.floor(rnd() * 6);
        for (let k = 0; k < n; k++) b[Math.floor(rnd() * b.length)] = Math.floor(rnd() * 256);
        client.sendRaw(i % 10 === 0 ? Buffer.from(Array.from({ length: Math.floor(rnd() * 1400) }, () => Math.floor(rnd() * 256))) : b, P + 20);
        if (i % 200 === 0) await letTimePass(5, "pace the fuzz so the socket buffers do not drop it");
      }
      // garbage and half messages over TCP
      for (let i = 0; i < 20; i++) {
        const s = net.connect({ host: "127.0.0.1", port: P + 20 });
        await new Promise<void>((r) => s.once("connect", () => r()));
        s.write(i % 2 ? bases[i % bases.length]!.subarray(0, 100) : Buffer.from(Array.from({ length: 3000 }, () => Math.floor(rnd() * 256))));
        s.destroy();
      }
      await letTimePass(300, "the proxy reads the garbage before the liveness probe");
      client.send(request("OPTIONS", `sip:127.0.0.1:${P + 20}`, { port: P + 21, callId: "fuzz-alive@test" }), P + 20);
      const r = await client.wait((t) => t.includes("fuzz-alive@test") && statusOf(t) >= 200);
      expect(statusOf(r)).toBe(200);
      expect(dp.stats.select("core:err_requests")[0]![1]).toBeGreaterThan(0);
    } finally {
      client.close();
      sink.close();
      await dp.stop();
    }
  });
});
