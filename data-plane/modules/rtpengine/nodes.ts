import dgram from "node:dgram";
import { randomBytes } from "node:crypto";
import { bdecode, bencode, type BValue } from "./bencode.js";

/** One rtpengine instance (a row of Kamailio's `rtpengine` table or an `rtpengine_sock` entry). */
export interface RtpNode {
  readonly setid: number;
  /** As configured: `udp:host:port` (Kamailio also accepts `host:port`). */
  readonly url: string;
  readonly host: string;
  readonly port: number;
  readonly weight: number;
  /** Disabled by the operator (table `disabled` / rtpengine.enable 0): never selected, never re-enabled by pings. */
  adminDisabled: boolean;
  /** Disabled after a timeout until this time (ms since epoch); 0 = usable. */
  downUntil: number;
  /** Whether the node stays down until a ping answers (rtpengine.enable 0 over a timeout is adminDisabled). */
  readonly origin: "param" | "table";
}

export type NgDict = { [key: string]: BValue };

export class NgTimeout extends Error {}

/** Parses one `rtpengine_sock` / table url: `udp:host:port`, `udp6:[v6]:port`, or `host:port`. */
export function parseUrl(url: string): { host: string; port: number } | null {
  const m = /^(?:udp6?:)?(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+):(\d{1,5})$/.exec(url.trim());
  if (!m) return null;
  const port = Number(m[2]);
  if (port < 1 || port > 65535) return null;
  return { host: m[1]!.replace(/^\[|\]$/g, ""), port };
}

/**
 * Parses Kamailio's `rtpengine_sock`: entries separated by spaces, each `url[=weight]`, optionally
 * grouped as `<setid> == url url …` with groups separated by `;`. Throws on a bad entry.
 */
export function parseSockParam(text: string): RtpNode[] {
  const out: RtpNode[] = [];
  for (const group of text.split(";")) {
    let g = group.trim();
    if (!g) continue;
    let setid = 0;
    const eq = /^(\d+)\s*==\s*/.exec(g);
    if (eq) {
      setid = Number(eq[1]);
      g = g.slice(eq[0].length);
    }
    for (const entry of g.split(/\s+/)) {
      if (!entry) continue;
      const w = /^(.*?)=(\d+)$/.exec(entry);
      const url = w ? w[1]! : entry;
      const weight = w ? Number(w[2]) : 1;
      const hp = parseUrl(url);
      if (!hp) throw new Error(`rtpengine: bad rtpengine_sock entry '${entry}' (want udp:host:port[=weight])`);
      out.push({ setid, url, ...hp, weight, adminDisabled: false, downUntil: 0, origin: "param" });
    }
  }
  return out;
}

/** FNV-1a over the Call-ID: the same call always hashes to the same node of a set. */
export function callHash(callId: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < callId.length; i++) {
    h ^= callId.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h;
}

/** Weighted pick among usable nodes, by the call's hash (Kamailio's select_rtpp_node). */
export function pickNode(nodes: readonly RtpNode[], callId: string, now: number, skip: ReadonlySet<RtpNode> = new Set()): RtpNode | null {
  const usable = nodes.filter((n) => !n.adminDisabled && n.downUntil <= now && !skip.has(n) && n.weight > 0);
  if (usable.length === 0) return null;
  const total = usable.reduce((s, n) => s + n.weight, 0);
  let x = callHash(callId) % total;
  for (const n of usable) {
    if (x < n.weight) return n;
    x -= n.weight;
  }
  return usable[usable.length - 1]!;
}

interface Pending {
  resolve(v: NgDict): void;
  reject(e: Error): void;
  timer: NodeJS.Timeout | null;
}

/**
 * The ng control channel: one UDP socket, a random cookie per command, replies matched by cookie,
 * a resend every `timeoutMs` up to `retries` sends, then NgTimeout. Never blocks.
 */
export class NgClient {
  private sock4: dgram.Socket | null = null;
  private sock6: dgram.Socket | null = null;
  private readonly pending = new Map<string, Pending>();
  private seq = 0;
  private readonly prefix = randomBytes(4).toString("hex");

  private socketFor(host: string): dgram.Socket {
    const v6 = host.includes(":");
    let s = v6 ? this.sock6 : this.sock4;
    if (s) return s;
    s = dgram.createSocket(v6 ? "udp6" : "udp4");
    s.on("message", (m) => this.onMessage(m));
    s.on("error", () => {});
    s.unref();
    if (v6) this.sock6 = s;
    else this.sock4 = s;
    return s;
  }

  private onMessage(m: Buffer): void {
    const sp = m.indexOf(0x20);
    if (sp <= 0) return;
    const cookie = m.toString("latin1", 0, sp);
    const p = this.pending.get(cookie);
    if (!p) return; // late reply to a resend
    this.pending.delete(cookie);
    if (p.timer) clearTimeout(p.timer);
    try {
      const v = bdecode(m.subarray(sp + 1));
      if (!v || typeof v !== "object" || Array.isArray(v)) throw new Error("rtpengine: reply is not a dictionary");
      p.resolve(v);
    } catch (e) {
      p.reject(e instanceof Error ? e : new Error(String(e)));
    }
  }

  /** Sends one command and resolves with the reply dictionary (any `result`, errors included). */
  send(node: { host: string; port: number }, cmd: NgDict, timeoutMs: number, retries: number): Promise<NgDict> {
    const cookie = `${this.prefix}_${(++this.seq).toString(36)}`;
    const data = Buffer.concat([Buffer.from(cookie + " ", "latin1"), bencode(cmd)]);
    const sock = this.socketFor(node.host);
    return new Promise<NgDict>((resolve, reject) => {
      let left = Math.max(1, retries);
      const p: Pending = { resolve, reject, timer: null };
      const fire = () => {
        if (left-- <= 0) {
          this.pending.delete(cookie);
          reject(new NgTimeout(`rtpengine ${node.host}:${node.port} did not answer`));
          return;
        }
        sock.send(data, node.port, node.host);
        p.timer = setTimeout(fire, timeoutMs);
      };
      this.pending.set(cookie, p);
      fire();
    });
  }

  close(): void {
    for (const p of this.pending.values()) {
      if (p.timer) clearTimeout(p.timer);
      p.reject(new Error("rtpengine: module stopped"));
    }
    this.pending.clear();
    this.sock4?.close();
    this.sock6?.close();
    this.sock4 = this.sock6 = null;
  }
}
