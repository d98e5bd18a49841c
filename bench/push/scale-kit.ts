/**
 * What the push scale benchmarks (scale.ts: in-process sync clients; scale-light.ts: light clients
 * in child processes) share: numeric flags, the control plane's memory, percentiles, bounded waits,
 * and the fresh benchmark database with its control-plane starter.
 */
import { readFileSync, readdirSync } from "node:fs";
import mysql from "mysql2/promise";
import { startControlPlaneProcess, type ControlPlaneProcess } from "../../test/helpers/processes.js";
import { freePortBlock } from "../../test/kit/ports.js";

/** The number after `--name` on the command line, or `d`. */
export const arg = (n: string, d: number): number => {
  const i = process.argv.indexOf(`--${n}`);
  return i > 0 ? Number(process.argv[i + 1]) : d;
};

/** VmRSS and VmHWM in MB summed over the processes of a process group. */
export function memMb(pgid: number): { rss: number; hwm: number } {
  let rss = 0, hwm = 0;
  for (const d of readdirSync("/proc")) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const stat = readFileSync(`/proc/${d}/stat`, "utf8");
      const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      if (Number(f[2]) !== pgid) continue;
      const s = readFileSync(`/proc/${d}/status`, "utf8");
      rss += Number(/VmRSS:\s+(\d+)/.exec(s)?.[1] ?? 0) / 1024;
      hwm += Number(/VmHWM:\s+(\d+)/.exec(s)?.[1] ?? 0) / 1024;
    } catch { /* process gone */ }
  }
  return { rss: Math.round(rss), hwm: Math.round(hwm) };
}

export const pct = (xs: number[], p: number): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))]!;
};

/** Polls `pred` every 2 ms until it holds; resolves with the ms that took, throws after `ms` (default --timeout-s, 600 s). */
export async function until(what: string, pred: () => boolean, ms = arg("timeout-s", 600) * 1000): Promise<number> {
  const t0 = performance.now();
  while (!pred()) {
    if (performance.now() - t0 > ms) throw new Error(`timed out: ${what}`);
    await new Promise((r) => setTimeout(r, 2));
  }
  return performance.now() - t0;
}

/** Creates database `db` afresh (MariaDB on 127.0.0.1:3306, root) and returns the admin connection and a starter of the control plane on it (CDC every 50 ms, no poll). */
export async function benchDatabase(db: string): Promise<{ admin: mysql.Connection; start: () => Promise<ControlPlaneProcess> }> {
  const base = await freePortBlock(4);
  const admin = await mysql.createConnection({ host: "127.0.0.1", port: 3306, user: "root", multipleStatements: true });
  await admin.query(`DROP DATABASE IF EXISTS ${db}; CREATE DATABASE ${db} CHARACTER SET utf8mb4; USE ${db}`);
  const start = (): Promise<ControlPlaneProcess> => startControlPlaneProcess({ db, apiPort: base + 1, grpcPort: base + 2, pollMs: 0, cdcMs: 50, readyTimeoutMs: 300_000 });
  return { admin, start };
}
