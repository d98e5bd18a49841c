import { readFile } from "node:fs/promises";

/**
 * Load sources read once per timer interval, off the SIP path (async file reads): the CPU load
 * from /proc/stat for FEEDBACK and the bytes waiting in the receive queues of our sockets
 * (/proc/net/{udp,udp6,tcp,tcp6}) for NETWORK, as Kamailio's pipelimit reads them.
 */

/** CPU tick counters of the aggregate `cpu` line of /proc/stat. */
export interface CpuTicks {
  readonly busy: number;
  readonly total: number;
}

/** Parses the first `cpu ` line of /proc/stat (user nice system idle iowait irq softirq steal); null when absent. */
export function parseProcStat(text: string): CpuTicks | null {
  const m = /^cpu\s+(.*)$/m.exec(text);
  if (!m) return null;
  const f = m[1]!.trim().split(/\s+/).slice(0, 8).map(Number);
  if (f.length < 8 || f.some((x) => !Number.isFinite(x))) return null;
  const total = f.reduce((a, b) => a + b, 0);
  return { busy: total - f[3]!, total };
}

/** The load between two samples, 0..1 (null when no tick passed). */
export function cpuLoadBetween(prev: CpuTicks, cur: CpuTicks): number | null {
  const dt = cur.total - prev.total;
  if (dt <= 0) return null;
  const l = (cur.busy - prev.busy) / dt;
  return l < 0 ? 0 : l > 1 ? 1 : l;
}

/**
 * Sums the rx_queue of the lines of a /proc/net/{udp,tcp}[6] file whose local port is in
 * `ports` (every line when `ports` is empty). Line shape:
 * `sl local_address rem_address st tx_queue:rx_queue ...`, addresses and queues in hex.
 */
export function sumRxQueue(text: string, ports: ReadonlySet<number>): number {
  let sum = 0;
  for (const line of text.split("\n")) {
    const f = line.trim().split(/\s+/);
    if (f.length < 5 || !f[0]!.endsWith(":")) continue;
    const local = f[1]!;
    const port = Number.parseInt(local.slice(local.lastIndexOf(":") + 1), 16);
    if (ports.size > 0 && !ports.has(port)) continue;
    const q = f[4]!.split(":");
    const rx = Number.parseInt(q[1] ?? "", 16);
    if (Number.isFinite(rx)) sum += rx;
  }
  return sum;
}

const NET_FILES = ["/proc/net/udp", "/proc/net/udp6", "/proc/net/tcp", "/proc/net/tcp6"];

/** Reads the bytes waiting on `ports` over the four /proc/net files (missing files count 0). */
export async function readNetworkWaiting(ports: ReadonlySet<number>, files: readonly string[] = NET_FILES): Promise<number> {
  const texts = await Promise.all(files.map((f) => readFile(f, "latin1").catch(() => "")));
  return texts.reduce((s, t) => s + sumRxQueue(t, ports), 0);
}

/** Keeps the previous /proc/stat sample and gives the load since it. */
export class CpuSampler {
  private prev: CpuTicks | null = null;
  constructor(private readonly file = "/proc/stat") {}
  /** Load since the previous call (0 on the first call, as Kamailio), or null when unreadable. */
  async sample(): Promise<number | null> {
    const text = await readFile(this.file, "latin1").catch(() => null);
    const cur = text === null ? null : parseProcStat(text);
    if (cur === null) return null;
    const prev = this.prev;
    this.prev = cur;
    return prev === null ? 0 : cpuLoadBetween(prev, cur);
  }
}
