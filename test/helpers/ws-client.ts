/**
 * A small SIP user agent for the transport tests, over WebSocket (RFC 7118, with `ws`), WSS,
 * TLS, TCP or UDP. sipp has no WebSocket and this machine's sipp is built without TLS, so calls
 * that cross those transports use this UA on that side. It acts as
 *   - UAC: `call()` sends INVITE, ACKs the 200, then BYE along the learnt route set;
 *   - UAS: `answer()` answers INVITEs (180, 200 echoing Record-Route), replies 200 to BYE, and
 *     can hang up itself (`byeAfterMs`), so requests in both dialog directions are exercised.
 * A WebSocket UAC behaves like a browser: Via/Contact host `*.invalid`, so the proxy can only
 * reach it over its connection (flow token / alias).
 */
import dgram from "node:dgram";
import net from "node:net";
import tls from "node:tls";
import http from "node:http";
import https from "node:https";
import { randomBytes } from "node:crypto";
import { WebSocket, WebSocketServer } from "ws";
import type { SipMessage } from "../../data-plane/core/sip/message.js";
import { parseMessage } from "../../data-plane/core/sip/parse.js";
import { StreamFramer } from "../../data-plane/core/transport/stream-framer.js";
import { letTimePass } from "../kit/wait.js";

export type UaTransport = "udp" | "tcp" | "tls" | "ws" | "wss";

export interface UaTlsOptions {
  ca?: string | Buffer;
  cert?: string | Buffer;
  key?: string | Buffer;
  servername?: string;
  rejectUnauthorized?: boolean;
}

export interface UaConnectOptions {
  transport: UaTransport;
  /** The proxy. */
  host: string;
  port: number;
  user?: string;
  tls?: UaTlsOptions;
  /** WebSocket Origin header (browsers always send one). */
  origin?: string;
  /** WebSocket subprotocols offered (default ["sip"]). */
  protocols?: string[];
  /** Local address for UDP. */
  localHost?: string;
}

export interface UaListenOptions {
  transport: UaTransport;
  host: string;
  port: number;
  user?: string;
  tls?: { cert: Buffer | string; key: Buffer | string };
}

interface Link {
  send(text: string): void;
  close(): void;
}

interface Received {
  msg: SipMessage;
  link: Link;
}

const rnd = (n = 6) => randomBytes(n).toString("hex");

/** A dialog as the UA sees it. */
interface Dialog {
  callId: string;
  localTag: string;
  remoteTag: string;
  localUri: string;
  remoteUri: string;
  remoteTarget: string;
  routes: string[];
  cseq: number;
  link: Link;
}

export interface CallResult {
  inviteStatus: number;
  byeStatus: number;
  /** Record-Route values of the 200 OK, top first. */
  recordRoute: string[];
  /** Body of the final reply to the INVITE (the SDP answer). */
  answerSdp?: string;
}

export class SipUa {
  readonly received: SipMessage[] = [];
  /** Dialogs established as UAS (by Call-ID). */
  readonly dialogs = new Map<string, Dialog>();
  private readonly waiters = new Set<{ pred: (m: SipMessage) => boolean; resolve: (m: SipMessage) => void }>();
  private readonly links = new Set<Link>();
  private closers: Array<() => void> = [];
  /** Address written into Via/Contact. */
  viaHost: string;
  viaPort: number;
  private outbound: Link | null = null;
  answering = false;
  byeAfterMs = -1;
  /** Status the UAS answers INVITEs with. */
  answerStatus = 200;
  readonly byesReceived: SipMessage[] = [];
  readonly byeResults: number[] = [];

  private constructor(
    readonly transport: UaTransport,
    readonly user: string,
  ) {
    this.viaHost = "";
    this.viaPort = 0;
  }

  get viaProto(): string {
    return this.transport.toUpperCase();
  }

