/**
 * Push scale benchmark with light clients (issue 13 "Scale"): N data-plane streams spread over P
 * processes (bench/push/light-clients.ts: Hello with supports_delta, ACK on the last chunk, no row
 * decoding, reconnect with the last ACKed version) on one real control-plane process
 * (--push-insecure-loopback, --cdc-ms 50, real MariaDB, database olelo_bench_scale_light):
 *  (a) a ROWS-row prefix_route version (INSERT ... SELECT) to all N: INSERT start → first / last ACK,
 *      and the control plane's VmRSS/VmHWM (its process group) before / after;
 *  (b) one-row UPDATEs, one at a time: commit → ACK on each client (a delta), p50/p99;
 *  (c) control-plane SIGTERM + restart: CP ready, all N streams open again (they reconnect at once,
 *      backoff 100–1000 ms), then one UPDATE → on all N.
 * Run: flock /tmp/olelo-test.lock npx tsx bench/push/scale-light.ts [--clients 100] [--procs 4] [--rows 1000000] [--changes 20]
 * Prints figures; asserts nothing. Each wait is bounded (--timeout-s, default 600).
 */
import { stopAllProcesses } from "../../test/helpers/processes.js";
import { spawnJsonChild, type JsonChild } from "../../test/kit/json-child.js";
import { arg, benchDatabase, memMb, pct, until } from "./scale-kit.js";

const CLIENTS = arg("clients", 100);
const PROCS = Math.min(arg("procs", 4), CLIENTS);
const ROWS = arg("rows", 1_000_000);
const CHANGES = arg("changes", 20);
const TIMEOUT = arg("timeout-s", 600) * 1000;
const DB = "olelo_bench_scale_light";

const wall = () => performance.timeOrigin + performance.now();

interface Seen { version: string | null; rows: number; at: number; up: number; deltas: number; bytes: number }

