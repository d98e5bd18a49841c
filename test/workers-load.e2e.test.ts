/**
 * `workers: 2` under load (issue 19, "Correctness under workers"): failure routes and dispatcher
 * failover over real sockets, one node started with `npm start` running
 * test/scripts/workers-failover.ts (Kamailio's sample failure routes: next destination on a 5xx or
 * a silent timeout, no ds_mark_dst, so every call takes the failure route and only probing changes
 * a destination's state). Calls come from one socket per call, so SO_REUSEPORT spreads them over
 * both workers (checked per worker with core.worker_stats).
 * 1. dispatcher ds_next_dst on a 5xx: set 1 (alg 8) = a UAS answering 503, then one answering 200;
 *    lcr next_gw on fr_timer: gw1 is a silent socket (fr_timer 1 s), gw2 the UAS. sipp, 0 failed;
 *    each call reached the failing destination first and the answering one after it, exactly once.
 * 2. dispatcher failover with a destination killed under load: set 2 (round robin over A and B),
 *    an own UAC loop (10 concurrent callers, a fresh socket per call) runs all along; B is SIGKILLed
 *    while calls run. Deterministic by construction: `killedAt` is taken after the kernel reaped B,
 *    so every INVITE sent at or after it finds B dead, and those calls (all of them) must be
 *    answered — by fr_timer failover to A, then without failover once worker 0's probing marked B
 *    down and both workers run that state (seen per worker in dispatcher.list). Calls whose INVITE
 *    left before the kill are in flight at the kill instant (B may have answered and then died
 *    before the BYE): they are counted and printed, not asserted. After both workers show B down,
 *    neither selects it again (per-worker dispatcher.stats SELECTED unchanged).
 * Ports: a block of 60 from test/kit/ports.ts (freePortBlock), P + offset.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePortBlock } from "./kit/ports.js";
import { sleep, waitUntil } from "./kit/wait.js";
import { ROOT, rpcResult, spawnCommand, waitForPort, type TestProcess } from "./helpers/processes.js";
import { runSipp } from "./helpers/sipp.js";
import { UdpPeer, headerOf, request, statusOf } from "./helpers/udp-peer.js";
import { flagsOf, listFile, startTracedUas, type TracedUas } from "./scripts/dispatcher-support.js";

const P = await freePortBlock(60);
const SIP = P;
const CONTROL = P + 1;
const [D503, DOK, A, B] = [P + 10, P + 11, P + 12, P + 13];
const FR_TIMER = 1000;
const PING = { probing_mode: 1, ping_interval: 1, ping_timeout: 1000, probing_threshold: 2, inactive_threshold: 2 };
const RPC = `http://127.0.0.1:${CONTROL}/RPC`;
const uri = (p: number): string => `sip:127.0.0.1:${p}`;

/** Per-worker answers of one RPC (core.worker_stats), by worker index. */
async function perWorker<T>(method: string, params: unknown[] = []): Promise<T[]> {
  const r = await rpcResult<Array<{ worker: number; result: T }>>(RPC, "core.worker_stats", [method, params]);
  return r.sort((a, b) => a.worker - b.worker).map((w) => w.result);
}
const invitesPerWorker = async (): Promise<number[]> =>
  (await perWorker<string[]>("stats.get_statistics", ["core:rcv_requests_invite"])).map((l) => Number(l[0]?.split(" = ")[1] ?? 0));
/** dispatcher.stats SELECTED of one destination, per worker. */
async function selectedPerWorker(u: string): Promise<number[]> {
  const r = await perWorker<{ RECORDS: Array<{ URI: string; SELECTED: number }> }>("dispatcher.stats");
  return r.map((s) => s.RECORDS.find((x) => x.URI === u)?.SELECTED ?? 0);
}
const flagsPerWorker = async (): Promise<Array<Map<string, string>>> => (await perWorker<unknown>("dispatcher.list")).map(flagsOf);

let node: TestProcess;
const uas = new Map<number, TracedUas>();
let silent: UdpPeer; // lcr gw1: takes INVITEs, never answers