  /** Connects to the proxy (client side). */
  static async connect(o: UaConnectOptions): Promise<SipUa> {
    const ua = new SipUa(o.transport, o.user ?? "alice");
    const host = o.host.includes(":") ? `[${o.host}]` : o.host;
    if (o.transport === "ws" || o.transport === "wss") {
      const ws = new WebSocket(`${o.transport}://${host}:${o.port}/`, o.protocols ?? ["sip"], {
        ...(o.origin ? { origin: o.origin } : {}),
        ...(o.tls ?? {}),
      });
      await new Promise<void>((resolve, reject) => {
        ws.once("open", () => resolve());
        ws.once("error", reject);
        ws.once("unexpected-response", (_req, res) => reject(new Error(`websocket refused: HTTP ${res.statusCode}`)));
      });
      const link: Link = { send: (t) => ws.send(t), close: () => ws.terminate() };
      ws.on("message", (d) => ua.onBytes(Buffer.from(d as Buffer), link));
      ws.on("error", () => {});
      ua.outbound = link;
      ua.closers.push(() => ws.terminate());
      ua.viaHost = `${rnd(5)}.invalid`;
      ua.viaPort = 0;
      return ua;
    }
    if (o.transport === "udp") {
      const s = dgram.createSocket(o.host.includes(":") ? "udp6" : "udp4");
      await new Promise<void>((r) => s.bind(0, o.localHost ?? (o.host.includes(":") ? "::1" : "127.0.0.1"), () => r()));
      const link: Link = { send: (t) => s.send(Buffer.from(t, "latin1"), o.port, o.host), close: () => s.close() };
      s.on("message", (m) => ua.onBytes(m, link));
      ua.outbound = link;
      ua.closers.push(() => s.close());
      ua.viaHost = s.address().address;
      ua.viaPort = s.address().port;
      return ua;
    }
    const sock =
      o.transport === "tls"
        ? tls.connect({ host: o.host, port: o.port, ...(o.tls ?? {}), servername: o.tls?.servername })
        : net.connect({ host: o.host, port: o.port });
    await new Promise<void>((resolve, reject) => {
      sock.once(o.transport === "tls" ? "secureConnect" : "connect", () => resolve());
      sock.once("error", reject);
      sock.once("close", () => reject(new Error("connection closed before it was established")));
    });
    const link = ua.streamLink(sock);
    ua.outbound = link;
    ua.viaHost = sock.localAddress!.replace(/^::ffff:/, "");
    ua.viaPort = sock.localPort!;
    return ua;
  }

  /** Listens for requests from the proxy (server side, a UAS the proxy connects to). */
  static async listen(o: UaListenOptions): Promise<SipUa> {
    const ua = new SipUa(o.transport, o.user ?? "bob");
    ua.viaHost = o.host;
    if (o.transport === "udp") {
      const s = dgram.createSocket(o.host.includes(":") ? "udp6" : "udp4");
      await new Promise<void>((r) => s.bind(o.port, o.host, () => r()));
      s.on("message", (m, r) => ua.onBytes(m, { send: (t) => s.send(Buffer.from(t, "latin1"), r.port, r.address), close: () => {} }));
      ua.closers.push(() => s.close());
      ua.viaPort = s.address().port;
      return ua;
    }
    let server: net.Server;
    if (o.transport === "ws" || o.transport === "wss") {
      const httpServer = o.transport === "wss" ? https.createServer({ cert: o.tls!.cert, key: o.tls!.key }) : http.createServer();
      const wss = new WebSocketServer({ server: httpServer, handleProtocols: (p) => (p.has("sip") ? "sip" : false) });
      wss.on("connection", (ws) => {
        const link: Link = { send: (t) => ws.send(t), close: () => ws.terminate() };
        ua.links.add(link);
        ws.on("message", (d) => ua.onBytes(Buffer.from(d as Buffer), link));
        ws.on("error", () => {});
      });
      ua.closers.push(() => {
        for (const c of wss.clients) c.terminate();
        wss.close();
      });
      server = httpServer;
    } else if (o.transport === "tls") {
      server = tls.createServer({ cert: o.tls!.cert, key: o.tls!.key }, (s) => ua.streamLink(s));
    } else {
      server = net.createServer((s) => ua.streamLink(s));
    }
    await new Promise<void>((r) => server.listen(o.port, o.host, () => r()));
    ua.viaPort = (server.address() as net.AddressInfo).port;
    ua.closers.push(() => server.close());
    return ua;
  }

  private streamLink(sock: net.Socket): Link {
    const framer = new StreamFramer(65535);
    const link: Link = { send: (t) => sock.write(Buffer.from(t, "latin1")), close: () => sock.destroy() };
    this.links.add(link);
    sock.on("data", (d: Buffer) => {
      for (const ev of framer.push(d)) if (ev.kind === "message") this.onBytes(ev.data, link);
    });
    sock.on("error", () => {});
    sock.on("close", () => this.links.delete(link));
    this.closers.push(() => sock.destroy());
    return link;
  }

  private onBytes(data: Buffer, link: Link): void {
    const r = parseMessage(data);
    if (!r.ok) return;
    const msg = r.msg;
    this.received.push(msg);
    for (const w of [...this.waiters]) {
      if (w.pred(msg)) {
        this.waiters.delete(w);
        w.resolve(msg);
      }
    }
    if (msg.isRequest) this.onRequest({ msg, link });
  }

