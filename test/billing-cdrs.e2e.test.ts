/**
 * Issue 14, billing CDRs end to end with real processes (a control plane on MariaDB
 * olelo_test_e2e_bill, a data plane with dialog + acc spooling CDRs to it) and sipp calls:
 * N calls give exactly N CDRs through `cdrs.list` with cursor paging; with the control plane down
 * the CDRs stay in the data plane's spool (also across a SIGKILL of the data plane) and arrive once
 * it is back, without duplicates; accounting tables cannot be written through the API; a
 * `cdr_extra` column the table lacks stops the data plane at start with one line naming it.
 *
 * Ports: a block of 60 from test/kit/ports.ts (freePortBlock).
 */
import type mysql from "mysql2/promise";
import { mkdtempSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  dropE2eDatabase,
  freshE2eDatabase,
  jsonRpc,
  rpcResult,
  spawnTsx,
  startControlPlaneProcess,
  startDataPlaneProcess,
  stopAllProcesses,
  waitUntil,
  type ControlPlaneProcess,
  type DataPlaneOptions,
  type DataPlaneProcess,
} from "./helpers/processes.js";
import { runSipp, startSippServer, type SippServer } from "./helpers/sipp.js";
import { freePortBlock } from "./kit/ports.js";
import { startTracedUas, type TracedUas } from "./scripts/dispatcher-support.js";
import { signCdr } from "../control-plane/api/cdr-webhook.js";

const BASE = await freePortBlock(60);
const DB = "olelo_test_e2e_bill";
const HOOK_PORT = BASE + 56;
const HOOK_SECRET = "webhook-secret-1";
const CP = {
  db: DB,
  apiPort: BASE + 1,
  grpcPort: BASE + 2,
  extraArgs: ["--cdr-webhook", `http://127.0.0.1:${HOOK_PORT}/cdr`, "--cdr-webhook-secret", HOOK_SECRET, "--cdr-webhook-attempts", "3", "--cdr-webhook-retry-ms", "100"],
};
/** The webhook receiver's view: accepted CDRs by Idempotency-Key, attempts per key, bad signatures. */
const hook = { accepted: new Map<string, Record<string, unknown>>(), attempts: new Map<string, number>(), badSignatures: 0, repeats: 0 };
let hookServer: Server;
const UAS = BASE + 20;
let uacPort = BASE + 30;

let admin: mysql.Connection;
let cp: ControlPlaneProcess | null = null;
let dp: DataPlaneProcess | null = null;
let uas: SippServer;
const dir = mkdtempSync(join(tmpdir(), "olelo-e2e-bill-"));

const dpOpts = (): DataPlaneOptions => ({
  node: "bill-a",
  sipPort: BASE + 10,
  controlPort: BASE + 11,
  controlPlane: `127.0.0.1:${CP.grpcPort}`,
  dir,
  settings: { nextHop: `sip:127.0.0.1:${UAS}`, limits: { maxCalls: 100 } },
  modules: {
    dialog: { db_mode: 1, db_url: `mysql://root@127.0.0.1:3306/${DB}`, default_timeout: 20, send_bye: 1, profiles_with_value: "account" },
    acc: { cdr_enable: 1, cdr_log_enable: 0, cdr_push_url: `http://127.0.0.1:${CP.apiPort}/RPC`, cdr_push_retry: 100, cdr_push_retry_max: 500 },
  },
});

interface Cdr {
  seq: number;
  cdr_id: string;
  call_id: string;
  [k: string]: unknown;
}

/** Every CDR through cursor paging (`after` = previous next_cursor). */
async function allCdrs(limit = 7): Promise<Cdr[]> {
  const out: Cdr[] = [];
  let after = 0;
  for (;;) {
    const page = await rpcResult<{ rows: Cdr[]; next_cursor: number; more: boolean }>(cp!.rpcUrl, "cdrs.list", { after, limit });
    out.push(...page.rows);
    if (!page.more) return out;
    after = page.next_cursor;
  }
}

