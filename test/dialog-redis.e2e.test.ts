/**
 * Issue 14, dialog state in Redis for a fleet (dialog db_mode 1 with a redis:// db_url), with
 * real processes: a data plane holding calls is SIGKILLed and comes back on a new disk (its data
 * directory, journal included, is gone), takes the calls over from its Redis hash, relays the
 * callers' BYEs and sends the BYEs of timed-out calls; the hash is empty afterwards. A second
 * node sharing the Redis keeps its own hash and does not take the first node's calls.
 *
 * Ports: a block of 40 from test/kit/ports.ts (freePortBlock).
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { rpcResult, startDataPlaneProcess, stopAllProcesses, waitUntil, type DataPlaneOptions, type DataPlaneProcess } from "./helpers/processes.js";
import { runSipp, startSippServer, type SippServer } from "./helpers/sipp.js";
import { freePortBlock } from "./kit/ports.js";

const BASE = await freePortBlock(40);
const PREFIX = `olelo:test:dlg:${process.pid}:`;
const UAS = BASE + 20;
let uacPort = BASE + 30;
let redis: Redis;
let uas: SippServer;
let a: DataPlaneProcess | null = null;
let b: DataPlaneProcess | null = null;
const dirA = mkdtempSync(join(tmpdir(), "olelo-e2e-dlg-redis-a-"));
const dirB = mkdtempSync(join(tmpdir(), "olelo-e2e-dlg-redis-b-"));

const opts = (node: string, dir: string, off: number): DataPlaneOptions => ({
  node,
  sipPort: BASE + off,
  controlPort: BASE + off + 1,
  controlPlane: `127.0.0.1:${BASE + 39}`, // no control plane: standalone
  dir,
  settings: { nextHop: `sip:127.0.0.1:${UAS}` },
  modules: { dialog: { db_mode: 1, db_url: "redis://127.0.0.1:6379/0", redis_prefix: PREFIX, default_timeout: 20, send_bye: 1 } },
});

const stored = async (node: string) => Object.values(await redis.hgetall(`${PREFIX}${node}`)).map((v) => JSON.parse(v) as { callId: string; x: { n: string } });

beforeAll(async () => {
  redis = new Redis("redis://127.0.0.1:6379/0");
  const old = await redis.keys(`${PREFIX}*`);
  if (old.length) await redis.del(...old);
  uas = await startSippServer({ scenario: "uas_rr.xml", port: UAS });
  a = await startDataPlaneProcess(opts("dlg-a", dirA, 0));
  b = await startDataPlaneProcess(opts("dlg-b", dirB, 10));
}, 60_000);

afterAll(async () => {
  await uas?.stop();
  await stopAllProcesses();
  const keys = await redis.keys(`${PREFIX}*`);
  if (keys.length) await redis.del(...keys);
  redis.disconnect();
});

describe("dialog state in Redis (db_mode 1, redis:// db_url)", () => {
  it("a node SIGKILLed with calls up and restarted on a new disk takes its calls over from Redis; BYEs and timeouts end them; the hash empties", async () => {
    // on node a: 3 calls hang up 15 s after the answer, 2 wait for the proxy's BYE (timeout 20 s); node b: 1 call held 2 s
    // (long enough that no call ends while node a restarts, even on a CI machine where a start takes 10 s)
    const held = runSipp({ scenario: "dlg_uac_hold.xml", port: uacPort++, remote: `127.0.0.1:${a!.sipPort}`, calls: 3, rate: 20, service: "erin", templ: { hold_ms: "15000" }, timeoutS: 60 });
    const waiting = runSipp({ scenario: "dlg_uac_wait_bye.xml", port: uacPort++, remote: `127.0.0.1:${a!.sipPort}`, calls: 2, rate: 20, service: "fred", timeoutS: 60 });
    const onB = runSipp({ scenario: "dlg_uac_hold.xml", port: uacPort++, remote: `127.0.0.1:${b!.sipPort}`, calls: 1, rate: 20, service: "gina", templ: { hold_ms: "2000" }, timeoutS: 40 });
    await waitUntil("5 dialogs of dlg-a in Redis", async () => (await stored("dlg-a")).length === 5, 10_000, [a!]);
    expect((await stored("dlg-a")).every((s) => s.x.n === "dlg-a")).toBe(true);
    await a!.stop("SIGKILL");
    rmSync(join(dirA, "data"), { recursive: true, force: true }); // a new disk: no journal
    a = await startDataPlaneProcess(opts("dlg-a", dirA, 0));
    expect(await rpcResult(a.rpcUrl, "dlg.stats_active")).toMatchObject({ all: 5 });
    const [h, w, g] = await Promise.all([held, waiting, onB]);
    expect([h.successful, h.failed], h.errors || h.stderr).toEqual([3, 0]);
    expect([w.successful, w.failed], w.errors || w.stderr).toEqual([2, 0]);
    expect([g.successful, g.failed], g.errors || g.stderr).toEqual([1, 0]);
    await waitUntil("dlg-a's hash empty", async () => (await stored("dlg-a")).length === 0, 10_000, [a!]);
    await waitUntil("dlg-b's hash empty", async () => (await stored("dlg-b")).length === 0, 10_000, [b!]);
    expect(await rpcResult(a.rpcUrl, "dlg.stats_active")).toMatchObject({ all: 0 });
    // node b never took node a's calls
    expect(await rpcResult(b!.rpcUrl, "stats.fetchn", ["dialog:processed_dialogs"])).toMatchObject({ "dialog.processed_dialogs": 1 });
  }, 120_000);

  it("a row left by a call that ended just before a crash is removed at restart when the journal survives", async () => {
    const calls = runSipp({ scenario: "dlg_uac_hold.xml", port: uacPort++, remote: `127.0.0.1:${a!.sipPort}`, calls: 1, rate: 20, service: "hank", templ: { hold_ms: "15000" }, timeoutS: 60 });
    await waitUntil("1 dialog of dlg-a in Redis", async () => (await stored("dlg-a")).length === 1, 10_000, [a!]);
    // a leftover of this node (its delete was lost with a crash) and one of another node
    const ghost = { ...(await stored("dlg-a"))[0]!, callId: "ghost", hEntry: 4095, hId: 999999 };
    await redis.hset(`${PREFIX}dlg-a`, "4095.999999", JSON.stringify(ghost));
    await a!.stop("SIGKILL");
    a = await startDataPlaneProcess(opts("dlg-a", dirA, 0));
    const up = await rpcResult<{ all: number }>(a.rpcUrl, "dlg.stats_active");
    expect(up, a.log()).toMatchObject({ all: 1 }); // from the journal, not the ghost
    await waitUntil("the ghost is gone", async () => !(await stored("dlg-a")).some((s) => s.callId === "ghost"), 5_000, [a!]);
    const r = await calls;
    expect([r.successful, r.failed], r.errors || r.stderr).toEqual([1, 0]);
    await waitUntil("dlg-a's hash empty", async () => (await stored("dlg-a")).length === 0, 10_000, [a!]);
  }, 90_000);
});