beforeAll(async () => {
  const dir = mkdtempSync(join(tmpdir(), "olelo-wload-"));
  const list = join(dir, "dispatcher.list");
  writeFileSync(list, listFile([[1, uri(D503), 0, 10], [1, uri(DOK), 0, 0], [2, uri(A)], [2, uri(B)]]));
  silent = await UdpPeer.open(0);
  const gw = (id: number, port: number) => ({ id, lcr_id: 1, gw_name: `gw${id}`, ip_addr: "127.0.0.1", port, transport: 1, strip: 0, prefix: "", flags: 0 });
  const lcr = join(dir, "lcr.json");
  writeFileSync(lcr, JSON.stringify({
    lcr_gw: [gw(1, silent.port), gw(2, DOK)],
    lcr_rule: [{ id: 1, lcr_id: 1, prefix: "", from_uri: null, request_uri: null, mt_tvalue: null, stopper: 0, enabled: 1 }],
    lcr_rule_target: [{ id: 1, lcr_id: 1, rule_id: 1, gw_id: 1, priority: 1, weight: 1 }, { id: 2, lcr_id: 1, rule_id: 1, gw_id: 2, priority: 2, weight: 1 }],
  }));
  uas.set(D503, await startTracedUas(D503, "ds_uas_503.xml"));
  for (const p of [DOK, A, B]) uas.set(p, await startTracedUas(p, "ds_uas_answer.xml"));
  const cfg = join(dir, "olelo.json");
  writeFileSync(cfg, JSON.stringify({
    node: "w-load", workers: 2, listen: [`udp:127.0.0.1:${SIP}`], control: { listen: `127.0.0.1:${CONTROL}` }, dataDir: join(dir, "data"), log: { level: "warn" },
    script: { file: join(ROOT, "test/scripts/workers-failover.ts") },
    core: { tm: { frTimer: FR_TIMER, frInvTimer: 10_000 } },
    modules: { dispatcher: { list_file: list, ...PING }, lcr: {} },
    tables: { lcr },
  }));
  node = spawnCommand("olelo w-load", "npm", ["start", "--silent", "--", "--config", cfg]);
  await waitForPort(CONTROL, "127.0.0.1", 60_000, [node]);
  await waitUntil(async () => (await rpcResult(RPC, "core.workers")).workers.every((w: { state: string }) => w.state === "running"), { timeoutMs: 30_000, what: "2 workers running" });
  await waitUntil(async () => (await flagsPerWorker()).every((f) => [...f.values()].every((x) => x === "AP")), { timeoutMs: 15_000, what: "every destination AP on both workers" });
}, 90_000);

afterAll(async () => {
  silent?.close();
  await node?.stop();
  for (const u of uas.values()) await u.stop();
});

/** Runs a sipp UAC (one socket per call) and checks 0 failed and both workers took INVITEs. */
async function sippCalls(service: string, port: number, calls: number, rate: number): Promise<void> {
  const before = await invitesPerWorker();
  const r = await runSipp({ scenario: "uac_rr.xml", port, remote: `127.0.0.1:${SIP}`, calls, rate, service, transport: "un", timeoutS: 40, extra: ["-max_socket", "1000"] });
  expect(r.failed, r.errors + r.stderr).toBe(0);
  expect(r.successful).toBe(calls);
  const got = (await invitesPerWorker()).map((v, i) => v - before[i]!);
  expect(got.every((v) => v > 0), `INVITEs per worker: ${got.join(", ")}`).toBe(true);
  console.info(`[workers-load] ${service}: ${calls} calls, INVITEs per worker ${got.join(" / ")}`);
}

