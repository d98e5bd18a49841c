/**
 * A lean SIP load generator and answering UAS over UDP, TCP or TLS, for bench/transport (sipp on
 * this machine has no TLS). The UAC keeps `connections` links to the proxy and places calls at a
 * fixed rate: INVITE → 200 → ACK → BYE → 200, the ACK and BYE along the Record-Route set. Nothing
 * per call is kept after it ends. The UAS answers INVITE with 200 (echoing Record-Route) and BYE
 * with 200.
 */
import dgram from "node:dgram";
import net from "node:net";
import tls from "node:tls";
import { randomBytes } from "node:crypto";
import type { SipMessage } from "../../data-plane/core/sip/message.js";
import { parseMessage } from "../../data-plane/core/sip/parse.js";
import { StreamFramer } from "../../data-plane/core/transport/stream-framer.js";

export type LoadTransport = "udp" | "tcp" | "tls";

interface Link {
  send(text: string): void;
  close(): void;
  host: string;
  port: number;
}

const SDP = "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 4000 RTP/AVP 0\r\n";

async function openLink(t: LoadTransport, host: string, port: number, onMsg: (m: SipMessage, l: Link) => void, ca?: Buffer): Promise<Link> {
  if (t === "udp") {
    // no retransmissions here: big socket buffers so a burst is not lost in the kernel
    const s = dgram.createSocket({ type: "udp4", recvBufferSize: 8 << 20, sendBufferSize: 8 << 20 });
    await new Promise<void>((r) => s.bind(0, "127.0.0.1", () => r()));
    const link: Link = { send: (x) => s.send(Buffer.from(x, "latin1"), port, host), close: () => s.close(), host: "127.0.0.1", port: s.address().port };
    s.on("message", (d) => {
      const r = parseMessage(d);
      if (r.ok) onMsg(r.msg, link);
    });
    return link;
  }
  const sock = t === "tls" ? tls.connect({ host, port, ca, rejectUnauthorized: !!ca }) : net.connect({ host, port });
  await new Promise<void>((resolve, reject) => {
    sock.once(t === "tls" ? "secureConnect" : "connect", () => resolve());
    sock.once("error", reject);
  });
  return streamLink(sock, onMsg);
}

function streamLink(sock: net.Socket, onMsg: (m: SipMessage, l: Link) => void): Link {
  sock.setNoDelay(true);
  const framer = new StreamFramer(65535);
  const link: Link = { send: (x) => sock.write(Buffer.from(x, "latin1")), close: () => sock.destroy(), host: sock.localAddress!, port: sock.localPort! };
  sock.on("data", (d: Buffer) => {
    for (const ev of framer.push(d)) {
      if (ev.kind !== "message") continue;
      const r = parseMessage(ev.data);
      if (r.ok) onMsg(r.msg, link);
    }
  });
  sock.on("error", () => {});
  return link;
}

export interface LoadResult {
  transport: LoadTransport;
  rate: number;
  attempted: number;
  ok: number;
  failed: number;
  seconds: number;
  achieved: number;
  avgSetupMs: number;
}

