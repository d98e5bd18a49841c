import dgram from "node:dgram";
import net from "node:net";
import { getServers } from "node:dns";
import { randomInt } from "node:crypto";
import { decodeResponse, encodeQuery, type DnsResponse } from "./dns-wire.js";

/** A name server address. */
export interface DnsServer {
  address: string;
  port: number;
}

/** Thrown when no server answered (timeouts or unreachable servers). */
export class DnsTimeoutError extends Error {
  override readonly name = "DnsTimeoutError";
}

interface Pending {
  name: string;
  type: number;
  resolve: (r: DnsResponse) => void;
  reject: (e: Error) => void;
  timer: NodeJS.Timeout;
}

/** Parses `ip`, `ip:port`, `[v6]:port` server strings (node:dns getServers() format too). */
export function parseServer(s: string): DnsServer {
  const m = /^\[([^\]]+)\](?::(\d+))?$/.exec(s);
  if (m) return { address: m[1]!, port: m[2] ? Number(m[2]) : 53 };
  if (net.isIP(s) === 6) return { address: s, port: 53 };
  const i = s.lastIndexOf(":");
  if (i > 0 && net.isIP(s.slice(0, i)) === 4) return { address: s.slice(0, i), port: Number(s.slice(i + 1)) };
  if (net.isIP(s) === 4) return { address: s, port: 53 };
  throw new Error(`bad DNS server '${s}' (want ip or ip:port)`);
}

/**
 * A stub resolver's transport: recursive queries over UDP to the configured servers (the
 * system's from resolv.conf when none are given, via node:dns getServers), the next server on
 * timeout, TCP when the answer is truncated (RFC 7766). One UDP socket per address family.
 */
export class DnsClient {
  readonly servers: DnsServer[];
  private readonly sockets = new Map<4 | 6, dgram.Socket>();
  private readonly pending = new Map<number, Pending>();
  queries = 0;
  timeouts = 0;

  constructor(
    servers: readonly string[],
    private readonly timeoutMs: number,
    private readonly tries: number,
  ) {
    const list = servers.length ? servers : getServers();
    this.servers = list.map(parseServer);
    if (this.servers.length === 0) this.servers.push({ address: "127.0.0.1", port: 53 });
  }

  /** Sends a query, trying each server `tries` times in turn; rejects with DnsTimeoutError. */
  async query(name: string, type: number): Promise<DnsResponse> {
    let lastErr: Error = new DnsTimeoutError(`no answer for ${name}`);
    for (let attempt = 0; attempt < this.tries; attempt++) {
      for (const srv of this.servers) {
        try {
          const r = await this.queryUdp(srv, name, type);
          if (r.truncated) return await this.queryTcp(srv, name, type);
          if (r.rcode === 2 || r.rcode === 5) {
            lastErr = new Error(`DNS server ${srv.address} answered rcode ${r.rcode} for ${name}`);
            continue; // SERVFAIL / REFUSED: try the next server
          }
          return r;
        } catch (e) {
          lastErr = e as Error;
        }
      }
    }
    throw lastErr;
  }

  private socket(family: 4 | 6): dgram.Socket {
    let s = this.sockets.get(family);
    if (!s) {
      s = dgram.createSocket(family === 6 ? "udp6" : "udp4");
      s.on("message", (m) => this.onMessage(m));
      s.on("error", () => {});
      s.unref();
      this.sockets.set(family, s);
    }
    return s;
  }

  private onMessage(m: Buffer): void {
    if (m.length < 12) return;
    const p = this.pending.get(m.readUInt16BE(0));
    if (!p) return;
    let r: DnsResponse;
    try {
      r = decodeResponse(m);
    } catch (e) {
      this.settle(m.readUInt16BE(0));
      p.reject(e as Error);
      return;
    }
    // the answer must be for the question we asked (RFC 5452)
    if (!r.question || r.question.type !== p.type || r.question.name !== p.name.toLowerCase().replace(/\.$/, "")) return;
    this.settle(r.id);
    p.resolve(r);
  }

  private settle(id: number): void {
    const p = this.pending.get(id);
    if (!p) return;
    clearTimeout(p.timer);
    this.pending.delete(id);
  }

  private queryUdp(srv: DnsServer, name: string, type: number): Promise<DnsResponse> {
    return new Promise((resolve, reject) => {
      let id = randomInt(0, 65536);
      while (this.pending.has(id)) id = (id + 1) & 0xffff;
      const timer = setTimeout(() => {
        this.pending.delete(id);
        this.timeouts++;
        reject(new DnsTimeoutError(`DNS server ${srv.address}:${srv.port} did not answer for ${name}`));
      }, this.timeoutMs);
      this.pending.set(id, { name, type, resolve, reject, timer });
      this.queries++;
      const fam = net.isIP(srv.address) === 6 ? 6 : 4;
      this.socket(fam).send(encodeQuery(id, name, type), srv.port, srv.address, (err) => {
        if (err) {
          this.settle(id);
          reject(err);
        }
      });
    });
  }

  private queryTcp(srv: DnsServer, name: string, type: number): Promise<DnsResponse> {
    return new Promise((resolve, reject) => {
      const id = randomInt(0, 65536);
      const q = encodeQuery(id, name, type);
      const len = Buffer.alloc(2);
      len.writeUInt16BE(q.length);
      const sock = net.connect({ host: srv.address, port: srv.port });
      let buf = Buffer.alloc(0);
      const done = (e: Error | null, r?: DnsResponse) => {
        sock.destroy();
        if (e) reject(e);
        else resolve(r!);
      };
      sock.setTimeout(this.timeoutMs, () => done(new DnsTimeoutError(`DNS TCP query to ${srv.address} timed out`)));
      sock.on("error", (e) => done(e));
      sock.on("connect", () => sock.write(Buffer.concat([len, q])));
      sock.on("data", (d: Buffer) => {
        buf = Buffer.concat([buf, d]);
        if (buf.length < 2) return;
        const n = buf.readUInt16BE(0);
        if (buf.length < n + 2) return;
        try {
          done(null, decodeResponse(buf.subarray(2, n + 2)));
        } catch (e) {
          done(e as Error);
        }
      });
    });
  }

  close(): void {
    for (const p of this.pending.values()) {
      clearTimeout(p.timer);
      p.reject(new Error("DNS client closed"));
    }
    this.pending.clear();
    for (const s of this.sockets.values()) s.close();
    this.sockets.clear();
  }
}
