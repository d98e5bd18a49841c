/**
 * In-process hot-path benchmark: full INVITE/180/200/ACK/BYE/200 call flows through the SIP core
 * (parse → match → route script → serialize) with the socket sends stubbed out, so the figure is
 * Olelo's own CPU cost per call without syscalls. Prints µs of CPU per call (median of 10 rounds).
 * HOTPATH_MODE=options: OPTIONS to the proxy itself, answered 200 statelessly, instead of calls.
 * HOTPATH_MODE=register: REGISTERs as sipbench's register.xml sends them (a new AoR each, Expires 60)
 *   saved by the registrar module (memory-only usrloc), answered 200 with the binding.
 *   npx tsx bench/hotpath/run.ts [calls-per-round]
 */
import { SipCore } from "../../data-plane/core/tm/engine.js";
import { DEFAULT_CORE_CONFIG } from "../../data-plane/core/config.js";
import { StatsRegistry } from "../../data-plane/core/stats/counters.js";
import { EventBus } from "../../data-plane/core/events/bus.js";
import { ListenSocket } from "../../data-plane/core/transport/listen-socket.js";
import { ScriptRuntime, loadScriptFile } from "../../data-plane/core/script/runtime.js";
import { createLogger, setLogLevel } from "../../lib/log/logger.js";
import type { Endpoint } from "../../lib/sip/types.js";
import { loadModules } from "../../data-plane/core/module-loader.js";
import { TableRegistry } from "../../data-plane/core/tables/registry.js";
import { RpcRegistry } from "../../lib/rpc/registry.js";
import type { SipUac } from "../../data-plane/core/module.js";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

setLogLevel("error");
const N = Number(process.argv[2] ?? 20000);
const cfg = structuredClone(DEFAULT_CORE_CONFIG);
cfg.tm.wtTimer = 50; // free transactions quickly so memory stays flat
const core = new SipCore(cfg, new StatsRegistry(), new EventBus());
const sock = new ListenSocket("udp", "127.0.0.1", 5060);
core.transport.sockets.push(sock);
(core as unknown as { myself: { addSocket(h: string, p: number): void } }).myself.addSocket("127.0.0.1", 5060);
let lastBuf: Buffer = Buffer.alloc(0);
let sends = 0;
core.transport.send = (_s, _d, data) => {
  sends++;
  lastBuf = data;
  return true;
};
const last = () => lastBuf.toString("latin1");
const MODE = process.env.HOTPATH_MODE === "options" ? "options" : process.env.HOTPATH_MODE === "register" ? "register" : "calls";
const modules: Record<string, unknown> = {};
if (MODE === "register") {
  const dir = mkdtempSync(join(tmpdir(), "hotpath-"));
  const sip = { request: () => Promise.reject(new Error("no UAC in the bench")) } as unknown as SipUac;
  const deps = { stats: new StatsRegistry(), rpc: new RpcRegistry(), events: new EventBus(), tables: new TableRegistry(), sip, dataDir: dir, baseDir: dir };
  for (const m of await loadModules({ registrar: {} }, deps)) modules[m.name] = m.api;
}
const env = { modules, log: createLogger("bench"), settings: { nextHop: "sip:127.0.0.1:5070" } };
core.runner = new ScriptRuntime(await loadScriptFile(new URL("../bench-script.ts", import.meta.url).pathname, env, 0), env);
const inject = (text: string, from: Endpoint) =>
  (core as unknown as { onInbound(d: Buffer, s: Endpoint, k: ListenSocket, c: null): void }).onInbound(Buffer.from(text, "latin1"), from, sock, null);
const UAC: Endpoint = { proto: "udp", address: "127.0.0.1", port: 5101 };
const UAS: Endpoint = { proto: "udp", address: "127.0.0.1", port: 5070 };
const sdp = "v=0\r\no=user1 53655765 2353687637 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 6000 RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n";

function reply(fwd: string, code: number, reason: string, withSdp: boolean): string {
  const lines = fwd.split("\r\n");
  const head: string[] = [];
  for (const l of lines) {
    if (l === "") break;
    if (/^(Via|From|Call-ID|CSeq|Record-Route):/i.test(l)) head.push(l);
    else if (l.startsWith("To:")) head.push(l + ";tag=uas-tag");
  }
  const body = withSdp ? sdp : "";
  return `SIP/2.0 ${code} ${reason}\r\n${head.join("\r\n")}\r\nContact: <sip:127.0.0.1:5070;transport=UDP>\r\n${withSdp ? "Content-Type: application/sdp\r\n" : ""}Content-Length: ${body.length}\r\n\r\n${body}`;
}