async function calls(n: number, service: string): Promise<void> {
  const r = await runSipp({ scenario: "uac_rr.xml", port: uacPort++, remote: `127.0.0.1:${dp!.sipPort}`, calls: n, rate: 20, service, timeoutS: 30 });
  expect([r.successful, r.failed], r.errors || r.stderr).toEqual([n, 0]);
}

async function accStats(): Promise<Record<string, number>> {
  return rpcResult(dp!.rpcUrl, "stats.fetchn", ["acc:"]);
}

beforeAll(async () => {
  // a billing system's webhook: checks the HMAC, refuses the first attempt of every 3rd CDR
  // (so retries happen) and every attempt for callee "fred" (so those are dead-lettered)
  hookServer = createServer((req, res) => {
    let body = "";
    req.on("data", (d) => (body += d));
    req.on("end", () => {
      const key = String(req.headers["idempotency-key"]);
      const ts = Number(req.headers["x-olelo-timestamp"]);
      if (req.headers["x-olelo-signature"] !== signCdr(HOOK_SECRET, ts, body)) {
        hook.badSignatures++;
        return res.writeHead(401).end();
      }
      const n = (hook.attempts.get(key) ?? 0) + 1;
      hook.attempts.set(key, n);
      const cdr = JSON.parse(body) as Record<string, unknown>;
      if (cdr.callee === "fred" || (n === 1 && hook.attempts.size % 3 === 0)) return res.writeHead(503).end();
      if (hook.accepted.has(key)) hook.repeats++;
      hook.accepted.set(key, cdr);
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((r) => hookServer.listen(HOOK_PORT, "127.0.0.1", r));
  admin = await freshE2eDatabase(DB);
  uas = await startSippServer({ scenario: "uas_rr.xml", port: UAS });
  cp = await startControlPlaneProcess(CP);
  dp = await startDataPlaneProcess(dpOpts());
}, 120_000);

afterAll(async () => {
  await new Promise((r) => hookServer?.close(r));
  await uas?.stop();
  await stopAllProcesses();
  await dropE2eDatabase(admin, DB);
  await admin?.end();
});

describe("billing CDRs through the control plane", () => {
  it("30 calls give exactly 30 CDRs via cdrs.list with cursor paging, every field filled", async () => {
    await calls(30, "bob");
    await waitUntil("30 CDRs", async () => (await allCdrs(100)).length === 30, 20_000, [cp!, dp!]);
    const cdrs = await allCdrs(7);
    expect(cdrs).toHaveLength(30);
    expect(new Set(cdrs.map((c) => c.call_id)).size).toBe(30);
    expect(new Set(cdrs.map((c) => c.cdr_id)).size).toBe(30);
    for (let i = 1; i < cdrs.length; i++) expect(cdrs[i]!.seq).toBeGreaterThan(cdrs[i - 1]!.seq);
    const c = cdrs[0]!;
    expect(c).toMatchObject({
      node: "bill-a",
      callee: "bob",
      caller: "sipp",
      from_user: "sipp",
      account: "sipp",
      src_ip: "127.0.0.1",
      gateway: `sip:127.0.0.1:${UAS}`,
      sip_code: 200,
      sip_reason: "OK",
      disposition: "ANSWERED",
      end_reason: "bye",
      ended_by: "caller",
    });
    expect(c.cdr_id).toMatch(/^[0-9a-f]{40}$/);
    expect(Number(c.answer_ms)).toBeGreaterThanOrEqual(Number(c.start_ms));
    expect(Number(c.end_ms)).toBeGreaterThanOrEqual(Number(c.answer_ms));
    expect(c.duration_ms).toBe(Number(c.end_ms) - Number(c.answer_ms));
    expect(c.billsec).toBe(Math.ceil(Number(c.duration_ms) / 1000));
    // filters, get, CSV
    expect((await rpcResult(cp!.rpcUrl, "cdrs.list", { call_id: c.call_id })).rows).toEqual([c]);
    expect((await rpcResult(cp!.rpcUrl, "cdrs.list", { account: "nobody" })).rows).toEqual([]);
    expect((await rpcResult(cp!.rpcUrl, "cdrs.list", { node: "bill-a", from_ms: Number(c.start_ms), limit: 1000 })).rows.length).toBe(30);
    expect((await rpcResult(cp!.rpcUrl, "cdrs.list", { to_ms: Number(c.start_ms) })).rows).toEqual([]);
    expect(await rpcResult(cp!.rpcUrl, "cdrs.get", { cdr_id: c.cdr_id })).toEqual(c);
    expect((await jsonRpc(cp!.rpcUrl, "cdrs.get", { cdr_id: "nope" })).error).toMatchObject({ code: 404 });
    const csv = await rpcResult<{ csv: string; rows: number }>(cp!.rpcUrl, "cdrs.export", { limit: 1000 });
    const lines = csv.csv.trimEnd().split("\r\n");
    expect(lines).toHaveLength(31);
    expect(lines[0]!.split(",").slice(0, 3)).toEqual(["seq", "cdr_id", "call_id"]);
    // a CDR delivered again (retry after a lost ACK) is stored once
    const { seq: _s, received_ms: _r, ...again } = c;
    expect(await rpcResult(cp!.rpcUrl, "cdrs.ingest", { cdrs: [again] })).toEqual({ accepted: 0, duplicates: 1 });
    expect(await allCdrs(100)).toHaveLength(30);
    expect((await accStats())["acc.cdr_spooled"]).toBe(0);
  }, 60_000);

  it("accounting tables are read-only through the API", async () => {
    const a = await jsonRpc(cp!.rpcUrl, "acc_cdrs.create", { start_time: "2024-01-01 00:00:00" });
    expect(a.error).toMatchObject({ code: 403, message: expect.stringContaining("acc_cdrs is read-only") });
    expect((await jsonRpc(cp!.rpcUrl, "dialog.delete", { id: 1 })).error).toMatchObject({ code: 403 });
    expect((await jsonRpc(cp!.rpcUrl, "cdrs.delete", { cdr_id: "x" })).error).toMatchObject({ code: -32601 });
    expect((await rpcResult(cp!.rpcUrl, "acc_cdrs.list", {})).rows).toEqual([]);
  });

  it("control plane down while calls end, data plane SIGKILLed meanwhile: the CDRs arrive once it is back, no duplicates", async () => {
    expect(await cp!.stop("SIGKILL")).toBeDefined();
    await calls(10, "carol");
    await waitUntil("10 CDRs spooled", async () => (await accStats())["acc.cdr_spooled"] === 10, 10_000, [dp!]);
    const before = await rpcResult(dp!.rpcUrl, "events.since", { since: 0, kinds: ["call.ended"] });
    expect(before.events.length).toBeGreaterThanOrEqual(10);
    // the data plane dies with the CDRs only in its spool file
    await dp!.stop("SIGKILL");
    dp = await startDataPlaneProcess(dpOpts());
    expect((await accStats())["acc.cdr_spooled"]).toBe(10);
    // an event subscriber holding the old boot's epoch is told its events after `since` are gone
    const after = await rpcResult(dp!.rpcUrl, "events.since", { since: before.lastSeq - 3, epoch: before.epoch, kinds: ["call.ended"] });
    expect(after).toMatchObject({ lost: "restart", previousEpoch: before.epoch, missedFrom: before.lastSeq - 2, lostCount: null, events: [] });
    expect(after.epoch).toBeGreaterThan(before.epoch);
    await calls(10, "dave");
    await waitUntil("20 CDRs spooled", async () => (await accStats())["acc.cdr_spooled"] === 20, 10_000, [dp!]);
    cp = await startControlPlaneProcess(CP);
    await waitUntil("50 CDRs", async () => (await allCdrs(100)).length === 50, 20_000, [cp!, dp!]);
    await waitUntil("spool empty", async () => (await accStats())["acc.cdr_spooled"] === 0, 10_000, [dp!]);
    const cdrs = await allCdrs(9);
    expect(cdrs).toHaveLength(50);
    expect(new Set(cdrs.map((c) => c.cdr_id)).size).toBe(50);
    expect(new Set(cdrs.map((c) => c.call_id)).size).toBe(50);
    expect(cdrs.filter((c) => c.callee === "carol")).toHaveLength(10);
    expect(cdrs.filter((c) => c.callee === "dave")).toHaveLength(10);
    // the rows are in MariaDB, not only in the API's answer
    const [n] = await admin.query<mysql.RowDataPacket[]>("SELECT COUNT(*) n, COUNT(DISTINCT cdr_id) d FROM olelo_cdrs");
    expect([Number(n[0]!.n), Number(n[0]!.d)]).toEqual([50, 50]);
  }, 120_000);

  it("data plane SIGKILLed with calls up: restored from the dialog table, they end by BYE or timeout and get exactly one CDR each", async () => {
    const dialogs = async () => Number((await admin.query<mysql.RowDataPacket[]>("SELECT COUNT(*) n FROM dialog"))[0][0]!.n);
    const startCount = (await allCdrs(1000)).length;
    // 4 calls hang up (BYE from the caller) 15 s after the answer (so none ends while the data plane
    // restarts, even on a loaded machine); 3 wait for the proxy's BYE (timeout 20 s)
    const held = runSipp({ scenario: "dlg_uac_hold.xml", port: uacPort++, remote: `127.0.0.1:${dp!.sipPort}`, calls: 4, rate: 20, service: "erin", templ: { hold_ms: "15000" }, timeoutS: 60 });
    const waiting = runSipp({ scenario: "dlg_uac_wait_bye.xml", port: uacPort++, remote: `127.0.0.1:${dp!.sipPort}`, calls: 3, rate: 20, service: "fred", timeoutS: 60 });
    await waitUntil("7 dialogs in the dialog table", async () => (await dialogs()) === 7, 10_000, [dp!]);
    const [rows] = await admin.query<mysql.RowDataPacket[]>("SELECT state, xdata FROM dialog");
    expect(rows.every((r) => JSON.parse(String(r.xdata)).n === "bill-a")).toBe(true);
    await dp!.stop("SIGKILL");
    dp = await startDataPlaneProcess(dpOpts());
    expect(await rpcResult(dp.rpcUrl, "dlg.stats_active")).toMatchObject({ all: 7 });
    // the restored calls still count against the account's call limit
    expect(await rpcResult(dp.rpcUrl, "dlg.profile_get_size", ["account", "sipp"])).toBe(7);
    const [h, w] = await Promise.all([held, waiting]);
    expect([h.successful, h.failed], h.errors || h.stderr).toEqual([4, 0]);
    expect([w.successful, w.failed], w.errors || w.stderr).toEqual([3, 0]);
    await waitUntil("7 more CDRs", async () => (await allCdrs(1000)).length === startCount + 7, 20_000, [cp!, dp!]);
    await waitUntil("dialog table empty", async () => (await dialogs()) === 0, 10_000, [dp!]);
    const cdrs = await allCdrs(1000);
    const erin = cdrs.filter((c) => c.callee === "erin");
    const fred = cdrs.filter((c) => c.callee === "fred");
    expect(erin).toHaveLength(4);
    expect(fred).toHaveLength(3);
    for (const c of erin) expect(c).toMatchObject({ disposition: "ANSWERED", end_reason: "bye", ended_by: "caller", gateway: `sip:127.0.0.1:${UAS}` });
    for (const c of fred) {
      expect(c).toMatchObject({ disposition: "ANSWERED", end_reason: "proxy_bye", ended_by: "timeout" });
      expect(Number(c.duration_ms)).toBeGreaterThanOrEqual(19900);
      expect(Number(c.duration_ms)).toBeLessThan(23000);
    }
    expect(new Set(cdrs.map((c) => c.cdr_id)).size).toBe(cdrs.length);
  }, 120_000);

  it("a cdr_extra column the table lacks stops the data plane at start, naming it (exit 1, one line)", async () => {
    const d = mkdtempSync(join(tmpdir(), "olelo-e2e-bill-bad-"));
    const cfg = join(d, "olelo.json");
    writeFileSync(
      cfg,
      JSON.stringify({
        node: "bad",
        listen: [`udp:127.0.0.1:${BASE + 40}`],
        modules: { dialog: {}, acc: { db_url: `mysql://root@127.0.0.1:3306/${DB}`, cdr_enable: 1, cdr_extra: "no_such_col=$fU" } },
        dataDir: join(d, "data"),
      }),
    );
    const p = spawnTsx("data-plane bad", "data-plane/main.ts", ["--config", cfg]);
    const code = await new Promise<number | null>((r) => p.proc.on("exit", (c) => r(c)));
    expect(code).toBe(1);
    const lines = p.log().trim().split("\n").filter((l) => l.startsWith("olelo:"));
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/acc_cdrs has no column 'no_such_col'/);
  }, 60_000);
});

describe("call control: per-account call limit, maximum duration, dlg.end_dlg", () => {
  let lim: DataPlaneProcess;
  let traced: TracedUas;
  beforeAll(async () => {
    traced = await startTracedUas(BASE + 50);
    lim = await startDataPlaneProcess({
      node: "bill-b",
      sipPort: BASE + 12,
      controlPort: BASE + 13,
      controlPlane: `127.0.0.1:${CP.grpcPort}`,
      settings: { nextHop: `sip:127.0.0.1:${BASE + 50}`, limits: { maxCalls: 3, maxDurationS: 5, accounts: { vip: { maxDurationS: 60 } }, htable: "acct_limits" } },
      modules: {
        htable: { htable: ["acct_limits=>size=8"] },
        dialog: { profiles_with_value: "account" },
        acc: { cdr_enable: 1, cdr_log_enable: 0, cdr_push_url: `http://127.0.0.1:${CP.apiPort}/RPC`, cdr_push_retry: 100, cdr_push_retry_max: 500 },
      },
    });
  }, 60_000);
  afterAll(async () => {
    await traced?.stop();
  });

  const nodeCdrs = async () => (await allCdrs(1000)).filter((c) => c.node === "bill-b");

  it("3 concurrent calls of an account pass, the 4th is answered 403; 5 s maximum duration ends them with BYE both ways", async () => {
    const t0 = Date.now();
    const three = runSipp({ scenario: "dlg_uac_wait_bye.xml", port: uacPort++, remote: `127.0.0.1:${lim.sipPort}`, calls: 3, rate: 20, service: "gina", timeoutS: 20 });
    await waitUntil("3 calls up", async () => (await rpcResult(lim.rpcUrl, "dlg.stats_active")).all === 3, 10_000, [lim]);
    const fourth = await runSipp({ scenario: "uac_expect.xml", port: uacPort++, remote: `127.0.0.1:${lim.sipPort}`, calls: 1, service: "gina", templ: { code: "403" } });
    expect([fourth.successful, fourth.failed], fourth.errors || fourth.stderr).toEqual([1, 0]);
    expect(traced.invites("gina")).toHaveLength(3);
    const r = await three;
    expect([r.successful, r.failed], r.errors || r.stderr).toEqual([3, 0]); // each got the proxy's BYE
    const took = Date.now() - t0;
    expect(took).toBeGreaterThanOrEqual(5000);
    const byes = traced.requests("BYE");
    const callIds = new Set(traced.invites("gina").map((i) => i.callId));
    expect(byes.filter((b) => callIds.has(b.callId))).toHaveLength(3); // the callee side got BYE too
    await waitUntil("3 CDRs from bill-b", async () => (await nodeCdrs()).length === 3, 10_000, [cp!, lim]);
    for (const c of await nodeCdrs()) {
      expect(c).toMatchObject({ account: "sipp", callee: "gina", ended_by: "timeout", end_reason: "proxy_bye", disposition: "ANSWERED" });
      expect(Number(c.duration_ms)).toBeGreaterThanOrEqual(4900);
      expect(Number(c.duration_ms)).toBeLessThan(6500);
    }
    // after they ended the account may call again
    expect(await rpcResult(lim.rpcUrl, "dlg.stats_active")).toMatchObject({ all: 0 });
  }, 60_000);

  it("per-account limits from an htable (pushed like any table) override the settings at once", async () => {
    await rpcResult(lim.rpcUrl, "htable.seti", ["acct_limits", "sipp:maxCalls", 1]);
    await rpcResult(lim.rpcUrl, "htable.seti", ["acct_limits", "sipp:maxDurationS", 2]);
    const t0 = Date.now();
    const one = runSipp({ scenario: "dlg_uac_wait_bye.xml", port: uacPort++, remote: `127.0.0.1:${lim.sipPort}`, calls: 1, service: "ivan", timeoutS: 20 });
    await waitUntil("1 call up", async () => (await rpcResult(lim.rpcUrl, "dlg.stats_active")).all === 1, 10_000, [lim]);
    const second = await runSipp({ scenario: "uac_expect.xml", port: uacPort++, remote: `127.0.0.1:${lim.sipPort}`, calls: 1, service: "ivan", templ: { code: "403" } });
    expect([second.successful, second.failed], second.errors || second.stderr).toEqual([1, 0]);
    const r = await one;
    expect([r.successful, r.failed], r.errors || r.stderr).toEqual([1, 0]);
    expect(Date.now() - t0).toBeLessThan(4500); // ended at 2 s (htable), not 5 s (settings)
    await rpcResult(lim.rpcUrl, "htable.delete", ["acct_limits", "sipp:maxCalls"]);
    await rpcResult(lim.rpcUrl, "htable.delete", ["acct_limits", "sipp:maxDurationS"]);
  }, 30_000);

  it("dlg.end_dlg hangs up a call with BYE both ways and the CDR says who ended it", async () => {
    const call = runSipp({ scenario: "dlg_uac_wait_bye.xml", port: uacPort++, remote: `127.0.0.1:${lim.sipPort}`, calls: 1, service: "hank", timeoutS: 20 });
    let d: { h_entry: number; h_id: number } | undefined;
    await waitUntil("the call up", async () => {
      const l = await rpcResult<Array<{ h_entry: number; h_id: number; state: number }>>(lim.rpcUrl, "dlg.list");
      d = l.find((x) => x.state === 4);
      return d !== undefined;
    }, 10_000, [lim]);
    await rpcResult(lim.rpcUrl, "dlg.end_dlg", [d!.h_entry, d!.h_id]);
    const r = await call;
    expect([r.successful, r.failed], r.errors || r.stderr).toEqual([1, 0]);
    await waitUntil("the CDR", async () => (await nodeCdrs()).some((c) => c.callee === "hank"), 10_000, [cp!, lim]);
    const c = (await nodeCdrs()).find((x) => x.callee === "hank")!;
    expect(c).toMatchObject({ ended_by: "rpc", end_reason: "proxy_bye" });
    const hankIds = new Set(traced.invites("hank").map((i) => i.callId));
    expect(traced.requests("BYE").filter((b) => hankIds.has(b.callId))).toHaveLength(1);
  }, 60_000);
});

describe("call control: the authorization hook asks the billing system before relaying an INVITE", () => {
  let dpc: DataPlaneProcess;
  let billing: Server;
  const asked: Array<Record<string, unknown>> = [];
  beforeAll(async () => {
    billing = createServer((req, res) => {
      let body = "";
      req.on("data", (d) => (body += d));
      req.on("end", () => {
        const q = JSON.parse(body) as Record<string, unknown>;
        asked.push(q);
        const user = String(q.ruri_user);
        const send = (o: unknown) => res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify(o));
        if (user === "paid") send({ allow: true, maxDurationS: 2 });
        else if (user === "broke") send({ allow: false, code: 402, reason: "Payment Required" });
        else setTimeout(() => send({ allow: true }), 2000); // too slow
      });
    });
    await new Promise<void>((r) => billing.listen(BASE + 55, "127.0.0.1", r));
    dpc = await startDataPlaneProcess({
      node: "bill-c",
      sipPort: BASE + 14,
      controlPort: BASE + 15,
      controlPlane: `127.0.0.1:${CP.grpcPort}`,
      settings: { nextHop: `sip:127.0.0.1:${UAS}`, authorize: { url: `http://127.0.0.1:${BASE + 55}/authorize`, timeoutMs: 300, failOpen: false } },
      modules: {
        dialog: {},
        acc: { cdr_enable: 1, cdr_log_enable: 0, cdr_push_url: `http://127.0.0.1:${CP.apiPort}/RPC`, cdr_push_retry: 100, cdr_push_retry_max: 500 },
      },
    });
  }, 60_000);
  afterAll(async () => {
    await new Promise((r) => billing?.close(r));
  });

  it("allow with a 2 s balance ends the call with BYE at 2 s; deny answers the billing system's code; no answer in time is 503 (fail-closed)", async () => {
    const broke = await runSipp({ scenario: "uac_expect.xml", port: uacPort++, remote: `127.0.0.1:${dpc.sipPort}`, calls: 1, service: "broke", templ: { code: "402" } });
    expect([broke.successful, broke.failed], broke.errors || broke.stderr).toEqual([1, 0]);
    const slow = await runSipp({ scenario: "uac_expect.xml", port: uacPort++, remote: `127.0.0.1:${dpc.sipPort}`, calls: 1, service: "slow", templ: { code: "503" } });
    expect([slow.successful, slow.failed], slow.errors || slow.stderr).toEqual([1, 0]);
    const paid = await runSipp({ scenario: "dlg_uac_wait_bye.xml", port: uacPort++, remote: `127.0.0.1:${dpc.sipPort}`, calls: 1, service: "paid", timeoutS: 15 });
    expect([paid.successful, paid.failed], paid.errors || paid.stderr).toEqual([1, 0]);
    expect(asked.map((q) => q.ruri_user)).toEqual(["broke", "slow", "paid"]);
    expect(asked[0]).toMatchObject({ from_user: "sipp", src_ip: "127.0.0.1", call_id: expect.any(String) });
    await waitUntil("the paid call's CDR", async () => (await allCdrs(1000)).some((c) => c.node === "bill-c" && c.callee === "paid"), 10_000, [cp!, dpc]);
    const c = (await allCdrs(1000)).find((x) => x.node === "bill-c" && x.callee === "paid")!;
    expect(c).toMatchObject({ ended_by: "timeout", end_reason: "proxy_bye", account: "sipp" });
    expect(Number(c.duration_ms)).toBeGreaterThanOrEqual(1900);
    expect(Number(c.duration_ms)).toBeLessThan(3500);
    // refused before routing: no dialog, no CDR
    expect((await allCdrs(1000)).filter((x) => x.node === "bill-c")).toHaveLength(1);
  }, 60_000);
});

describe("CDR webhook", () => {
  it("every CDR reaches the webhook, signed (HMAC) with its cdr_id as idempotency key, retried; the refused ones are dead letters", async () => {
    const all = await allCdrs(1000);
    const fred = all.filter((c) => c.callee === "fred").map((c) => c.cdr_id);
    expect(fred).toHaveLength(3);
    await waitUntil("every CDR but fred's accepted by the webhook", async () => hook.accepted.size === all.length - 3, 30_000, [cp!]);
    await waitUntil("fred's CDRs dead-lettered", async () => (await rpcResult<unknown[]>(cp!.rpcUrl, "cdrs.dead_letters", {})).length === 3, 30_000, [cp!]);
    expect(hook.badSignatures).toBe(0);
    expect(new Set(hook.accepted.keys())).toEqual(new Set(all.map((c) => c.cdr_id).filter((id) => !fred.includes(id))));
    expect([...hook.attempts.values()].some((n) => n > 1)).toBe(true); // retries happened
    const dead = await rpcResult<Array<{ cdr_id: string; attempts: number; last_error: string }>>(cp!.rpcUrl, "cdrs.dead_letters", {});
    expect(new Set(dead.map((d) => d.cdr_id))).toEqual(new Set(fred));
    for (const d of dead) expect(d).toMatchObject({ attempts: 3, last_error: "HTTP 503" });
    const one = all.find((c) => !fred.includes(c.cdr_id))!;
    expect(hook.accepted.get(one.cdr_id)).toMatchObject({ cdr_id: one.cdr_id, call_id: one.call_id, seq: one.seq });
  }, 60_000);
});
