import { createSocket, type Socket } from "node:dgram";
import { randomBytes } from "node:crypto";
import { parseMessage } from "../../data-plane/core/sip/parse.js";
import type { SipMessage } from "../../data-plane/core/sip/message.js";

/**
 * A minimal UDP caller for e2e tests that must choose, per request, which proxy node gets it
 * (sipp sends everything to one address): INVITE / ACK / re-INVITE / BYE with the route set and
 * remote Contact learnt from the 200, answers to requests from the far side with 200. As a callee
 * it answers every request with 200 to the address the request came from (RFC 3261 §18.2.2
 * with rport), as a real UA does and sipp (which keeps one peer address per call) does not.
 */
export class RawCaller {
  private sock!: Socket;
  private waiters: Array<{ match: (m: SipMessage) => boolean; resolve: (m: SipMessage) => void }> = [];
  readonly received: SipMessage[] = [];
  callId = `${randomBytes(6).toString("hex")}@127.0.0.1`;
  fromTag = randomBytes(4).toString("hex");
  toTag = "";
  remoteTarget = "";
  routes: string[] = [];
  cseq = 1;
  private inviteBranch = "";

  /** `user`: the From user (e.g. the account a call limit counts). */
  constructor(
    readonly port: number,
    readonly user = "caller",
  ) {}

  async open(): Promise<void> {
    this.sock = createSocket("udp4");
    this.sock.on("message", (b, rinfo) => {
      const r = parseMessage(b);
      if (!r.ok) return;
      const m = r.msg;
      this.received.push(m);
      if (m.isRequest && m.method !== "ACK") this.answer(m, rinfo.port);
      for (const w of this.waiters.slice()) {
        if (w.match(m)) {
          this.waiters.splice(this.waiters.indexOf(w), 1);
          w.resolve(m);
        }
      }
    });
    await new Promise<void>((r) => this.sock.bind(this.port, "127.0.0.1", r));
  }

  close(): void {
    this.sock.close();
  }

  private answer(m: SipMessage, port: number): void {
    const lines = [`SIP/2.0 200 OK`];
    for (const f of m.fields) {
      if (f.name !== "via" && f.name !== "from" && f.name !== "to" && f.name !== "call-id" && f.name !== "cseq" && f.name !== "record-route") continue;
      const line = m.raw.slice(f.start, f.end).trimEnd();
      lines.push(f.name === "to" && m.toTag === null ? `${line};tag=${this.fromTag}` : line);
    }
    lines.push(`Contact: <sip:caller@127.0.0.1:${this.port}>`, "Content-Length: 0", "", "");
    this.sock.send(lines.join("\r\n"), port, "127.0.0.1");
  }

  private send(text: string, port: number): void {
    this.sock.send(text, port, "127.0.0.1");
  }

  /** Waits for a final reply to `method` (with a timeout). */
  private final(method: string, ms = 5000): Promise<SipMessage> {
    return this.waitFor((m) => !m.isRequest && m.status >= 200 && m.cseqOrNull?.method === method, ms);
  }

  waitFor(match: (m: SipMessage) => boolean, ms = 5000): Promise<SipMessage> {
    return new Promise((resolve, reject) => {
      const t = setTimeout(() => reject(new Error("raw caller: no matching message in time")), ms);
      this.waiters.push({ match, resolve: (m) => (clearTimeout(t), resolve(m)) });
    });
  }

  private request(method: string, ruri: string, cseq: number, extra: string[] = [], branch = `z9hG4bK${randomBytes(5).toString("hex")}`): string {
    if (method === "INVITE") this.inviteBranch = branch;
    return [
      `${method} ${ruri} SIP/2.0`,
      `Via: SIP/2.0/UDP 127.0.0.1:${this.port};branch=${branch};rport`,
      ...this.routes.map((r) => `Route: ${r}`),
      `From: <sip:${this.user}@caller.invalid>;tag=${this.fromTag}`,
      `To: <sip:callee@callee.invalid>${this.toTag ? `;tag=${this.toTag}` : ""}`,
      `Call-ID: ${this.callId}`,
      `CSeq: ${cseq} ${method}`,
      `Contact: <sip:caller@127.0.0.1:${this.port}>`,
      "Max-Forwards: 70",
      ...extra,
      "Content-Length: 0",
      "",
      "",
    ].join("\r\n");
  }