async function main(): Promise<void> {
  const { admin, start } = await benchDatabase(DB);
  const procs: JsonChild[] = [];
  try {
    let cp = await start();
    const seen: Seen[] = Array.from({ length: CLIENTS }, () => ({ version: null, rows: -1, at: 0, up: 0, deltas: 0, bytes: 0 }));
    const per = Math.ceil(CLIENTS / PROCS);
    for (let p = 0; p < PROCS; p++) {
      const n = Math.min(per, CLIENTS - p * per);
      const child = spawnJsonChild("bench/push/light-clients.ts", [cp.grpcUrl, "light", String(n), "prefix_route", String(p * per)]);
      procs.push(child);
    }
    let consumed = procs.map(() => 0);
    const drain = () => {
      procs.forEach((c, p) => {
        for (; consumed[p]! < c.events.length; consumed[p]!++) {
          const e = c.events[consumed[p]!]! as Record<string, any>;
          const s = seen[e.i as number];
          if (!s) continue;
          if (e.event === "up") s.up = e.t;
          if (e.event === "applied") Object.assign(s, { version: e.version, rows: e.delta ? s.rows : e.rows, at: e.t, deltas: s.deltas + (e.delta ? 1 : 0), bytes: s.bytes + e.bytes });
        }
        if (c.events.length > 10_000) { c.events.splice(0, consumed[p]!); consumed[p] = 0; }
      });
    };
    const poll = async (what: string, pred: () => boolean, ms = TIMEOUT) => until(what, () => (drain(), pred()), ms);
    await poll("every client connected", () => seen.every((s) => s.up > 0), 60_000);
    await new Promise((r) => setTimeout(r, 1500));
    const memBefore = memMb(cp.pgid);

    // (a) big version to all
    const tA = wall();
    await admin.query(`INSERT INTO prefix_route (prefix, route, comment) SELECT CONCAT('49', LPAD(seq, 7, '0')), 'R1', '' FROM seq_0_to_${ROWS - 1}`);
    const insertS = (wall() - tA) / 1000;
    await poll("all clients ACKed the big version", () => seen.every((s) => s.rows === ROWS));
    const firstMs = Math.min(...seen.map((s) => s.at)) - tA;
    const lastMs = Math.max(...seen.map((s) => s.at)) - tA;
    const memAfter = memMb(cp.pgid);
    const bigBytes = seen.reduce((n, s) => n + s.bytes, 0);
    console.log(`(a) ${CLIENTS} clients / ${PROCS} procs, ${ROWS} rows (INSERT ${insertS.toFixed(1)} s): first ${(firstMs / 1000).toFixed(1)} s, last ${(lastMs / 1000).toFixed(1)} s, ${(bigBytes / 1048576).toFixed(0)} MiB; CP RSS ${memBefore.rss} → ${memAfter.rss} MB (HWM ${memAfter.hwm})`);

    // (b) one-row deltas
    const each: number[] = [], all: number[] = [];
    const deltasBefore = seen.reduce((n, s) => n + s.deltas, 0);
    for (let c = 0; c < CHANGES; c++) {
      await new Promise((r) => setTimeout(r, 300));
      drain();
      const before = seen.map((s) => s.version);
      const t0 = wall();
      await admin.query(`UPDATE prefix_route SET comment = 'c${c}' WHERE prefix = '49${String((c * 7919) % ROWS).padStart(7, "0")}'`);
      await poll(`change ${c} on all`, () => seen.every((s, i) => s.version !== before[i]), 60_000);
      const t = seen.map((s) => s.at - t0);
      each.push(...t);
      all.push(Math.max(...t));
    }
    const deltas = seen.reduce((n, s) => n + s.deltas, 0) - deltasBefore;
    console.log(`(b) p50 ${pct(each, 50).toFixed(0)} ms, p99 ${pct(each, 99).toFixed(0)} ms; all: p50 ${pct(all, 50).toFixed(0)}, p99 ${pct(all, 99).toFixed(0)} ms; ${deltas} deltas`);

    // (c) restart
    drain();
    const current = seen[0]!.version;
    await cp.stop("SIGTERM");
    const tC = wall();
    for (const s of seen) s.up = 0;
    cp = await start();
    const readyMs = wall() - tC;
    await poll("all clients reconnected", () => seen.every((s) => s.up > 0), 120_000);
    const upFirst = Math.min(...seen.map((s) => s.up)) - tC;
    const upLast = Math.max(...seen.map((s) => s.up)) - tC;
    const resent = seen.filter((s) => s.version !== current).length;
    console.log(`(c) ready ${(readyMs / 1000).toFixed(1)} s, up first ${(upFirst / 1000).toFixed(1)} s, last ${(upLast / 1000).toFixed(1)} s, ${resent} resent`);
    const tU = wall();
    await admin.query(`UPDATE prefix_route SET comment = 'after-restart' WHERE prefix = '490000001'`);
    await poll("all clients on a version after the restart", () => seen.every((s) => s.version !== current), 120_000); // a delta: totalRows is its own count
    const afterMs = Math.max(...seen.map((s) => s.at)) - tU;
    const memEnd = memMb(cp.pgid);

    const out: Array<[string, string]> = [
      ["setup", `${CLIENTS} light clients in ${PROCS} processes, ${ROWS} prefix_route rows (INSERT ... SELECT ${insertS.toFixed(1)} s)`],
      ["(a) big version: INSERT start → first / last ACK", `${(firstMs / 1000).toFixed(1)} s / ${(lastMs / 1000).toFixed(1)} s, ${(bigBytes / 1048576).toFixed(0)} MiB sent in all`],
      ["(a) control plane VmRSS before → after (VmHWM)", `${memBefore.rss} MB → ${memAfter.rss} MB (${memAfter.hwm} MB)`],
      [`(b) one-row UPDATE → ACK, ${CHANGES} changes × ${CLIENTS}`, `p50 ${pct(each, 50).toFixed(0)} ms, p99 ${pct(each, 99).toFixed(0)} ms (until all: p50 ${pct(all, 50).toFixed(0)}, p99 ${pct(all, 99).toFixed(0)} ms); ${deltas} of ${CHANGES * CLIENTS} as deltas`],
      ["(c) restart: SIGTERM → CP ready / streams open first, last", `${(readyMs / 1000).toFixed(1)} s / ${(upFirst / 1000).toFixed(1)} s, ${(upLast / 1000).toFixed(1)} s; ${resent} clients were sent a version on reconnect`],
      ["(c) then one UPDATE → on all", `${afterMs.toFixed(0)} ms; CP VmRSS ${memEnd.rss} MB after the restart`],
    ];
    console.log("");
    const w = Math.max(...out.map((r) => r[0].length));
    for (const [k, v] of out) console.log(`${k.padEnd(w)}  ${v}`);
  } finally {
    for (const p of procs) p.proc.kill("SIGTERM");
    await stopAllProcesses();
    await admin.query(`DROP DATABASE IF EXISTS ${DB}`);
    await admin.end();
  }
}
const guard = setTimeout(() => { console.error("bench: overall timeout"); process.exit(2); }, TIMEOUT * 3);
guard.unref();
main().then(() => process.exit(0), (e) => { console.error(e instanceof Error ? e.message : String(e)); process.exit(1); });
