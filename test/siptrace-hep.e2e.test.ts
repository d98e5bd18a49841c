/**
 * SIP tracing to Homer (issue 20): `npm start` with the siptrace module sends a HEP v3 copy of every
 * received and sent SIP message to duplicate_uri. The receiver here is a UDP socket in the test that
 * decodes HEP3 with the module's decoder (not Kamailio sipcapture). RPC siptrace.status off stops it.
 * Ports: a block of 3 from test/kit/ports.ts.
 */
import { createSocket } from "node:dgram";
import { mkdtempSync, writeFileSync } from "node:fs";
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

interface Hep {
  src: string;
  dst: string;
  srcPort: number;
  dstPort: number;
  captureId: number;
  proto: number;
  callId: string;
  payload: string;
}

describe("siptrace: HEP v3 to duplicate_uri", () => {
  let proc: TestProcess;
  let uas: UdpPeer;
  const got: Hep[] = [];
  const hep = createSocket("udp4");
  beforeAll(async () => {
    hep.on("message", (b) => {
      const c = decodeHep3(b);
      if (!c) return;
      got.push({
        src: [...c.get(3)!].join("."),
        dst: [...c.get(4)!].join("."),
        srcPort: c.get(7)!.readUInt16BE(),
        dstPort: c.get(8)!.readUInt16BE(),
        captureId: c.get(12)!.readUInt32BE(),
        proto: c.get(11)![0]!,
        callId: c.get(17)?.toString() ?? "",
        payload: c.get(15)!.toString("latin1"),
      });
    });
    await new Promise<void>((r) => hep.bind(HEP, "127.0.0.1", r));
    uas = await UdpPeer.open(0);
    uas.onMessage = (text, r) => {
      if (text.startsWith("SIP/2.0")) return;
      const keep = text.split("\r\n\r\n")[0]!.split("\r\n").filter((l) => /^(via|from|to|call-id|cseq):/i.test(l));
      uas.sock.send(Buffer.from(["SIP/2.0 200 OK", ...keep, "Content-Length: 0", "", ""].join("\r\n"), "latin1"), r.port, r.address);
    };
    const dir = mkdtempSync(join(tmpdir(), "olelo-siptrace-"));
    const cfg = join(dir, "olelo.json");
    writeFileSync(
      cfg,
      JSON.stringify({
        node: "siptrace-test",
        listen: [`udp:127.0.0.1:${P}`],
        script: { file: join(ROOT, "data-plane/scripts/default.ts"), settings: { nextHop: `sip:127.0.0.1:${uas.port}` } },
        control: { listen: `127.0.0.1:${CTL}` },
        modules: { siptrace: { duplicate_uri: `sip:127.0.0.1:${HEP}`, trace_on: 1, hep_capture_id: 2001 } },
        dataDir: join(dir, "data"),
      }),
    );
    proc = spawnCommand("npm start (siptrace)", "npm", ["start", "--", "--config", cfg]);
    await waitUntil("npm start", () => proc.log().includes("olelo data plane running"), 30_000, [proc]);
  }, 60_000);
  afterAll(async () => {
    uas?.close();
    hep.close();
    await proc?.stop();
  });

  const call = async (callId: string): Promise<number> => {
    const c = await UdpPeer.open(0);
    c.send(request("OPTIONS", `sip:bob@127.0.0.1:${P}`, { port: c.port, callId }), P);
    const st = statusOf(await c.wait((t) => t.includes(callId)));
    c.close();
    return st;
  };

  it("every received and sent message of a relayed OPTIONS arrives as HEP3 with the Call-ID", async () => {
    const callId = `hep-${process.pid}@test`;
    expect(await call(callId)).toBe(200);
    await waitUntil("4 HEP packets", () => got.filter((h) => h.callId === callId).length >= 4, 5000, [proc]);
    const mine = got.filter((h) => h.callId === callId);
    for (const h of mine) {
      expect(h.captureId).toBe(2001);
      expect(h.proto).toBe(1);
      expect(h.payload).toContain(`Call-ID: ${callId}`);
    }
    const reqIn = mine.find((h) => h.payload.startsWith("OPTIONS") && h.dstPort === P);
    const reqOut = mine.find((h) => h.payload.startsWith("OPTIONS") && h.srcPort === P && h.dstPort === uas.port);
    const repIn = mine.find((h) => h.payload.startsWith("SIP/2.0 200") && h.srcPort === uas.port && h.dstPort === P);
    const repOut = mine.find((h) => h.payload.startsWith("SIP/2.0 200") && h.srcPort === P && h.dstPort !== uas.port);
    expect(reqIn && reqOut && repIn && repOut, JSON.stringify(mine.map((h) => [h.payload.slice(0, 12), h.srcPort, h.dstPort]))).toBeTruthy();
    expect(reqIn!.src).toBe("127.0.0.1");
    expect(reqOut!.dst).toBe("127.0.0.1");
  });

  it("siptrace.status off stops tracing; check reports it; on resumes", async () => {
    const url = `http://127.0.0.1:${CTL}/RPC`;
    expect(await rpcResult(url, "siptrace.status", { mode: "off" })).toEqual({ status: "off" });
    expect(await rpcResult(url, "siptrace.status", { mode: "check" })).toEqual({ status: "off" });
    const callId = `hep-off-${process.pid}@test`;
    expect(await call(callId)).toBe(200);
    await letTimePass(500, "a HEP packet of the untraced call would arrive within this");
    expect(got.filter((h) => h.callId === callId)).toHaveLength(0);
    expect(await rpcResult(url, "siptrace.status", { mode: "on" })).toEqual({ status: "on" });
    const again = `hep-on-${process.pid}@test`;
    expect(await call(again)).toBe(200);
    await waitUntil("HEP after on", () => got.some((h) => h.callId === again), 5000, [proc]);
  });
});