  /** Resolves with the first message (received before or after the call) matching `pred`. */
  wait(pred: (m: SipMessage) => boolean, timeoutMs = 5000, since = 0): Promise<SipMessage> {
    const have = this.received.slice(since).find(pred);
    if (have) return Promise.resolve(have);
    return new Promise((resolve, reject) => {
      const w = {
        pred,
        resolve: (m: SipMessage) => {
          clearTimeout(t);
          resolve(m);
        },
      };
      const t = setTimeout(() => {
        this.waiters.delete(w);
        reject(new Error(`timeout; received: ${this.received.map((m) => (m.isRequest ? m.method : m.status)).join(",")}`));
      }, timeoutMs);
      this.waiters.add(w);
    });
  }

  private contact(): string {
    const h = this.viaHost.includes(":") ? `[${this.viaHost}]` : this.viaHost;
    const port = this.viaPort ? `:${this.viaPort}` : "";
    const ob = this.transport === "ws" || this.transport === "wss" ? ";ob" : "";
    return `<sip:${this.user}@${h}${port};transport=${this.transport}${ob}>`;
  }

  private via(branch: string): string {
    const h = this.viaHost.includes(":") ? `[${this.viaHost}]` : this.viaHost;
    const port = this.viaPort ? `:${this.viaPort}` : "";
    return `SIP/2.0/${this.viaProto} ${h}${port};branch=z9hG4bK${branch};rport`;
  }

  /** Sends a request and resolves with its final response (provisionals are skipped). */
  async request(link: Link, method: string, ruri: string, headers: string[], body = "", timeoutMs = 8000): Promise<SipMessage> {
    const branch = rnd(8);
    const mark = this.received.length;
    const text =
      `${method} ${ruri} SIP/2.0\r\nVia: ${this.via(branch)}\r\nMax-Forwards: 70\r\n` +
      headers.map((h) => `${h}\r\n`).join("") +
      `Content-Length: ${Buffer.byteLength(body, "latin1")}\r\n\r\n${body}`;
    link.send(text);
    if (method === "ACK") return null as unknown as SipMessage;
    return this.wait((m) => !m.isRequest && m.topVia.branch === `z9hG4bK${branch}` && m.status >= 200, timeoutMs, mark);
  }

  /**
   * Places a call through the proxy: INVITE → 200 → ACK → (hold) → BYE → 200.
   * With `expectBye`, waits for the callee to hang up instead of sending BYE.
   */
  async call(ruri: string, opts: { holdMs?: number; expectBye?: boolean; timeoutMs?: number; sdp?: string; beforeBye?: (r: CallResult) => Promise<void> } = {}): Promise<CallResult> {
    const link = this.outbound;
    if (!link) throw new Error("call() needs a connected UA");
    const callId = `${rnd(8)}@olelo.test`;
    const tag = rnd(4);
    const from = `<sip:${this.user}@olelo.test>;tag=${tag}`;
    const to = `<${ruri}>`;
    const sdp = opts.sdp ?? "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 4000 RTP/AVP 0\r\n";
    const inv = await this.request(
      link,
      "INVITE",
      ruri,
      [`From: ${from}`, `To: ${to}`, `Call-ID: ${callId}`, "CSeq: 1 INVITE", `Contact: ${this.contact()}`, "Content-Type: application/sdp"],
      sdp,
      opts.timeoutMs,
    );
    if (inv.status >= 300) {
      return { inviteStatus: inv.status, byeStatus: 0, recordRoute: [] };
    }
    const rr = inv.headerValues("record-route");
    const routes = [...rr].reverse();
    const contacts = inv.contacts();
    const target = contacts === "*" || contacts.length === 0 ? ruri : contacts[0]!.uriText;
    const toHdr = inv.header("to")!;
    const dlgHeaders = (cseq: string) => [`From: ${from}`, `To: ${toHdr}`, `Call-ID: ${callId}`, `CSeq: ${cseq}`, ...routes.map((r) => `Route: ${r}`)];
    await this.request(link, "ACK", target, dlgHeaders("1 ACK"));
    if (opts.expectBye) {
      const bye = await this.wait((m) => m.isRequest && m.method === "BYE" && m.callId === callId, opts.timeoutMs ?? 8000);
      return { inviteStatus: inv.status, byeStatus: bye ? 200 : 0, recordRoute: rr };
    }
    if (opts.holdMs) await letTimePass(opts.holdMs, "the call is held up this long");
    await opts.beforeBye?.({ inviteStatus: inv.status, byeStatus: 0, recordRoute: rr, answerSdp: inv.body });
    const bye = await this.request(link, "BYE", target, dlgHeaders("2 BYE"), "", opts.timeoutMs);
    return { inviteStatus: inv.status, byeStatus: bye.status, recordRoute: rr, answerSdp: inv.body };
  }

