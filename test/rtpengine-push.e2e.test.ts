/**
 * Kind `rtpengine` pushed by the control plane (real processes, MariaDB, the real rtpengine
 * daemon): a data plane started with no instance relays SDP untouched; a row created with
 * JSON-RPC `rtpengine.create` on the control plane reaches it and the next call's SDP is
 * rewritten to rtpengine's ports; a bad row is refused with table, row and reason (422) and the
 * data plane keeps the table it has.
 * Ports: a block of 80 (freePortBlock): CP API B+1, gRPC B+2, SIP B+10, DP control B+11,
 * callee B+20, caller B+21, ng B+30, rtpengine media B+40..B+79.
 */
import type mysql from "mysql2/promise";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { spawn, type ChildProcess } from "node:child_process";
import { dropE2eDatabase, freshE2eDatabase, jsonRpc, rpcResult, startControlPlaneProcess, startDataPlaneProcess, stopAllProcesses, waitUntil, type ControlPlaneProcess, type DataPlaneProcess } from "./helpers/processes.js";
import { UdpPeer, headerOf } from "./helpers/udp-peer.js";
import { freePortBlock } from "./kit/ports.js";
import { sdpMedia } from "../data-plane/modules/rtpengine/index.js";

const DB = "olelo_test_e2e_rtpengine";
const B = await freePortBlock(80);
const UAS = B + 20, UAC = B + 21, NG = B + 30;
let admin: mysql.Connection;
let cp: ControlPlaneProcess;
let dp: DataPlaneProcess;
let rtpe: ChildProcess;
let uas: UdpPeer;
let uac: UdpPeer;
const invites: string[] = [];

beforeAll(async () => {
  rtpe = spawn("rtpengine", ["--config-file=none", "--table=-1", "--interface=127.0.0.1", `--listen-ng=127.0.0.1:${NG}`, `--listen-cli=127.0.0.1:${B + 31}`, "--foreground", "--log-stderr", `--port-min=${B + 40}`, `--port-max=${B + 79}`, "--delete-delay=0"], { stdio: "ignore" });
  uas = await UdpPeer.open(UAS);
  uac = await UdpPeer.open(UAC);
  uas.onMessage = (text) => {
    if (!text.startsWith("INVITE ")) return;
    invites.push(text);
    const h = (n: string) => headerOf(text, n);
    const body = ["v=0", "o=- 7 7 IN IP4 127.0.0.1", "s=-", "c=IN IP4 127.0.0.1", "t=0 0", "m=audio 7000 RTP/AVP 0", ""].join("\r\n");
    uas.send([
      "SIP/2.0 200 OK", ...h("via").map((v) => `Via: ${v}`), ...h("record-route").map((v) => `Record-Route: ${v}`), `From: ${h("from")[0]}`, `To: ${h("to")[0]};tag=uas`,
      `Call-ID: ${h("call-id")[0]}`, `CSeq: ${h("cseq")[0]}`, `Contact: <sip:bob@127.0.0.1:${UAS}>`, "Content-Type: application/sdp", `Content-Length: ${body.length}`, "", body,
    ].join("\r\n"), B + 10);
  };
  admin = await freshE2eDatabase(DB);
  cp = await startControlPlaneProcess({ db: DB, apiPort: B + 1, grpcPort: B + 2, pollMs: 0 });
  dp = await startDataPlaneProcess({
    node: "e2e-rtpe",
    sipPort: B + 10,
    controlPort: B + 11,
    controlPlane: cp.grpcUrl,
    modules: { rtpengine: { rtpengine_tout_ms: 200, rtpengine_retr: 2, ping_interval: 0 } },
    settings: { nextHop: `sip:127.0.0.1:${UAS}` },
  });
  await waitUntil("the empty rtpengine table on the data plane", async () => (await dp.version("rtpengine")) !== null, 20_000, [cp, dp]);
}, 110_000);

afterAll(async () => {
  await stopAllProcesses();
  uas?.close();
  uac?.close();
  rtpe?.kill("SIGTERM");
  await dropE2eDatabase(admin, DB);
  await admin?.end();
}, 40_000);

let n = 0;
/** One INVITE with SDP through the data plane; the SDP the callee got. */
async function call(): Promise<{ port: number }> {
  const callId = `push-${++n}-${Date.now()}`;
  const offer = ["v=0", "o=- 1 1 IN IP4 127.0.0.1", "s=-", "c=IN IP4 127.0.0.1", "t=0 0", "m=audio 6000 RTP/AVP 0", ""].join("\r\n");
  uac.send([`INVITE sip:bob@127.0.0.1:${B + 10} SIP/2.0`, `Via: SIP/2.0/UDP 127.0.0.1:${UAC};branch=z9hG4bK-p${n};rport`, `From: <sip:alice@127.0.0.1>;tag=f${n}`, `To: <sip:bob@127.0.0.1>`, `Call-ID: ${callId}`, "CSeq: 1 INVITE", "Max-Forwards: 70", `Contact: <sip:alice@127.0.0.1:${UAC}>`, "Content-Type: application/sdp", `Content-Length: ${offer.length}`, "", offer].join("\r\n"), B + 10);
  await uac.wait((t) => t.startsWith("SIP/2.0 200") && t.includes(callId), 8000);
  const inv = invites.find((t) => t.includes(callId))!;
  return sdpMedia(inv.slice(inv.indexOf("\r\n\r\n") + 4))[0]!;
}

describe("kind rtpengine from the control plane", () => {
  it("a row created through the API steers the next call's media through rtpengine; a bad row is refused", async () => {
    expect((await call()).port).toBe(6000); // no instance yet: SDP untouched
    const created = await jsonRpc(cp.rpcUrl, "rtpengine.create", { setid: 0, url: `udp:127.0.0.1:${NG}`, weight: 1, disabled: 0 });
    expect(created.error).toBeUndefined();
    const v = created.result.version as string;
    await waitUntil("the data plane to run the new rtpengine table", async () => (await dp.version("rtpengine")) === v, 15_000, [cp, dp]);
    const port = (await call()).port;
    expect(port).toBeGreaterThanOrEqual(B + 40);
    expect(port).toBeLessThanOrEqual(B + 79);
    const show = await rpcResult(dp.rpcUrl, "rtpengine.show", []);
    expect(show).toEqual([expect.objectContaining({ url: `udp:127.0.0.1:${NG}`, set: 0, disabled: 0, source: "table" })]);

    const bad = await jsonRpc(cp.rpcUrl, "rtpengine.create", { setid: 0, url: "tcp://10.0.0.1", weight: 1, disabled: 0 });
    expect(bad.error?.code).toBe(422);
    expect(bad.error?.data).toMatchObject({ kind: "rtpengine", table: "rtpengine", reason: expect.stringContaining("url 'tcp://10.0.0.1' is not udp:host:port") });
    expect(await dp.version("rtpengine")).toBe(v);
    expect((await call()).port).toBeGreaterThanOrEqual(B + 40);
  }, 60_000);
});
