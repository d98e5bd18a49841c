/**
 * Ports for tests, so that test files need not hard-code numbers and can run side by side.
 *
 * - `freePort()` asks the OS (bind to port 0) for a port that is free for UDP and TCP on 127.0.0.1
 *   (and ::1 when `ipv6`), the way a SIP listener needs it, and never hands the same port out twice
 *   in one process.
 * - `freePortBlock(n)` finds n consecutive such ports, for tests written as `P + offset` (from the
 *   worker's range below, checked by binding).
 * - `workerPortRange(n)` is the deterministic alternative: a block of a range below the OS ephemeral
 *   range (27000–32767), chosen by VITEST_POOL_ID so that parallel vitest workers never overlap.
 *
 * Ports from the OS are closed again before they are returned: a process started later binds them.
 * Between the probe and that bind another process could take the port, which is unlikely on a
 * test machine (the OS hands ephemeral ports out in turn).
 *
 * @example
 *   const SIP = await freePort();                  // one port for a proxy's UDP + TCP listeners
 *   const P = await freePortBlock(100);            // P, P + 1, … P + 99 all free
 *   const base = workerPortRange(200);             // per-worker block, no OS probe
 */
import { createSocket } from "node:dgram";
import { readFileSync } from "node:fs";
import { createServer } from "node:net";

export interface PortOptions {
  /** Also require the port free on ::1 (default false). */
  ipv6?: boolean;
  /** Which protocols must be free (default both). */
  protocols?: readonly ("udp" | "tcp")[];
}

const handedOut = new Set<number>();

function hosts(o: PortOptions): string[] {
  return o.ipv6 ? ["127.0.0.1", "::1"] : ["127.0.0.1"];
}

/** A held socket: close() releases it. */
interface Held {
  port: number;
  close(): Promise<void>;
}

function holdTcp(port: number, host: string): Promise<Held | null> {
  return new Promise((resolve) => {
    const s = createServer();
    s.unref();
    s.once("error", () => resolve(null));
    s.listen({ port, host, exclusive: true }, () => {
      const addr = s.address();
      const p = typeof addr === "object" && addr ? addr.port : port;
      resolve({ port: p, close: () => new Promise<void>((r) => s.close(() => r())) });
    });
  });
}

function holdUdp(port: number, host: string): Promise<Held | null> {
  return new Promise((resolve) => {
    const s = createSocket({ type: host.includes(":") ? "udp6" : "udp4", ipv6Only: host.includes(":") });
    s.unref();
    s.once("error", () => {
      try {
        s.close();
      } catch {
        /* not bound */
      }
      resolve(null);
    });
    s.bind({ port, address: host, exclusive: true }, () => {
      resolve({ port: s.address().port, close: () => new Promise<void>((r) => s.close(() => r())) });
    });
  });
}

/** Binds `port` (0: any) on every requested protocol and host; null when one of them is taken. */
async function holdAll(port: number, o: PortOptions): Promise<Held | null> {
  const protocols = o.protocols ?? ["udp", "tcp"];
  const held: Held[] = [];
  let p = port;
  const release = () => Promise.all(held.map((h) => h.close()));
  for (const host of hosts(o)) {
    for (const proto of protocols) {
      const h = proto === "tcp" ? await holdTcp(p, host) : await holdUdp(p, host);
      if (!h) {
        await release();
        return null;
      }
      held.push(h);
      p = h.port; // the first bind (port 0) picks the number, the others must get the same
    }
  }
  return { port: p, close: async () => void (await release()) };
}

/** A port free for UDP and TCP on 127.0.0.1 (and ::1 with `ipv6`), from the OS; unique in this process. */
export async function freePort(options: PortOptions = {}): Promise<number> {
  for (let attempt = 0; attempt < 200; attempt++) {
    const h = await holdAll(0, options);
    if (!h) continue;
    await h.close();
    if (handedOut.has(h.port)) continue;
    handedOut.add(h.port);
    return h.port;
  }
  throw new Error("freePort: no free UDP+TCP port after 200 attempts");
}

