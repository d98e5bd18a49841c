import dgram from "node:dgram";

/**
 * A scriptable UDP SIP peer for tests: sends raw messages and collects what arrives, so a test
 * can look at exact bytes (Via, Record-Route, reason phrases) that sipp does not expose.
 */
export class UdpPeer {
  readonly received: Array<{ text: string; from: string }> = [];
  private waiters: Array<{ pred: (t: string) => boolean; resolve: (t: string) => void }> = [];
  private constructor(
    readonly sock: dgram.Socket,
    readonly port: number,
    readonly host: string,
  ) {
    sock.on("message", (m, r) => {
      const text = m.toString("latin1");
      this.received.push({ text, from: `${r.address}:${r.port}` });
      this.waiters = this.waiters.filter((w) => {
        if (w.pred(text)) {
          w.resolve(text);
          return false;
        }
        return true;
      });
      this.onMessage?.(text, r);
    });
  }

  onMessage: ((text: string, r: dgram.RemoteInfo) => void) | null = null;

  static async open(port = 0, host = "127.0.0.1"): Promise<UdpPeer> {
    const s = dgram.createSocket(host.includes(":") ? "udp6" : "udp4");
    await new Promise<void>((r) => s.bind(port, host, () => r()));
    return new UdpPeer(s, s.address().port, host);
  }

  send(text: string, port: number, host = "127.0.0.1"): void {
    this.sock.send(Buffer.from(text.replace(/\r?\n/g, "\r\n"), "latin1"), port, host);
  }

  sendRaw(buf: Buffer, port: number, host = "127.0.0.1"): void {
    this.sock.send(buf, port, host);
  }

  /** Resolves with the first message (already received or future) matching `pred`. */
  wait(pred: (t: string) => boolean, timeoutMs = 5000): Promise<string> {
    const have = this.received.find((m) => pred(m.text));
    if (have) return Promise.resolve(have.text);
    return new Promise((resolve, reject) => {
      const t = setTimeout(() => reject(new Error(`timeout waiting for message; got: ${this.received.map((m) => m.text.split("\r\n")[0]).join(" | ")}`)), timeoutMs);
      this.waiters.push({
        pred,
        resolve: (x) => {
          clearTimeout(t);
          resolve(x);
        },
      });
    });
  }

  close(): void {
    this.sock.close();
  }
}

/** Builds a request with sensible defaults; `lines` override/add headers. */
export function request(method: string, ruri: string, opts: { port: number; callId: string; branch?: string; cseq?: number; extra?: string[]; toTag?: string; body?: string; host?: string }): string {
  const host = opts.host ?? "127.0.0.1";
  const body = opts.body ?? "";
  return [
    `${method} ${ruri} SIP/2.0`,
    `Via: SIP/2.0/UDP ${host}:${opts.port};branch=${opts.branch ?? "z9hG4bK-" + Math.random().toString(36).slice(2)};rport`,
    `From: <sip:alice@${host}>;tag=fromtag1`,
    `To: <${ruri}>${opts.toTag ? `;tag=${opts.toTag}` : ""}`,
    `Call-ID: ${opts.callId}`,
    `CSeq: ${opts.cseq ?? 1} ${method}`,
    `Contact: <sip:alice@${host}:${opts.port}>`,
    `Max-Forwards: 70`,
    ...(opts.extra ?? []),
    `Content-Length: ${body.length}`,
    ``,
    body,
  ].join("\r\n");
}

/** First line of a SIP message ("SIP/2.0 200 OK"). */
export const firstLine = (t: string) => t.slice(0, t.indexOf("\r\n"));
export const statusOf = (t: string) => Number(t.split(" ")[1]);
export function headerOf(t: string, name: string): string[] {
  const out: string[] = [];
  for (const l of t.split("\r\n")) {
    const c = l.indexOf(":");
    if (c > 0 && l.slice(0, c).trim().toLowerCase() === name.toLowerCase()) out.push(l.slice(c + 1).trim());
  }
  return out;
}