/** Places `rate` calls/s for `seconds` through the proxy; resolves when every call ended or timed out. */
export async function runLoad(o: { transport: LoadTransport; host: string; port: number; rate: number; seconds: number; connections?: number; ca?: Buffer }): Promise<LoadResult> {
  const pending = new Map<string, (m: SipMessage) => void>();
  const onMsg = (m: SipMessage) => {
    if (m.isRequest) return;
    if (m.status < 200) return;
    const b = m.topVia.branch ?? "";
    const f = pending.get(b);
    if (f) {
      pending.delete(b);
      f(m);
    }
  };
  const n = o.transport === "udp" ? 1 : (o.connections ?? 10);
  const links = await Promise.all(Array.from({ length: n }, () => openLink(o.transport, o.host, o.port, onMsg, o.ca)));
  const proto = o.transport.toUpperCase();
  let seq = 0;
  const request = (link: Link, method: string, ruri: string, hdrs: string, body = "") =>
    new Promise<SipMessage | null>((resolve) => {
      const branch = `z9hG4bK${randomBytes(6).toString("hex")}`;
      const timer = setTimeout(() => {
        pending.delete(branch);
        resolve(null);
      }, 8000);
      if (method !== "ACK")
        pending.set(branch, (m) => {
          clearTimeout(timer);
          resolve(m);
        });
      else {
        clearTimeout(timer);
        resolve(null);
      }
      link.send(
        `${method} ${ruri} SIP/2.0\r\nVia: SIP/2.0/${proto} ${link.host}:${link.port};branch=${branch};rport\r\nMax-Forwards: 70\r\n${hdrs}Content-Length: ${body.length}\r\n\r\n${body}`,
      );
    });
  const call = async (link: Link): Promise<number> => {
    const id = `${++seq}.${randomBytes(4).toString("hex")}@load`;
    const from = `<sip:load@olelo.test>;tag=${randomBytes(3).toString("hex")}`;
    const ruri = `sip:bob@${o.host}:${o.port}`;
    const t0 = Date.now();
    const inv = await request(
      link,
      "INVITE",
      ruri,
      `From: ${from}\r\nTo: <${ruri}>\r\nCall-ID: ${id}\r\nCSeq: 1 INVITE\r\nContact: <sip:load@${link.host}:${link.port};transport=${o.transport}>\r\nContent-Type: application/sdp\r\n`,
      SDP,
    );
    if (!inv || inv.status !== 200) return -1;
    const setup = Date.now() - t0;
    const routes = [...inv.headerValues("record-route")].reverse().map((r) => `Route: ${r}\r\n`).join("");
    const c = inv.contacts();
    const target = c === "*" || !c[0] ? ruri : c[0].uriText;
    const dlg = `From: ${from}\r\nTo: ${inv.header("to")}\r\nCall-ID: ${id}\r\n${routes}`;
    await request(link, "ACK", target, `${dlg}CSeq: 1 ACK\r\n`);
    const bye = await request(link, "BYE", target, `${dlg}CSeq: 2 BYE\r\n`);
    return bye && bye.status === 200 ? setup : -1;
  };
  const calls: Promise<number>[] = [];
  const total = Math.round(o.rate * o.seconds);
  const start = Date.now();
  const tick = 10;
  let sent = 0;
  await new Promise<void>((done) => {
    const iv = setInterval(() => {
      const due = Math.min(total, Math.floor(((Date.now() - start) / 1000) * o.rate));
      while (sent < due) {
        calls.push(call(links[sent % links.length]!));
        sent++;
      }
      if (sent >= total) {
        clearInterval(iv);
        done();
      }
    }, tick);
  });
  const res = await Promise.all(calls);
  const seconds = (Date.now() - start) / 1000;
  for (const l of links) l.close();
  const ok = res.filter((x) => x >= 0);
  return {
    transport: o.transport,
    rate: o.rate,
    attempted: total,
    ok: ok.length,
    failed: total - ok.length,
    seconds,
    achieved: ok.length / seconds,
    avgSetupMs: ok.length ? ok.reduce((a, b) => a + b, 0) / ok.length : 0,
  };
}

/** An answering UAS; returns a stop function. */
export async function startLoadUas(t: LoadTransport, host: string, port: number, cert?: { cert: Buffer; key: Buffer }): Promise<() => void> {
  const answer = (m: SipMessage, link: Link) => {
    if (!m.isRequest || m.method === "ACK") return;
    let out = `SIP/2.0 200 OK\r\n`;
    for (const v of m.headerAll("via")) out += `Via: ${v}\r\n`;
    out += `From: ${m.header("from")}\r\nTo: ${m.header("to")}${m.toTag === null ? ";tag=uas1" : ""}\r\nCall-ID: ${m.callId}\r\nCSeq: ${m.header("cseq")}\r\n`;
    for (const rr of m.headerAll("record-route")) out += `Record-Route: ${rr}\r\n`;
    out += `Contact: <sip:uas@${host}:${port};transport=${t}>\r\n`;
    const body = m.method === "INVITE" ? SDP : "";
    out += `${body ? "Content-Type: application/sdp\r\n" : ""}Content-Length: ${body.length}\r\n\r\n${body}`;
    link.send(out);
  };
  if (t === "udp") {
    const s = dgram.createSocket({ type: "udp4", recvBufferSize: 8 << 20, sendBufferSize: 8 << 20 });
    await new Promise<void>((r) => s.bind(port, host, () => r()));
    s.on("message", (d, r) => {
      const p = parseMessage(d);
      if (p.ok) answer(p.msg, { send: (x) => s.send(Buffer.from(x, "latin1"), r.port, r.address), close: () => {}, host, port });
    });
    return () => s.close();
  }
  const server = t === "tls" ? tls.createServer({ cert: cert!.cert, key: cert!.key }, (s) => streamLink(s, answer)) : net.createServer((s) => streamLink(s, answer));
  await new Promise<void>((r) => server.listen(port, host, () => r()));
  return () => server.close();
}