describe("workers: 2, failure routes under load", () => {
  it("ds_next_dst after a 503: 60 calls, 0 failed, each went to the 503 UAS first and then to the answering one", async () => {
    await sippCalls("ds", P + 40, 60, 30);
    await waitUntil(() => uas.get(D503)!.invites("ds").length >= 60 && uas.get(DOK)!.invites("ds").length >= 60, { timeoutMs: 5000, what: "the UAS traces" });
    const first = uas.get(D503)!.invites("ds");
    const second = uas.get(DOK)!.invites("ds");
    const firstIds = new Set(first.map((x) => x.callId));
    expect(firstIds.size).toBe(60);
    expect(second).toHaveLength(60);
    const at = new Map(first.map((x) => [x.callId, x.at]));
    for (const x of second) {
      expect(firstIds.has(x.callId), `${x.callId} reached DOK without the 503 first`).toBe(true);
      expect(x.at).toBeGreaterThanOrEqual(at.get(x.callId)!);
    }
    // nothing marked: the 503 UAS stays active on both workers (only probing could change it)
    expect((await flagsPerWorker()).map((f) => f.get(`1|${uri(D503)}`))).toEqual(["AP", "AP"]);
  }, 60_000);

  it("lcr next_gw after fr_timer on a silent gateway: 40 calls, 0 failed, each reached gw1 (from both workers) then gw2", async () => {
    silent.received.length = 0;
    await sippCalls("lcr", P + 41, 40, 20);
    const invs = silent.received.filter((m) => m.text.startsWith("INVITE "));
    const ids = new Set(invs.map((m) => headerOf(m.text, "Call-ID")[0]));
    expect(ids.size).toBe(40);
    // the top Via names the forwarding worker's egress port: both workers forwarded to gw1
    const egress = new Set(invs.map((m) => /:(\d+);/.exec(headerOf(m.text, "Via")[0]!)?.[1]));
    expect(egress.size, `egress ports ${[...egress].join(", ")}`).toBe(2);
    await waitUntil(() => uas.get(DOK)!.invites("lcr").length >= 40, { timeoutMs: 5000, what: "DOK's trace" });
    const answered = uas.get(DOK)!.invites("lcr");
    expect(answered).toHaveLength(40);
    for (const x of answered) expect(ids.has(x.callId), `${x.callId} reached gw2 without gw1 first`).toBe(true);
  }, 60_000);
});

interface CallRecord {
  callId: string;
  /** Epoch ms the INVITE left. */
  t0: number;
  end: number;
  invite: number; // final status of the INVITE (0: none)
  bye: number; // final status of the BYE (0: none / not sent)
}

let seq = 0;
/** One request over `peer`, retransmitted every 500 ms until a response; resolves with the final response. */
async function transact(peer: UdpPeer, msg: string, callId: string, method: string, timeoutMs = 8000): Promise<string> {
  const mine = (t: string) => t.startsWith("SIP/2.0 ") && t.includes(callId) && new RegExp(`^CSeq: *\\d+ ${method}`, "im").test(t);
  peer.send(msg, SIP);
  const resend = setInterval(() => peer.send(msg, SIP), 500);
  peer.onMessage = (t) => {
    if (mine(t)) clearInterval(resend);
  };
  try {
    return await peer.wait((t) => mine(t) && statusOf(t) >= 200, timeoutMs);
  } finally {
    clearInterval(resend);
  }
}

/** INVITE → 200 → ACK → BYE → 200 from a fresh socket (so calls spread over the workers). */
async function oneCall(user: string): Promise<CallRecord> {
  const peer = await UdpPeer.open(0);
  const rec: CallRecord = { callId: `${user}-${++seq}-${process.pid}@wload`, t0: Date.now(), end: 0, invite: 0, bye: 0 };
  try {
    const ok = await transact(peer, request("INVITE", `sip:${user}@127.0.0.1:${SIP}`, { port: peer.port, callId: rec.callId }), rec.callId, "INVITE");
    rec.invite = statusOf(ok);
    if (rec.invite !== 200) return rec;
    const routes = headerOf(ok, "Record-Route").flatMap((h) => h.split(/,(?=\s*<)/)).map((r) => `Route: ${r.trim()}`).reverse();
    const contact = /^Contact: *<([^>]+)>/im.exec(ok)![1]!;
    const to = headerOf(ok, "To")[0]!;
    const inDialog = (method: string, cseq: number) => request(method, contact, { port: peer.port, callId: rec.callId, cseq, extra: routes }).replace(/^To: .*$/m, `To: ${to}`);
    peer.send(inDialog("ACK", 1), SIP);
    rec.bye = statusOf(await transact(peer, inDialog("BYE", 2), rec.callId, "BYE"));
  } catch {
    /* no final response: recorded as 0 */
  } finally {
    rec.end = Date.now();
    peer.close();
  }
  return rec;
}