  /** REGISTER through the proxy (the Contact is the UA's own, `*.invalid` for WebSocket). */
  async register(registrarUri: string, expires = 300): Promise<SipMessage> {
    const link = this.outbound;
    if (!link) throw new Error("register() needs a connected UA");
    const aor = `<sip:${this.user}@olelo.test>`;
    return this.request(link, "REGISTER", registrarUri, [`From: ${aor};tag=${rnd(4)}`, `To: ${aor}`, `Call-ID: ${rnd(8)}@reg`, "CSeq: 1 REGISTER", `Contact: ${this.contact()};expires=${expires}`]);
  }

  /** Answers INVITEs (180 + answerStatus), ACKs are absorbed, BYEs get 200. */
  answer(opts: { byeAfterMs?: number; status?: number } = {}): this {
    this.answering = true;
    this.byeAfterMs = opts.byeAfterMs ?? -1;
    this.answerStatus = opts.status ?? 200;
    return this;
  }

  private reply(req: SipMessage, link: Link, status: number, reason: string, extra: string[] = [], toTag?: string, body = ""): void {
    let out = `SIP/2.0 ${status} ${reason}\r\n`;
    for (const v of req.headerAll("via")) out += `Via: ${v}\r\n`;
    out += `From: ${req.header("from")}\r\n`;
    const to = req.header("to")!;
    out += `To: ${to}${toTag && req.toTag === null ? `;tag=${toTag}` : ""}\r\n`;
    out += `Call-ID: ${req.callId}\r\nCSeq: ${req.header("cseq")}\r\n`;
    for (const h of extra) out += `${h}\r\n`;
    out += `Content-Length: ${Buffer.byteLength(body, "latin1")}\r\n\r\n${body}`;
    link.send(out);
  }

  private onRequest({ msg, link }: Received): void {
    if (!this.answering) return;
    const m = msg.method;
    if (m === "INVITE") {
      const tag = rnd(4);
      const rr = msg.headerAll("record-route").map((v) => `Record-Route: ${v}`);
      this.reply(msg, link, 180, "Ringing", [...rr, `Contact: ${this.contact()}`], tag);
      if (this.answerStatus >= 300) {
        this.reply(msg, link, this.answerStatus, "Refused", [], tag);
        return;
      }
      const sdp = "v=0\r\no=- 2 2 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 4002 RTP/AVP 0\r\n";
      this.reply(msg, link, 200, "OK", [...rr, `Contact: ${this.contact()}`, "Content-Type: application/sdp"], tag, sdp);
      const contacts = msg.contacts();
      this.dialogs.set(msg.callId, {
        callId: msg.callId,
        localTag: tag,
        remoteTag: msg.fromTag ?? "",
        localUri: msg.header("to")!,
        remoteUri: msg.header("from")!,
        remoteTarget: contacts === "*" || contacts.length === 0 ? "" : contacts[0]!.uriText,
        routes: msg.headerValues("record-route"),
        cseq: 100,
        link,
      });
    } else if (m === "ACK") {
      const d = this.dialogs.get(msg.callId);
      if (d && this.byeAfterMs >= 0) setTimeout(() => void this.hangup(d), this.byeAfterMs);
    } else if (m === "BYE") {
      this.byesReceived.push(msg);
      this.reply(msg, link, 200, "OK");
    } else if (m === "OPTIONS" || m === "MESSAGE") {
      this.reply(msg, link, 200, "OK");
    }
  }

  /** UAS-side BYE along the dialog's route set, over the link the INVITE came in on. */
  private async hangup(d: Dialog): Promise<void> {
    const headers = [`From: ${d.localUri};tag=${d.localTag}`, `To: ${d.remoteUri}`, `Call-ID: ${d.callId}`, `CSeq: ${++d.cseq} BYE`, ...d.routes.map((r) => `Route: ${r}`)];
    try {
      const r = await this.request(d.link, "BYE", d.remoteTarget, headers);
      this.byeResults.push(r.status);
    } catch {
      this.byeResults.push(0);
    }
  }

  /** Sends raw text on the outbound link (bad-input tests). */
  sendRaw(text: string): void {
    this.outbound?.send(text);
  }

  close(): void {
    for (const c of this.closers) {
      try {
        c();
      } catch {
        /* already closed */
      }
    }
    this.closers = [];
  }
}
