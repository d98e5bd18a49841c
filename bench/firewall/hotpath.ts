/**
 * In-process cost of the firewall per call (companion of run.sh, whose sipp figures swing with the
 * load of the shared machine): full INVITE/180/200/ACK/BYE/200 flows injected into a SipCore running
 * the default routing script, socket sends stubbed out, CPU time measured with process.cpuUsage.
 *   npx tsx bench/firewall/hotpath.ts <plain|firewall|trusted|auth> [calls-per-round]
 * plain: no modules. firewall: olelo-firewall.json's modules and tables, untrusted source, caller
 * not local (no challenge). trusted: same from 127.0.0.3 (address group 1). auth: the caller is the
 * local user "bench": INVITE → 407 → ACK → INVITE with Proxy-Authorization (MD5, qop=auth) → call;
 * the client's own digest computation is timed separately and subtracted.
 * Prints one JSON line: {mode, usPerCall (median of 10 rounds), minUs, sendsPerCall, clientUs}.
 */
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { SipCore } from "../../data-plane/core/tm/engine.js";
import { DEFAULT_CORE_CONFIG } from "../../data-plane/core/config.js";
import { StatsRegistry } from "../../data-plane/core/stats/counters.js";
import { EventBus } from "../../data-plane/core/events/bus.js";
import { TableRegistry } from "../../data-plane/core/tables/registry.js";
import { RpcRegistry } from "../../lib/rpc/registry.js";
import { ListenSocket } from "../../data-plane/core/transport/listen-socket.js";
import { ScriptRuntime, loadScriptFile } from "../../data-plane/core/script/runtime.js";
import { loadModules } from "../../data-plane/core/module-loader.js";
import { readTableFile } from "../../data-plane/core/tables/file-loader.js";
import { createLogger, setLogLevel } from "../../lib/log/logger.js";
import type { SipUac } from "../../data-plane/core/module.js";
import type { Endpoint } from "../../lib/sip/types.js";

setLogLevel("error");
const mode = process.argv[2] ?? "plain";
if (!["plain", "firewall", "trusted", "auth"].includes(mode)) throw new Error(`mode must be plain, firewall, trusted or auth, got ${mode}`);
const N = Number(process.argv[3] ?? 10000);
const here = (f: string) => new URL(f, import.meta.url).pathname;

const cfg = structuredClone(DEFAULT_CORE_CONFIG);
cfg.tm.wtTimer = 50; // free transactions quickly so memory stays flat
const stats = new StatsRegistry();
const events = new EventBus();
const core = new SipCore(cfg, stats, events);
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

const tables = new TableRegistry();
let apis: Record<string, unknown> = {};
if (mode !== "plain") {
  const fw = JSON.parse(readFileSync(here("olelo-firewall.json"), "utf8")) as { modules: Record<string, Record<string, unknown>> };
  const sip: SipUac = {
    request: () => Promise.reject(new Error("no UAC in the benchmark")),
    sendRaw: () => {},
    addReceiveFilter(f) {
      core.hooks.preParse = f;
      return () => (core.hooks.preParse = null);
    },
  };
  const mods = await loadModules(fw.modules, { stats, rpc: new RpcRegistry(), events, tables, sip, dataDir: "/tmp/olelo-fw-hotpath", baseDir: here(".") });
  apis = Object.fromEntries(mods.map((m) => [m.name, m.api]));
  for (const [kind, file] of [["address", "address.json"], ["subscriber", "subscriber.json"]] as const) {
    const { set, version } = readTableFile(here(file));
    const r = tables.load(kind, set, version, "file");
    if (!r.ok) throw r.error;
  }
}
const env = { modules: apis, log: createLogger("bench"), settings: { nextHop: "sip:127.0.0.1:5070" } };
core.runner = new ScriptRuntime(await loadScriptFile(here("../../data-plane/scripts/default.ts"), env, 0), env);

const inject = (text: string, from: Endpoint) =>
  (core as unknown as { onInbound(d: Buffer, s: Endpoint, k: ListenSocket, c: null): void }).onInbound(Buffer.from(text, "latin1"), from, sock, null);
const UAC: Endpoint = { proto: "udp", address: mode === "trusted" ? "127.0.0.3" : "127.0.0.2", port: 5101 };
const UAS: Endpoint = { proto: "udp", address: "127.0.0.1", port: 5070 };
const sdp = "v=0\r\no=user1 53655765 2353687637 IN IP4 127.0.0.2\r\ns=-\r\nc=IN IP4 127.0.0.2\r\nt=0 0\r\nm=audio 6000 RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n";
const md5 = (s: string) => createHash("md5").update(s).digest("hex");

function reply(fwd: string, code: number, reason: string, withSdp: boolean): string {
  const head: string[] = [];
  for (const l of fwd.split("\r\n")) {
    if (l === "") break;
    if (/^(Via|From|Call-ID|CSeq|Record-Route):/i.test(l)) head.push(l);
    else if (l.startsWith("To:")) head.push(l + ";tag=uas-tag");
  }
  const body = withSdp ? sdp : "";
  return `SIP/2.0 ${code} ${reason}\r\n${head.join("\r\n")}\r\nContact: <sip:127.0.0.1:5070;transport=UDP>\r\n${withSdp ? "Content-Type: application/sdp\r\n" : ""}Content-Length: ${body.length}\r\n\r\n${body}`;
}