/** `n` distinct ports from `freePort`. */
export async function freePorts(n: number, options: PortOptions = {}): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < n; i++) out.push(await freePort(options));
  return out;
}

/** Whether every port of base … base + size - 1 binds (UDP and TCP) right now; all released again. */
async function blockFree(base: number, size: number, options: PortOptions): Promise<boolean> {
  const held: Held[] = [];
  let ok = base > 0 && base + size <= 65536;
  for (let p = base; ok && p < base + size; p++) {
    const h = handedOut.has(p) ? null : await holdAll(p, options);
    if (h) held.push(h);
    else ok = false;
  }
  await Promise.all(held.map((h) => h.close()));
  return ok;
}

/**
 * A base port P such that P … P + size - 1 are all free (UDP and TCP) right now. The block comes from
 * this worker's range (`workerPortRange`, below the OS ephemeral range, so no client socket of the
 * test picks one of its ports meanwhile), checked by binding; when that range is used up or taken,
 * from a port the OS picks. Unique in this process.
 */
export async function freePortBlock(size: number, options: PortOptions = {}): Promise<number> {
  for (;;) {
    let base: number;
    try {
      base = workerPortRange(size);
    } catch {
      break; // worker range used up: ask the OS
    }
    if (await blockFree(base, size, options)) return markBlock(base, size);
  }
  for (let attempt = 0; attempt < 200; attempt++) {
    const first = await holdAll(0, options);
    if (!first) continue;
    await first.close();
    if (await blockFree(first.port, size, options)) return markBlock(first.port, size);
  }
  throw new Error(`freePortBlock: no ${size} consecutive free ports after 200 attempts`);
}

function markBlock(base: number, size: number): number {
  for (let p = base; p < base + size; p++) handedOut.add(p);
  return base;
}

/** First port of the per-worker ranges (below Linux's ephemeral range 32768–60999). */
export const WORKER_RANGE_START = 27_000;
/** End (exclusive) of the per-worker ranges. */
export const WORKER_RANGE_END = 32_768;
/** Ports each vitest worker owns in the per-worker range. */
export const PORTS_PER_WORKER = 640;

let workerNext = 0;

/**
 * `size` consecutive ports from this vitest worker's own block (VITEST_POOL_ID 1, 2, … → a block of
 * PORTS_PER_WORKER each from WORKER_RANGE_START); successive calls in one worker get successive
 * ports. Deterministic and probe-free; safe while no other program binds that range.
 */
export function workerPortRange(size: number, poolId = Number(process.env.VITEST_POOL_ID ?? "1")): number {
  const slots = Math.floor((WORKER_RANGE_END - WORKER_RANGE_START) / PORTS_PER_WORKER);
  const slot = ((Number.isFinite(poolId) && poolId > 0 ? poolId : 1) - 1) % slots;
  if (workerNext + size > PORTS_PER_WORKER) throw new Error(`workerPortRange: worker ${poolId} has used its ${PORTS_PER_WORKER} ports`);
  const base = WORKER_RANGE_START + slot * PORTS_PER_WORKER + workerNext;
  workerNext += size;
  return base;
}

/**
 * Whether some process on this host has `port` bound: a UDP socket, or a TCP socket in LISTEN
 * (Linux /proc/net/{udp,udp6,tcp,tcp6}). For waiting until a child process (sipp, a proxy) is up
 * without connecting to it.
 */
export function portBound(port: number, protocol: "udp" | "tcp"): boolean {
  const hex = port.toString(16).toUpperCase().padStart(4, "0");
  for (const file of protocol === "udp" ? ["udp", "udp6"] : ["tcp", "tcp6"]) {
    let text: string;
    try {
      text = readFileSync(`/proc/net/${file}`, "latin1");
    } catch {
      continue;
    }
    for (const line of text.split("\n").slice(1)) {
      const f = line.trim().split(/\s+/);
      // f[1] local address "0100007F:13C4", f[3] state (0A = LISTEN for TCP)
      if (f[1]?.endsWith(`:${hex}`) && (protocol === "udp" || f[3] === "0A")) return true;
    }
  }
  return false;
}
