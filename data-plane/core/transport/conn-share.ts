/**
 * Stream connections reachable from every worker (`workers: N`, core/workers/README.md
 * "Connections across workers"). A TCP, TLS, WS or WSS connection lives in the worker that
 * accepted or opened it; this worker's TransportLayer records it (and its aliases) in the node's
 * connection directory (core/workers/conn-directory.ts). When the transport of another worker has
 * to send to `proto ip:port` and holds no connection there, it hands the bytes to the owner, which
 * writes them on its connection (`send`); if the owner has none any more, or is not running, the
 * sender is told (`fail`) and treats it as a connection that failed (SipCore.connectionFailed:
 * the waiting branch gets 503 at once, as for a lost connection in one process).
 *
 * Replies travel the other way: a reply that arrives on a worker's connection for a transaction of
 * another worker (the branch names the worker, see SipCore.setWorker) is handed whole to that
 * worker (`reply`), which processes it as if received there.
 *
 * Messages on the NodeShared channel "transport.conn", through the primary: the bytes are copied
 * once (structured clone). UDP and sends on a worker's own connections never come here.
 */
import type { Endpoint, TransportProto } from "../../../lib/sip/types.js";
import { createLogger } from "../../../lib/log/logger.js";
import type { NodeShared } from "../workers/node-shared.js";
import { ConnDirectory } from "../workers/conn-directory.js";
import type { ListenSocket } from "./listen-socket.js";
import type { Connection, SharedConnections } from "./transport-layer.js";

const log = createLogger("transport");
const CHANNEL = "transport.conn";

/** What ConnShare needs of the transport layer (no import of the class: no cycle). */
export interface ShareHost {
  readonly sockets: readonly ListenSocket[];
  findConnection(proto: TransportProto, address: string, port: number): Connection | undefined;
  onConnectFailed: ((dest: Endpoint) => void) | null;
  /** Hands a message to the core as received on `sock` (no tap: the receiving worker tapped it). */
  deliverRelayed(data: Buffer, src: Endpoint, sock: ListenSocket): void;
}

type ConnMsg =
  | { k: "send"; p: TransportProto; a: string; n: number; d: Uint8Array }
  | { k: "fail"; p: TransportProto; a: string; n: number }
  | { k: "reply"; p: TransportProto; a: string; n: number; s: number; d: Uint8Array };

export class ConnShare implements SharedConnections {
  readonly dir: ConnDirectory;
  readonly index: number;
  /** Figures for core.tcp_info (summed over the workers by the primary). */
  readonly stats = { relayed_out: 0, relayed_in: 0, relay_failed: 0, replies_out: 0, replies_in: 0, directory_full: 0 };
  /** Directory keys this worker wrote, per connection id (erased when it closes). */
  private readonly keys = new Map<number, Array<[TransportProto, string, number]>>();

  constructor(
    private readonly host: ShareHost,
    private readonly node: NodeShared,
    maxConnections: number,
  ) {
    // room for every worker's connections and an alias each, at most half full
    let slots = 1024;
    while (slots < maxConnections * node.count * 4 && slots < 1 << 20) slots *= 2;
    this.dir = new ConnDirectory(node.sharedInt32("transport.conns", ConnDirectory.cells(slots)), slots);
    this.index = node.index;
    // what this worker's previous life (a restart) left: its connections died with it
    const stale = this.dir.purgeOwner(this.index);
    if (stale > 0) log.info("connection directory: erased the entries of this worker's previous run", { worker: this.index, entries: stale });
    node.on(CHANNEL, (m, from) => this.onMessage(m as ConnMsg, from));
  }

  /** A connection of this worker opened (or got an alias): the other workers can reach it by proto address:port. */
  opened(conn: Connection, address: string, port: number): void {
    if (!this.dir.add(conn.proto, address, port, this.index, conn.id)) {
      this.stats.directory_full++;
      return;
    }
    let ks = this.keys.get(conn.id);
    if (!ks) this.keys.set(conn.id, (ks = []));
    ks.push([conn.proto, address, port]);
  }

  closed(conn: Connection): void {
    const ks = this.keys.get(conn.id);
    if (!ks) return;
    this.keys.delete(conn.id);
    for (const [p, a, n] of ks) this.dir.remove(p, a, n, this.index, conn.id);
  }

  /** Sends through the worker holding a connection to dest; false when no other worker holds one. */
  relay(dest: Endpoint, data: Buffer): boolean {
    const owner = this.dir.lookup(dest.proto, dest.address, dest.port);
    if (owner < 0 || owner === this.index) return false;
    this.stats.relayed_out++;
    this.node.sendTo(owner, CHANNEL, { k: "send", p: dest.proto, a: dest.address, n: dest.port, d: data } satisfies ConnMsg);
    return true;
  }

  /** Hands a reply received here to the worker owning its transaction. */
  forwardReply(worker: number, data: Buffer, src: Endpoint, sock: ListenSocket): boolean {
    const s = this.host.sockets.indexOf(sock);
    if (s < 0 || worker === this.index || worker < 0 || worker >= this.node.count) return false;
    this.stats.replies_out++;
    this.node.sendTo(worker, CHANNEL, { k: "reply", p: src.proto, a: src.address, n: src.port, s, d: data } satisfies ConnMsg);
    return true;
  }

  private onMessage(m: ConnMsg, from: number): void {
    const dest: Endpoint = { proto: m.p, address: m.a, port: m.n };
    if (from < 0 || m.k === "fail") {
      // the owner had no connection any more, or is not running: fail as a lost connection does
      if (m.k === "reply") return;
      this.stats.relay_failed++;
      log.debug("relayed send failed: the connection is gone", { dest: `${m.p}:${m.a}:${m.n}` });
      this.host.onConnectFailed?.(dest);
      return;
    }
    const data = Buffer.from(m.d.buffer, m.d.byteOffset, m.d.byteLength);
    if (m.k === "reply") {
      const sock = this.host.sockets[m.s];
      if (!sock) return;
      this.stats.replies_in++;
      this.host.deliverRelayed(data, dest, sock);
      return;
    }
    const conn = this.host.findConnection(m.p, m.a, m.n);
    if (!conn || conn.closed || !conn.send(data)) {
      this.node.sendTo(from, CHANNEL, { k: "fail", p: m.p, a: m.a, n: m.n } satisfies ConnMsg);
      return;
    }
    this.stats.relayed_in++;
  }
}

/**
 * The branch prefix of worker `index` of a node whose workers share `token`:
 * `z9hG4bK-ole<token>w<index>.`; `workerOfBranch` reads the index back (-1: not one of ours).
 */
export function workerBranchPrefix(token: string, index: number): string {
  return `z9hG4bK-ole${token}w${index}.`;
}

export function workerOfBranch(token: string, branch: string): number {
  const head = `z9hG4bK-ole${token}w`;
  if (!branch.startsWith(head)) return -1;
  const dot = branch.indexOf(".", head.length);
  if (dot < 0 || dot === head.length || dot > head.length + 4) return -1;
  const n = Number(branch.slice(head.length, dot));
  return Number.isInteger(n) ? n : -1;
}
