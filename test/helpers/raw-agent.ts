import { createSocket, type Socket } from "node:dgram";
import { randomBytes } from "node:crypto";
import { parseMessage } from "../../data-plane/core/sip/parse.js";
import type { SipMessage } from "../../data-plane/core/sip/message.js";

/**
 * A scripted UDP user agent for e2e tests that need to choose every reply (180, 302, 487 …) and
 * see every message: nothing is answered automatically. Requests and replies are plain text built
 * by the helpers below; everything received is kept in `received` (with its raw text, the capture).
 */
export class RawAgent {
  private sock!: Socket;
  private waiters: Array<{ match: (m: SipMessage) => boolean; resolve: (m: SipMessage) => void }> = [];
  readonly received: SipMessage[] = [];
  /** Received and not yet taken by a waitFor. */
  private readonly unclaimed: SipMessage[] = [];
  readonly tag = randomBytes(4).toString("hex");

  constructor(
    readonly port: number,
    readonly user: string,
  ) {}

  get contact(): string {
    return `<sip:${this.user}@127.0.0.1:${this.port}>`;
  }

  async open(): Promise<void> {
    this.sock = createSocket("udp4");
    this.sock.on("message", (b) => {
      const r = parseMessage(b);
      if (!r.ok) return;
      const m = r.msg;
      this.received.push(m);
      const w = this.waiters.find((x) => x.match(m));
      if (!w) {
        this.unclaimed.push(m);
        return;
      }
      this.waiters.splice(this.waiters.indexOf(w), 1);
      w.resolve(m);
    });
    await new Promise<void>((r) => this.sock.bind(this.port, "127.0.0.1", r));
  }

  close(): void {
    this.sock.close();
  }

  send(text: string, port: number): void {
    this.sock.send(text, port, "127.0.0.1");
  }

  /** The first matching message not taken yet (already received, or the next one to come). */
  waitFor(match: (m: SipMessage) => boolean, ms = 5000, what = "message"): Promise<SipMessage> {
    const i = this.unclaimed.findIndex(match);
    if (i >= 0) return Promise.resolve(this.unclaimed.splice(i, 1)[0]!);
    return new Promise((resolve, reject) => {
      const t = setTimeout(() => reject(new Error(`${this.user}@${this.port}: no ${what} in ${ms} ms`)), ms);
      this.waiters.push({ match, resolve: (m) => (clearTimeout(t), resolve(m)) });
    });
  }

  request(method: string, ms = 5000): Promise<SipMessage> {
    return this.waitFor((m) => m.isRequest && m.method === method, ms, method);
  }

  reply(method: string, status: number, ms = 5000): Promise<SipMessage> {
    return this.waitFor((m) => !m.isRequest && m.status === status && m.cseqOrNull?.method === method, ms, `${status} to ${method}`);
  }

  /** A reply to `req` (its Vias, From, To, Call-ID, CSeq), our tag on To when it has none, sent to `port`. */
  answer(req: SipMessage, port: number, status: number, reason: string, extra: string[] = [], tag: string | null = this.tag): void {
    const lines = [`SIP/2.0 ${status} ${reason}`];
    for (const f of req.fields) {
      if (f.name !== "via" && f.name !== "from" && f.name !== "to" && f.name !== "call-id" && f.name !== "cseq") continue;
      const line = req.raw.slice(f.start, f.end).trimEnd();
      lines.push(f.name === "to" && req.toTag === null && tag ? `${line};tag=${tag}` : line);
    }
    lines.push(...extra, "Content-Length: 0", "", "");
    this.send(lines.join("\r\n"), port);
  }
}

/** What a UAC needs to build the requests of one dialog (RFC 3261 §12.2.1.1). */
export interface DialogSide {
  callId: string;
  localTag: string;
  remoteTag: string;
  localUri: string;
  remoteUri: string;
  cseq: number;
  /** R-URI of the next request (remote target). */
  target: string;
  routes: string[];
}

export const newBranch = (): string => `z9hG4bK${randomBytes(5).toString("hex")}`;

/** A request text from `a` with the given Via branch. */
export function buildRequest(a: RawAgent, d: DialogSide, method: string, branch: string, cseq = d.cseq, extra: string[] = []): string {
  return [
    `${method} ${d.target} SIP/2.0`,
    `Via: SIP/2.0/UDP 127.0.0.1:${a.port};branch=${branch};rport`,
    ...d.routes.map((r) => `Route: ${r}`),
    `From: <${d.localUri}>;tag=${d.localTag}`,
    `To: <${d.remoteUri}>${d.remoteTag ? `;tag=${d.remoteTag}` : ""}`,
    `Call-ID: ${d.callId}`,
    `CSeq: ${cseq} ${method}`,
    ...(method === "ACK" || method === "CANCEL" ? [] : [`Contact: ${a.contact}`]),
    "Max-Forwards: 70",
    ...extra,
    "Content-Length: 0",
    "",
    "",
  ].join("\r\n");
}

/** The dialog as the callee sees it from the INVITE it received (its target = the INVITE's Contact). */
export function calleeSide(invite: SipMessage, ownTag: string): DialogSide {
  const c = invite.headerValues("contact")[0] ?? "";
  return {
    callId: invite.callId,
    localTag: ownTag,
    remoteTag: invite.fromTag ?? "",
    localUri: invite.toOrNull?.uriText ?? "",
    remoteUri: invite.fromOrNull?.uriText ?? "",
    cseq: 100,
    target: c.replace(/^.*<([^>]*)>.*$/, "$1"),
    routes: invite.headerValues("record-route"),
  };
}
