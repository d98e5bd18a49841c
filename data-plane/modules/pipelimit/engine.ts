import type { Logger } from "../../core/api.js";
import { FleetCounter } from "./fleet.js";
import { CpuSampler, readNetworkWaiting } from "./load.js";
import { PipeTable } from "./pipe-table.js";

/** Settings of one pipe engine (pipelimit's or ratelimit's). */
export interface PipeEngineOptions {
  readonly intervalS: number;
  readonly cleanUnused: number;
  readonly keyedIdle: number;
  readonly maxPipes: number;
  readonly loadFetch: boolean;
  readonly networkPorts: ReadonlySet<number>;
  readonly redis: null | { url: string; prefix: string; flushMs: number; timeoutMs: number; fixedNodes: number };
  readonly nodeId: string;
  readonly log: Logger;
  readonly onRedisError: () => void;
}

/** A pipe table with its timers: interval rollover on wall-clock boundaries, load sampling, fleet flushes. */
export interface PipeEngine {
  readonly table: PipeTable;
  readonly fleet: FleetCounter | null;
  /** mode "redis" (counted fleet-wide), "fallback" (Redis down: limit / nodes), "local" (no Redis configured). */
  fleetStatus(): { mode: "redis" | "fallback" | "local"; nodes: number; redis_errors: number };
  stop(): void;
}

/** Starts the engine's timers (unref'd). */
export function startPipeEngine(o: PipeEngineOptions): PipeEngine {
  const intervalMs = o.intervalS * 1000;
  const slotOf = (t: number) => Math.floor(t / intervalMs);
  let table: PipeTable;
  const fleet = o.redis
    ? new FleetCounter({
        url: o.redis.url,
        prefix: o.redis.prefix,
        nodeId: o.nodeId,
        flushMs: o.redis.flushMs,
        intervalMs,
        fixedNodes: o.redis.fixedNodes,
        timeoutMs: o.redis.timeoutMs,
        log: o.log,
        onError: o.onRedisError,
        currentSlot: () => table.slot,
      })
    : null;
  table = new PipeTable({ cleanUnused: o.cleanUnused, maxPipes: o.maxPipes, keyedIdle: o.keyedIdle }, fleet);
  table.slot = slotOf(Date.now());
  const cpu = new CpuSampler();
  let stopped = false;
  let timer: NodeJS.Timeout | null = null;
  let sampling = false;

  const rollover = () => {
    if (stopped) return;
    const now = Date.now();
    const slot = slotOf(now);
    if (slot !== table.slot) {
      const ended = table.slot;
      const cpuLoad = lastCpu;
      const shared = table.endInterval(slot, cpuLoad);
      // the others' last flushes of the ended slot land within a flush interval or two
      if (fleet && shared.length > 0) setTimeout(() => fleet.correct(shared, ended), o.redis!.flushMs * 3 + 20).unref();
      if (o.loadFetch && !sampling) {
        sampling = true;
        Promise.all([cpu.sample(), readNetworkWaiting(o.networkPorts)])
          .then(([l, n]) => {
            lastCpu = l;
            table.networkBytes = n;
          })
          .catch(() => undefined)
          .finally(() => (sampling = false));
      }
    }
    timer = setTimeout(rollover, intervalMs - (Date.now() % intervalMs) + 1);
    timer.unref();
  };
  let lastCpu: number | null = null;
  rollover();
  const flusher = fleet ? setInterval(() => table.flush(Date.now()), o.redis!.flushMs) : null;
  flusher?.unref();
  return {
    table,
    fleet,
    fleetStatus: () => ({ mode: fleet === null ? "local" : fleet.up ? "redis" : "fallback", nodes: fleet?.nodes ?? 1, redis_errors: fleet?.errors ?? 0 }),
    stop() {
      stopped = true;
      if (timer) clearTimeout(timer);
      if (flusher) clearInterval(flusher);
      fleet?.close();
    },
  };
}

/** Parses "5060,5061" into a port set (bad entries ignored by the param check). */
export function parsePorts(s: string): Set<number> {
  return new Set(
    s
      .split(",")
      .map((x) => Number(x.trim()))
      .filter((n) => Number.isInteger(n) && n > 0 && n < 65536),
  );
}