/** `n` callers, each placing calls one after another (`gapMs` between calls) until stopped. */
function callers(n: number, gapMs: number, user: string): { calls: CallRecord[]; stop: () => Promise<void> } {
  const calls: CallRecord[] = [];
  let stopped = false;
  const loops = Array.from({ length: n }, async () => {
    while (!stopped) {
      calls.push(await oneCall(user));
      await sleep(gapMs);
    }
  });
  return {
    calls,
    stop: async () => {
      stopped = true;
      await Promise.all(loops);
    },
  };
}

describe("workers: 2, a dispatcher destination killed under load", () => {
  it("every call begun after the kill is answered: fr_timer failover, then probing marks it down on both workers and neither sends there", async () => {
    const bKey = `2|${uri(B)}`;
    const inv0 = await invitesPerWorker();
    const run = callers(10, 20, "rr");
    try {
      await waitUntil(() => run.calls.length >= 30, { timeoutMs: 20_000, what: "30 calls before the kill" });
      await waitUntil(() => uas.get(B)!.invites("rr").length > 0, { timeoutMs: 5000, what: "B took calls before the kill" });
      await uas.get(B)!.stop(); // SIGKILL, resolves once the process is reaped
      const killedAt = Date.now();
      await waitUntil(async () => (await flagsPerWorker()).every((f) => f.get(bKey)?.startsWith("I")), { timeoutMs: 15_000, intervalMs: 50, what: "B inactive on both workers" });
      const downAt = Date.now();
      const selectedAtDown = await selectedPerWorker(uri(B));
      await waitUntil(() => run.calls.filter((c) => c.t0 > downAt).length >= 60, { timeoutMs: 20_000, what: "60 calls after B went down" });
      await run.stop();

      const after = run.calls.filter((c) => c.t0 >= killedAt);
      const bad = after.filter((c) => c.invite !== 200 || c.bye !== 200);
      expect(bad.map((c) => `${c.callId}: INVITE ${c.invite} BYE ${c.bye}`)).toEqual([]);
      // the calls sent to B between the kill and the probe waited fr_timer and failed over
      const failedOver = after.filter((c) => c.t0 < downAt && c.end - c.t0 >= FR_TIMER);
      expect(failedOver.length).toBeGreaterThan(0);
      // once both workers run "B down", neither selects it again
      expect(await selectedPerWorker(uri(B))).toEqual(selectedAtDown);
      const flags = await flagsPerWorker();
      expect(flags.map((f) => f.get(bKey)![0])).toEqual(["I", "I"]);
      // A got every call begun after the kill, once
      const aIds = () => new Set(uas.get(A)!.invites("rr").map((x) => x.callId));
      await waitUntil(() => after.every((c) => aIds().has(c.callId)), { timeoutMs: 5000, what: "A's trace has every call begun after the kill" });
      const inv = (await invitesPerWorker()).map((v, i) => v - inv0[i]!);
      expect(inv.every((v) => v > 0), `INVITEs per worker: ${inv.join(", ")}`).toBe(true);
      const inFlight = run.calls.filter((c) => c.t0 < killedAt && c.end > killedAt);
      console.info(
        `[workers-load] kill: ${run.calls.length} calls (${inv.join(" / ")} INVITEs per worker), ${after.length} begun after the kill, all answered; ` +
          `${failedOver.length} failed over on fr_timer; B down on both workers ${downAt - killedAt} ms after the kill; ` +
          `${inFlight.length} in flight at the kill (${inFlight.filter((c) => c.invite !== 200 || c.bye !== 200).length} of them not completed, not asserted)`,
      );
    } finally {
      await run.stop();
    }
  }, 90_000);
});
