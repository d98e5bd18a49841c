/**
 * SIP tracing, the other two paths of issue 20: HEP v3 over TCP (`duplicate_uri ...;transport=tcp`,
 * HEP packets back to back on one stream, each framed by its own length field) and per-call tracing
 * from the routing script (`siptrace.sipTrace(req)`, Kamailio's sip_trace()) while global tracing is
 * off (`trace_on: 0`). `npm start` is the real command; the receiver is a TCP server in the test
 * decoding with the module's decoder. Ports: a block of 3 from test/kit/ports.ts.
 */
import { mkdtempSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { decodeHep3 } from "../data-plane/modules/siptrace/hep.js";
import { ROOT, rpcResult, spawnCommand, waitUntil, type TestProcess } from "./helpers/processes.js";
import { UdpPeer, request, statusOf } from "./helpers/udp-peer.js";
import { freePortBlock } from "./kit/ports.js";
import { letTimePass } from "./kit/wait.js";

const P = await freePortBlock(3);
const HEP = P + 1;
const CTL = P + 2;

describe("siptrace: HEP over TCP, sip_trace() from the script", () => {
  let proc: TestProcess;
  let uas: UdpPeer;
  let server: Server;
  const got: Array<{ callId: string; payload: string; captureId: number }> = [];
  beforeAll(async () => {
    server = createServer((sock) => {
      let buf = Buffer.alloc(0);
      sock.on("data", (d: Buffer) => {
        buf = Buffer.concat([buf, d]);
        // HEP3: "HEP3", then the total length (2 bytes) of this packet
        while (buf.length >= 6 && buf.subarray(0, 4).toString("latin1") === "HEP3") {
          const len = buf.readUInt16BE(4);
          if (buf.length < len) break;
          const c = decodeHep3(buf.subarray(0, len));
          buf = buf.subarray(len);
          if (c) got.push({ callId: c.get(17)?.toString() ?? "", payload: c.get(15)!.toString("latin1"), captureId: c.get(12)!.readUInt32BE() });
        }
      });
    });
    await new Promise<void>((r) => server.listen(HEP, "127.0.0.1", r));
    uas = await UdpPeer.open(0);
    uas.onMessage = (text, r) => {
      if (text.startsWith("SIP/2.0")) return;
      const keep = text.split("\r\n\r\n")[0]!.split("\r\n").filter((l) => /^(via|from|to|call-id|cseq):/i.test(l));
      uas.sock.send(Buffer.from(["SIP/2.0 200 OK", ...keep, "Content-Length: 0", "", ""].join("\r\n"), "latin1"), r.port, r.address);
    };
    const dir = mkdtempSync(join(tmpdir(), "olelo-siptrace-tcp-"));
    const cfg = join(dir, "olelo.json");
    writeFileSync(
      cfg,
      JSON.stringify({
        node: "siptrace-tcp",
        listen: [`udp:127.0.0.1:${P}`],
        script: { file: join(ROOT, "test/scripts/siptrace-per-call.ts"), settings: { nextHop: `sip:127.0.0.1:${uas.port}` } },
        control: { listen: `127.0.0.1:${CTL}` },
        modules: { siptrace: { duplicate_uri: `sip:127.0.0.1:${HEP};transport=tcp`, trace_on: 0, hep_capture_id: 3003 } },
        dataDir: join(dir, "data"),
      }),
    );
    proc = spawnCommand("npm start (siptrace tcp)", "npm", ["start", "--", "--config", cfg]);
    await waitUntil("npm start", () => proc.log().includes("olelo data plane running"), 30_000, [proc]);
  }, 60_000);
  afterAll(async () => {
    uas?.close();
    server?.close();
    await proc?.stop();
  });

  const call = async (user: string, callId: string): Promise<number> => {
    const c = await UdpPeer.open(0);
    c.send(request("OPTIONS", `sip:${user}@127.0.0.1:${P}`, { port: c.port, callId }), P);
    const st = statusOf(await c.wait((t) => t.includes(callId)));
    c.close();
    return st;
  };

  it("with tracing off, only the call the script traces is sent, over TCP, every message of it", async () => {
    expect(await rpcResult(`http://127.0.0.1:${CTL}/RPC`, "siptrace.status", { mode: "check" })).toEqual({ status: "off" });
    const plain = `plain-${process.pid}@test`;
    const traced = `traced-${process.pid}@test`;
    expect(await call("bob", plain)).toBe(200);
    expect(await call("traced", traced)).toBe(200);
    // the script traces from the request route on: request out, reply in, reply out (the request
    // came in before sip_trace() was called, as in Kamailio)
    await waitUntil("HEP over TCP for the traced call", () => got.filter((h) => h.callId === traced).length >= 3, 5000, [proc]);
    const mine = got.filter((h) => h.callId === traced);
    expect(mine.every((h) => h.captureId === 3003 && h.payload.includes(`Call-ID: ${traced}`))).toBe(true);
    expect(mine.some((h) => h.payload.startsWith("OPTIONS"))).toBe(true);
    expect(mine.some((h) => h.payload.startsWith("SIP/2.0 200"))).toBe(true);
    await letTimePass(300, "a HEP packet of the untraced call would arrive within this");
    expect(got.filter((h) => h.callId === plain)).toHaveLength(0);
  });
});