  /** INVITE to `proxyPort`; learns route set and remote target from the 200 and ACKs it (a failure: hop by hop). */
  async invite(proxyPort: number): Promise<SipMessage> {
    const ruri = `sip:callee@127.0.0.1:${proxyPort}`;
    const invite = this.request("INVITE", ruri, this.cseq);
    this.send(invite, proxyPort);
    // UDP: retransmit (T1 = 500 ms) until the proxy answers anything, as RFC 3261 timer A does
    const resend = setInterval(() => this.send(invite, proxyPort), 500);
    void this.waitFor((m) => !m.isRequest && m.cseqOrNull?.method === "INVITE", 5000).then(
      () => clearInterval(resend),
      () => clearInterval(resend),
    );
    const ok = await this.final("INVITE").finally(() => clearInterval(resend));
    if (ok.status >= 300) this.send(this.request("ACK", ruri, this.cseq, [], this.inviteBranch).replace(/^To: .*$/m, `To: <sip:callee@callee.invalid>;tag=${ok.toTag ?? ""}`), proxyPort);
    if (ok.status !== 200) return ok;
    this.toTag = ok.toTag ?? "";
    const c = ok.headerValues("contact")[0] ?? "";
    this.remoteTarget = c.replace(/^.*<([^>]*)>.*$/, "$1");
    this.routes = ok.headerValues("record-route").reverse();
    this.send(this.request("ACK", this.remoteTarget, this.cseq), proxyPort);
    return ok;
  }

  /** An in-dialog request (re-INVITE, BYE, UPDATE) sent to `proxyPort`; resolves with its final reply. */
  async inDialog(method: string, proxyPort: number): Promise<SipMessage> {
    const n = ++this.cseq;
    this.send(this.request(method, this.remoteTarget, n), proxyPort);
    const r = await this.final(method);
    if (method === "INVITE" && r.status === 200) this.send(this.request("ACK", this.remoteTarget, n), proxyPort);
    return r;
  }
}

/**
 * A callee that hangs up through the route set, as a real UA does: it answers each INVITE 200
 * (copying the Record-Route) to where it came from, and `holdMs` later sends the BYE from its one
 * socket to the first Route (the proxy's listen port) — sipp's UAS sends it to the proxy address
 * the INVITE came from instead, which with `workers: N` is the routing worker's own egress socket.
 */
export class RawCallee {
  private sock!: Socket;
  /** Call-IDs answered 200, and those whose BYE got its 200. */
  readonly answered = new Set<string>();
  readonly ended = new Set<string>();
  private readonly timers = new Set<NodeJS.Timeout>();
  /** First lines of the other replies to its BYEs. */
  readonly byeErrors: string[] = [];

  constructor(
    readonly port: number,
    private readonly holdMs: number,
  ) {}

  async open(): Promise<void> {
    this.sock = createSocket("udp4");
    this.sock.on("message", (b, rinfo) => {
      const r = parseMessage(b);
      if (!r.ok) return;
      const m = r.msg;
      if (!m.isRequest) {
        if (m.cseq.method !== "BYE" || m.status < 200) return;
        if (m.status === 200) this.ended.add(m.callId);
        else this.byeErrors.push(`${m.status} ${m.reason}`);
        return;
      }
      if (m.method === "ACK") return;
      const lines = [`SIP/2.0 200 OK`];
      for (const f of m.fields) {
        if (!["via", "from", "to", "call-id", "cseq", "record-route"].includes(f.name)) continue;
        const line = m.raw.slice(f.start, f.end).trimEnd();
        lines.push(f.name === "to" && m.toTag === null ? `${line};tag=callee` : line);
      }
      lines.push(`Contact: <sip:callee@127.0.0.1:${this.port}>`, "Content-Length: 0", "", "");
      this.sock.send(lines.join("\r\n"), rinfo.port, rinfo.address);
      if (m.method !== "INVITE" || this.answered.has(m.callId)) return;
      this.answered.add(m.callId);
      const routes = m.headerValues("record-route");
      const target = m.contacts();
      const ruri = target !== "*" && target.length > 0 ? target[0]!.uriText : m.from.uriText;
      const hop = /sip:([\d.]+):(\d+)/.exec(routes[0] ?? "");
      const bye = [
        `BYE ${ruri} SIP/2.0`,
        `Via: SIP/2.0/UDP 127.0.0.1:${this.port};branch=z9hG4bK-bye-${randomBytes(4).toString("hex")}`,
        ...routes.map((v) => `Route: ${v}`),
        `From: ${m.header("to")};tag=callee`,
        `To: ${m.header("from")}`,
        `Call-ID: ${m.callId}`,
        `CSeq: 1 BYE`,
        `Max-Forwards: 70`,
        `Content-Length: 0`,
        ``,
        ``,
      ].join("\r\n");
      const t = setTimeout(() => {
        this.timers.delete(t);
        this.sock.send(bye, Number(hop?.[2] ?? rinfo.port), hop?.[1] ?? rinfo.address);
      }, this.holdMs);
      this.timers.add(t);
    });
    await new Promise<void>((r) => this.sock.bind(this.port, "127.0.0.1", r));
  }

  close(): void {
    for (const t of this.timers) clearTimeout(t);
    this.sock.close();
  }
}