/** The client's answer to a 407 (what sipp computes), timed apart from the proxy's work. */
let clientNs = 0n;
function answer(r407: string, uri: string): string {
  const t0 = process.hrtime.bigint();
  const nonce = /nonce="([^"]+)"/.exec(r407)![1]!;
  const ha1 = md5("bench:127.0.0.1:benchpw");
  const ha2 = md5(`INVITE:${uri}`);
  const response = md5(`${ha1}:${nonce}:00000001:6b8b4567:auth:${ha2}`);
  const v = `Digest username="bench",realm="127.0.0.1",cnonce="6b8b4567",nc=00000001,qop=auth,uri="${uri}",nonce="${nonce}",response="${response}",algorithm=MD5`;
  clientNs += process.hrtime.bigint() - t0;
  return v;
}

function call(i: number): void {
  const cid = `${i}-bench@127.0.0.2`;
  const ruri = "sip:bench@127.0.0.1:5060";
  const from = mode === "auth" ? `From: bench <sip:bench@127.0.0.1:5060>;tag=${i}SIPpTag09` : `From: sipp <sip:sipp@${UAC.address}:5101>;tag=${i}SIPpTag00`;
  const invite = (cseq: number, branch: string, extra: string) =>
    `INVITE ${ruri} SIP/2.0\r\nVia: SIP/2.0/UDP ${UAC.address}:5101;branch=z9hG4bK-1-${i}-${branch}\r\n${from}\r\nTo: bench <${ruri}>\r\nCall-ID: ${cid}\r\nCSeq: ${cseq} INVITE\r\nContact: sip:sipp@${UAC.address}:5101\r\n${extra}Max-Forwards: 70\r\nSubject: Performance Test\r\nContent-Type: application/sdp\r\nContent-Length: ${sdp.length}\r\n\r\n${sdp}`;
  let cseq = 1;
  if (mode === "auth") {
    inject(invite(1, "0", ""), UAC);
    const r407 = last();
    if (!r407.startsWith("SIP/2.0 407")) throw new Error(`expected 407, got ${r407.slice(0, 40)}`);
    const tag = /^To:.*;tag=([^;\r]+)/m.exec(r407)![1]!;
    inject(`ACK ${ruri} SIP/2.0\r\nVia: SIP/2.0/UDP ${UAC.address}:5101;branch=z9hG4bK-1-${i}-0\r\n${from}\r\nTo: bench <${ruri}>;tag=${tag}\r\nCall-ID: ${cid}\r\nCSeq: 1 ACK\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n`, UAC);
    cseq = 2;
    inject(invite(2, "4", `Proxy-Authorization: ${answer(r407, "sip:127.0.0.1:5060")}\r\n`), UAC);
  } else {
    inject(invite(1, "0", ""), UAC);
  }
  const fwd = last();
  if (!fwd.startsWith("INVITE ")) throw new Error(`INVITE not relayed: ${fwd.slice(0, 60)}`);
  inject(reply(fwd, 180, "Ringing", false), UAS);
  inject(reply(fwd, 200, "OK", true), UAS);
  const to = `To: bench <${ruri}>;tag=uas-tag`;
  const ack = `ACK sip:127.0.0.1:5070;transport=UDP SIP/2.0\r\nVia: SIP/2.0/UDP ${UAC.address}:5101;branch=z9hG4bK-1-${i}-8\r\nRoute: <sip:127.0.0.1:5060;lr>\r\n${from}\r\n${to}\r\nCall-ID: ${cid}\r\nCSeq: ${cseq} ACK\r\nContact: sip:sipp@${UAC.address}:5101\r\nMax-Forwards: 70\r\nSubject: Performance Test\r\nContent-Length: 0\r\n\r\n`;
  inject(ack, UAC);
  const bye = ack.replace(`CSeq: ${cseq} ACK`, `CSeq: ${cseq + 1} BYE`).replace(/^ACK/, "BYE").replace("-8\r\n", "-9\r\n");
  inject(bye, UAC);
  const fbye = last();
  if (!fbye.startsWith("BYE ")) throw new Error(`BYE not relayed: ${fbye.slice(0, 60)}`);
  inject(reply(fbye, 200, "OK", false), UAS);
}

const results: number[] = [];
let k = 0;
for (let round = 0; round < 11; round++) {
  const c0 = process.cpuUsage();
  const n0 = clientNs;
  for (let i = 0; i < N; i++) call(k++);
  const c = process.cpuUsage(c0);
  const client = Number(clientNs - n0) / 1000;
  if (round > 0) results.push((c.user + c.system - client) / N);
  await new Promise((r) => setTimeout(r, 120)); // let wt_timer free the transactions
}
results.sort((a, b) => a - b);
console.log(
  JSON.stringify({
    mode,
    usPerCall: Number(results[5]!.toFixed(1)),
    minUs: Number(results[0]!.toFixed(1)),
    sendsPerCall: Number((sends / (11 * N)).toFixed(1)),
    clientUs: Number((Number(clientNs) / 1000 / (11 * N)).toFixed(2)),
  }),
);
process.exit(0);
