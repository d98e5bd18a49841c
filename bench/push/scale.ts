/**
 * Push scale benchmark (issue 13 "Scale"): N light data-plane clients (the real sync client,
 * createSyncClient, with in-memory fake table sinks) in this one process, on one real control-plane
 * process (--push-insecure-loopback, --cdc-ms 50, real MariaDB, database olelo_bench_scale):
 *  (a) a ROWS-row prefix_route push to all N: time until every client has applied it, and the
 *      control plane's VmRSS/VmHWM (summed over its process group) before/after;
 *  (b) one-row UPDATEs: commit → applied on each client, p50/p99;
 *  (c) control-plane SIGTERM + restart: time until all N are back on the current version.
 * Run: flock /tmp/olelo-test.lock npx tsx bench/push/scale.ts [--clients 100] [--rows 100000] [--changes 20]
 * Prints figures; asserts nothing. Each wait is bounded (--timeout-s, default 600).
 */
import { setLogSink } from "../../lib/log/logger.js";
import { createSyncClient, type SyncClient } from "../../data-plane/sync/client.js";
import { createFakeTables } from "../../data-plane/sync/testing/fake-sinks.js";
import { stopAllProcesses } from "../../test/helpers/processes.js";
import { arg, benchDatabase, memMb, pct, until } from "./scale-kit.js";

setLogSink(() => {});
const CLIENTS = arg("clients", 100);
const ROWS = arg("rows", 100_000);
const CHANGES = arg("changes", 20);
const TIMEOUT = arg("timeout-s", 600) * 1000;
const DB = "olelo_bench_scale";


async function main(): Promise<void> {
  const { admin, start } = await benchDatabase(DB);
  const clients: SyncClient[] = [];
  try {
    let cp = await start(); // migrates (and installs the change triggers)
    const fleet = Array.from({ length: CLIENTS }, () => createFakeTables(["prefix_route"]));
    for (let i = 0; i < CLIENTS; i++) clients.push(await createSyncClient({ url: cp.grpcUrl, nodeId: `scale-${i}`, tables: fleet[i]!.tables, cacheDir: null, backoff: { initialMs: 100, maxMs: 1000 } }));
    const ver = (i: number): string | undefined => fleet[i]!.live.get("prefix_route")?.version;
    const rows = (i: number): number => fleet[i]!.live.get("prefix_route")?.rows ?? -1;
    await new Promise((r) => setTimeout(r, 2000));
    const memBefore = memMb(cp.pgid);

    // (a) big push
    const tA = performance.now();
    await admin.query(`INSERT INTO prefix_route (prefix, route, comment) SELECT CONCAT('49', LPAD(seq, 7, '0')), 'R1', '' FROM seq_0_to_${ROWS - 1}`);
    const insertS = (performance.now() - tA) / 1000;
    let firstMs = 0;
    await until("first client has the big table", () => clients.some((_, i) => rows(i) === ROWS));
    firstMs = performance.now() - tA;
    await until("all clients have the big table", () => clients.every((_, i) => rows(i) === ROWS));
    const lastMs = performance.now() - tA;
    const memAfter = memMb(cp.pgid);

    // (b) one-row deltas
    const per: number[] = [], all: number[] = [];
    for (let c = 0; c < CHANGES; c++) {
      const before = clients.map((_, i) => ver(i));
      const done: number[] = clients.map(() => -1);
      const t0 = performance.now();
      await admin.query(`UPDATE prefix_route SET comment = 'c${c}' WHERE prefix = '49${String((c * 7919) % ROWS).padStart(7, "0")}'`);
      await until(`delta ${c} on all`, () => {
        const now = performance.now() - t0;
        let ok = true;
        for (let i = 0; i < CLIENTS; i++) {
          if (done[i]! < 0) { if (ver(i) !== before[i]) done[i] = now; else ok = false; }
        }
        return ok;
      }, 60_000);
      per.push(...done); all.push(Math.max(...done));
      await new Promise((r) => setTimeout(r, 200));
    }

    // (c) restart
    const current = ver(0);
    await cp.stop("SIGTERM");
    const tC = performance.now();
    cp = await start();
    const upMs = performance.now() - tC;
    await admin.query(`UPDATE prefix_route SET comment = 'after-restart' WHERE prefix = '490000001'`);
    await until("all clients on a version after the restart", () => clients.every((_, i) => ver(i) !== current && rows(i) === ROWS));
    const syncMs = performance.now() - tC;

    const out: Array<[string, string]> = [
      ["setup", `${CLIENTS} sync clients in one process, ${ROWS} prefix_route rows (INSERT ... SELECT ${insertS.toFixed(1)} s)`],
      ["(a) big push: INSERT start → first / last client applied", `${(firstMs / 1000).toFixed(1)} s / ${(lastMs / 1000).toFixed(1)} s`],
      ["(a) control plane VmRSS before → after (VmHWM after)", `${memBefore.rss} MB → ${memAfter.rss} MB (${memAfter.hwm} MB), process group sum`],
      [`(b) one-row UPDATE, ${CHANGES} changes, per client`, `p50 ${pct(per, 50).toFixed(0)} ms, p99 ${pct(per, 99).toFixed(0)} ms`],
      ["(b) until all clients", `p50 ${pct(all, 50).toFixed(0)} ms, p99 ${pct(all, 99).toFixed(0)} ms`],
      ["(c) restart: SIGTERM → CP ready / all clients on a new version", `${(upMs / 1000).toFixed(1)} s / ${(syncMs / 1000).toFixed(1)} s`],
    ];
    const w = Math.max(...out.map((r) => r[0].length));
    for (const [k, v] of out) console.log(`${k.padEnd(w)}  ${v}`);
  } finally {
    await Promise.all(clients.map((c) => c.close()));
    await stopAllProcesses();
    await admin.query(`DROP DATABASE IF EXISTS ${DB}`);
    await admin.end();
  }
}
const guard = setTimeout(() => { console.error("bench: overall timeout"); process.exit(2); }, TIMEOUT * 3);
guard.unref();
main().then(() => process.exit(0), (e) => { console.error(e instanceof Error ? e.message : String(e)); process.exit(1); });
