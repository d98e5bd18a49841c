import net from "node:net";
import { randomBytes } from "node:crypto";
import { parseMessage } from "../../data-plane/core/sip/parse.js";
import type { SipMessage } from "../../data-plane/core/sip/message.js";

/**
 * A phone on one TCP connection to the proxy (as a UA behind NAT keeps it, RFC 5626 style): it
 * registers over that connection and answers everything that comes on it — INVITE 200 (with its
 * Contact and the Record-Route set), BYE 200; ACKs are counted. It never listens: a proxy that
 * tries to open a new connection to its Contact gets ECONNREFUSED.
 */
export class TcpUa {
  private sock!: net.Socket;
  private buf: Buffer = Buffer.alloc(0);
  private waiters: Array<{ match: (m: SipMessage) => boolean; resolve: (m: SipMessage) => void }> = [];
  readonly counts = { INVITE: 0, ACK: 0, BYE: 0, other: 0 };
  readonly tag = randomBytes(4).toString("hex");
  localPort = 0;
  closed = false;

  constructor(
    readonly user: string,
    readonly proxyPort: number,
  ) {}

  async open(): Promise<void> {
    this.sock = net.connect({ host: "127.0.0.1", port: this.proxyPort, noDelay: true });
    await new Promise<void>((resolve, reject) => {
      this.sock.once("connect", () => resolve());
      this.sock.once("error", reject);
    });
    this.localPort = this.sock.localPort!;
    this.sock.on("data", (c: Buffer) => this.onData(c));
    this.sock.on("error", () => {});
    this.sock.on("close", () => (this.closed = true));
  }

  get contact(): string {
    return `<sip:${this.user}@127.0.0.1:${this.localPort};transport=tcp>`;
  }

  async register(expires = 600): Promise<SipMessage> {
    const callId = randomBytes(6).toString("hex");
    this.send(
      [
        `REGISTER sip:127.0.0.1:${this.proxyPort};transport=tcp SIP/2.0`,
        `Via: SIP/2.0/TCP 127.0.0.1:${this.localPort};branch=z9hG4bK${randomBytes(5).toString("hex")};rport`,
        `From: <sip:${this.user}@127.0.0.1>;tag=${this.tag}`,
        `To: <sip:${this.user}@127.0.0.1>`,
        `Call-ID: ${callId}`,
        "CSeq: 1 REGISTER",
        `Contact: ${this.contact}`,
        `Expires: ${expires}`,
        "Max-Forwards: 70",
        "Content-Length: 0",
        "",
        "",
      ].join("\r\n"),
    );
    return this.waitFor((m) => !m.isRequest && m.cseqOrNull?.method === "REGISTER" && m.status >= 200, 10_000, "200 to REGISTER");
  }

  send(text: string): void {
    this.sock.write(text);
  }

  close(): Promise<void> {
    if (this.closed) return Promise.resolve();
    return new Promise((r) => {
      this.sock.once("close", () => r());
      this.sock.end();
    });
  }

  waitFor(match: (m: SipMessage) => boolean, ms: number, what: string): Promise<SipMessage> {
    return new Promise((resolve, reject) => {
      const t = setTimeout(() => reject(new Error(`${this.user}: no ${what} in ${ms} ms`)), ms);
      this.waiters.push({ match, resolve: (m) => (clearTimeout(t), resolve(m)) });
    });
  }

  private onData(chunk: Buffer): void {
    this.buf = this.buf.length ? Buffer.concat([this.buf, chunk]) : chunk;
    for (;;) {
      while (this.buf.length >= 2 && this.buf[0] === 13 && this.buf[1] === 10) this.buf = this.buf.subarray(2);
      const end = this.buf.indexOf("\r\n\r\n");
      if (end < 0) return;
      const head = this.buf.subarray(0, end).toString("latin1");
      const cl = Number(/\r\n(?:content-length|l)\s*:\s*(\d+)/i.exec(head)?.[1] ?? 0);
      if (this.buf.length < end + 4 + cl) return;
      const one = this.buf.subarray(0, end + 4 + cl);
      this.buf = this.buf.subarray(end + 4 + cl);
      const r = parseMessage(Buffer.from(one));
      if (r.ok) this.onMessage(r.msg);
    }
  }

  private onMessage(m: SipMessage): void {
    const w = this.waiters.find((x) => x.match(m));
    if (w) {
      this.waiters.splice(this.waiters.indexOf(w), 1);
      w.resolve(m);
    }
    if (!m.isRequest) return;
    if (m.method === "INVITE") {
      this.counts.INVITE++;
      this.answer(m, 200, "OK", [`Contact: ${this.contact}`]);
    } else if (m.method === "BYE") {
      this.counts.BYE++;
      this.answer(m, 200, "OK");
    } else if (m.method === "ACK") this.counts.ACK++;
    else {
      this.counts.other++;
      if (m.method !== "CANCEL") this.answer(m, 200, "OK");
    }
  }

  /** A reply with the request's Via, From, To (+ our tag), Call-ID, CSeq and Record-Route lines. */
  answer(req: SipMessage, status: number, reason: string, extra: string[] = []): void {
    const lines = [`SIP/2.0 ${status} ${reason}`];
    for (const f of req.fields) {
      if (!["via", "from", "to", "call-id", "cseq", "record-route"].includes(f.name)) continue;
      const line = req.raw.slice(f.start, f.end).trimEnd();
      lines.push(f.name === "to" && req.toTag === null ? `${line};tag=${this.tag}` : line);
    }
    lines.push(...extra, "Content-Length: 0", "", "");
    this.send(lines.join("\r\n"));
  }
}
