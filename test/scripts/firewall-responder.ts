import dgram from "node:dgram";

/**
 * Test support for the firewall/auth end-to-end tests (not a routing script): a minimal UDP UAS
 * behind the proxy. It answers every request but ACK with 200 (INVITE: with a Contact and the
 * Record-Route set echoed, RFC 3261 §12.1.1, so ACK/BYE come back through the proxy) and keeps
 * every request it received, so a test can check what the proxy forwarded (e.g. that
 * Proxy-Authorization was consumed).
 *
 * @example
 *   const uas = await SipResponder.open(18110);
 *   // proxy nextHop = sip:127.0.0.1:18110 … then
 *   expect(uas.requests("INVITE")[0]).not.toMatch(/^Proxy-Authorization:/im);
 */
export class SipResponder {
  /** Requests received, as text, in arrival order. */
  readonly received: string[] = [];
  private tagSeq = 0;

  private constructor(
    private readonly sock: dgram.Socket,
    readonly port: number,
    readonly host: string,
  ) {
    sock.on("message", (m, r) => this.onMessage(m.toString("latin1"), r));
  }

  static async open(port: number, host = "127.0.0.1"): Promise<SipResponder> {
    const s = dgram.createSocket("udp4");
    await new Promise<void>((resolve, reject) => {
      s.once("error", reject);
      s.bind(port, host, () => resolve());
    });
    return new SipResponder(s, port, host);
  }

  /** Received requests of one method. */
  requests(method: string): string[] {
    return this.received.filter((t) => t.startsWith(`${method} `));
  }

  close(): void {
    this.sock.close();
  }

  private onMessage(text: string, r: dgram.RemoteInfo): void {
    if (text.startsWith("SIP/2.0")) return; // replies to nothing we sent
    this.received.push(text);
    const method = text.slice(0, text.indexOf(" "));
    if (method === "ACK") return;
    const lines = text.slice(0, text.indexOf("\r\n\r\n")).split("\r\n");
    const keep = (names: string[]) => lines.filter((l) => names.includes(l.slice(0, l.indexOf(":")).trim().toLowerCase()));
    const out = ["SIP/2.0 200 OK", ...keep(["via", "v", "from", "f", "call-id", "i", "cseq"])];
    for (const l of keep(["to", "t"])) out.push(/;\s*tag=/i.test(l) ? l : `${l};tag=fw-uas-${++this.tagSeq}`);
    if (method === "INVITE") {
      out.push(...keep(["record-route"]));
      out.push(`Contact: <sip:uas@${this.host}:${this.port}>`);
    }
    out.push("Content-Length: 0", "", "");
    this.sock.send(Buffer.from(out.join("\r\n"), "latin1"), r.port, r.address);
  }
}