function call(i: number): void {
  const cid = `${i}-bench@127.0.0.1`;
  const from = `From: sipp <sip:sipp@127.0.0.1:5101>;tag=${i}SIPpTag00`;
  const inv = `INVITE sip:bench@127.0.0.1:5060 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:5101;branch=z9hG4bK-1-${i}-0\r\n${from}\r\nTo: bench <sip:bench@127.0.0.1:5060>\r\nCall-ID: ${cid}\r\nCSeq: 1 INVITE\r\nContact: sip:sipp@127.0.0.1:5101\r\nMax-Forwards: 70\r\nSubject: Performance Test\r\nContent-Type: application/sdp\r\nContent-Length: ${sdp.length}\r\n\r\n${sdp}`;
  inject(inv, UAC);
  const fwd = last();
  inject(reply(fwd, 180, "Ringing", false), UAS);
  inject(reply(fwd, 200, "OK", true), UAS);
  const to = `To: bench <sip:bench@127.0.0.1:5060>;tag=uas-tag`;
  const ack = `ACK sip:127.0.0.1:5070;transport=UDP SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:5101;branch=z9hG4bK-1-${i}-5\r\nRoute: <sip:127.0.0.1:5060;lr>\r\n${from}\r\n${to}\r\nCall-ID: ${cid}\r\nCSeq: 1 ACK\r\nContact: sip:sipp@127.0.0.1:5101\r\nMax-Forwards: 70\r\nSubject: Performance Test\r\nContent-Length: 0\r\n\r\n`;
  inject(ack, UAC);
  const bye = ack.replace("CSeq: 1 ACK", "CSeq: 2 BYE").replace(/^ACK/, "BYE").replace("-5\r\n", "-7\r\n");
  inject(bye, UAC);
  inject(reply(last(), 200, "OK", false), UAS);
}

/** One OPTIONS to the proxy itself (answered 200 statelessly), as sipbench's options.xml sends it. */
function options(i: number): void {
  inject(`OPTIONS sip:127.0.0.1:5060 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:5101;branch=z9hG4bK-2-${i}-0\r\nFrom: <sip:sipp@127.0.0.1:5101>;tag=2SIPpTag01${i}\r\nTo: <sip:127.0.0.1:5060>\r\nCall-ID: ${i}-opt@127.0.0.1\r\nCSeq: 1 OPTIONS\r\nContact: <sip:sipp@127.0.0.1:5101>\r\nMax-Forwards: 70\r\nAccept: application/sdp\r\nContent-Length: 0\r\n\r\n`, UAC);
}

/** One REGISTER of a new AoR (Expires 60), as sipbench's register.xml sends it. */
function register(i: number): void {
  inject(`REGISTER sip:127.0.0.1:5060 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:5101;branch=z9hG4bK-3-${i}-0\r\nFrom: <sip:u${i}@127.0.0.1:5060>;tag=3SIPpTag02${i}\r\nTo: <sip:u${i}@127.0.0.1:5060>\r\nCall-ID: ${i}-reg@127.0.0.1\r\nCSeq: 1 REGISTER\r\nContact: <sip:u${i}@127.0.0.1:5101>\r\nExpires: 60\r\nMax-Forwards: 70\r\nUser-Agent: sipbench\r\nContent-Length: 0\r\n\r\n`, UAC);
}

const step = MODE === "options" ? options : MODE === "register" ? register : call;
const results: number[] = [];
let k = 0;
for (let round = 0; round < 11; round++) {
  const c0 = process.cpuUsage();
  for (let i = 0; i < N; i++) step(k++);
  const c = process.cpuUsage(c0);
  if (round > 0) results.push((c.user + c.system) / N);
  await new Promise((r) => setTimeout(r, 120)); // let wt_timer free the transactions
}
results.sort((a, b) => a - b);
console.log(`hot path (${MODE}): min ${results[0]!.toFixed(1)} µs, median ${results[5]!.toFixed(1)} µs CPU per ${MODE === "calls" ? "call" : MODE === "options" ? "OPTIONS" : "REGISTER"} (10 rounds × ${N}; ${(sends / (11 * N)).toFixed(1)} sends each)`);
console.log(`transactions left: ${core.serverTxns.size}; last sent: ${last().slice(0, last().indexOf("\r\n"))}`);
process.exit(0);
