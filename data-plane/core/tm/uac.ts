import type { Endpoint, TransportProto } from "../../../lib/sip/types.js";
import type { SipMessage } from "../sip/message.js";
import type { UacRequestOptions, UacResult } from "../module.js";
import { randomToken } from "./hash.js";
import { nextHopOf } from "./routing.js";
import type { Tm } from "./internal.js";

/**
 * Requests of Olelo's own (Kamailio tm's uac: t_uac / dispatcher and keepalive probes): build,
 * send and retransmit a request and resolve with its final reply; raw keep-alive bytes.
 */

/** Sends a request of Olelo's own (e.g. an OPTIONS probe) and resolves with the final reply. */
export function uacRequest(e: Tm, opts: UacRequestOptions): Promise<UacResult> {
  const named = nextHopOf(opts.destination ?? opts.uri);
  if (named && named.family === 0) {
    // a host name (e.g. a dispatcher probe to sip:gw.example.net): RFC 3263 first, then send
    // to the first target; the R-URI stays as given
    return e.dispatcher.resolve(named).then(
      (eps) => {
        const ep = eps[0];
        if (!ep) return { code: 478, reason: "Unresolvable destination", latencyMs: 0 };
        const host = ep.address.indexOf(":") >= 0 ? `[${ep.address}]` : ep.address;
        return uacRequest(e, { ...opts, destination: `sip:${host}:${ep.port};transport=${ep.proto}` });
      },
      () => ({ code: 478, reason: "Unresolvable destination", latencyMs: 0 }),
    );
  }
  return new Promise((resolve) => {
    const started = Date.now();
    const hop = nextHopOf(opts.destination ?? opts.uri);
    if (!hop || hop.family === 0) {
      resolve({ code: 478, reason: "Unresolvable destination", latencyMs: 0 });
      return;
    }
    const sock = e.transport.chooseSocket(hop.proto, hop.family, opts.socket ?? null);
    if (!sock) {
      resolve({ code: 503, reason: "No socket", latencyMs: 0 });
      return;
    }
    const seq = e.nextUacSeq();
    const branch = `${e.branchPrefix}u${seq.toString(36)}`;
    // in-dialog requests (opts.callId/fromTag/toTag/cseq/routes) reuse the dialog's identifiers
    const callId = opts.callId ?? `${randomToken(12)}-${seq}@${sock.viaHost}`;
    const from = opts.from ?? `sip:olelo@${sock.viaHost}`;
    let text = `${opts.method} ${opts.uri} SIP/2.0\r\n`;
    text += `Via: SIP/2.0/${sock.proto.toUpperCase()} ${sock.viaHost}:${sock.egressPort ?? sock.viaPort};branch=${branch}\r\n`;
    if (opts.destination && opts.destination !== opts.uri) {
      // outbound proxy: the request still names the URI; it is sent to the destination
    }
    if (opts.routes) for (const r of opts.routes) text += `Route: ${r.startsWith("<") ? r : `<${r}>`}\r\n`;
    text += `From: <${from}>;tag=${opts.fromTag ?? randomToken(10)}\r\n`;
    text += `To: <${opts.to ?? opts.uri}>${opts.toTag ? `;tag=${opts.toTag}` : ""}\r\n`;
    text += `Call-ID: ${callId}\r\n`;
    text += `CSeq: ${opts.cseq ?? 10} ${opts.method}\r\n`;
    text += `Max-Forwards: 70\r\n`;
    if (opts.contactUser !== undefined) {
      const at = opts.contactHost ?? `${sock.viaHost}:${sock.viaPort}`;
      const tp = sock.proto === "udp" ? "" : `;transport=${sock.proto}`;
      text += `Contact: <sip:${opts.contactUser}@${at}${tp}>\r\n`;
    }
    if (e.config.serverHeader) text += `User-Agent: ${e.config.serverHeader}\r\n`;
    if (opts.headers) for (const [n, v] of Object.entries(opts.headers)) text += `${n}: ${v}\r\n`;
    const body = opts.body ?? "";
    text += `Content-Length: ${body.length}\r\n\r\n${body}`;
    const data = Buffer.from(text, "latin1");
    const dest: Endpoint = { proto: hop.proto, address: hop.host, port: hop.port };
    const key = `${branch}|${opts.method}`;
    let retrans: NodeJS.Timeout | null = null;
    let interval = e.config.tm.t1;
    const finish = (code: number, reason: string, reply?: SipMessage) => {
      if (retrans) clearTimeout(retrans);
      clearTimeout(fr);
      e.clientTxns.delete(key);
      resolve(reply ? { code, reason, latencyMs: Date.now() - started, reply } : { code, reason, latencyMs: Date.now() - started });
    };
    const fr = setTimeout(() => finish(408, "Request Timeout"), opts.timeoutMs ?? e.config.tm.frTimer);
    e.clientTxns.set(key, {
      key,
      onReply: (m) => {
        if (m.status >= 200 && m.status !== 503) e.dispatcher.targetAlive(dest);
        if (m.status >= 200) finish(m.status, m.reason, m);
        else if (retrans && hop.proto === "udp") {
          clearTimeout(retrans);
          interval = e.config.tm.t2;
          retrans = setTimeout(rt, interval);
        }
      },
    });
    const rt = () => {
      e.transport.send(sock, dest, data);
      interval = Math.min(interval * 2, e.config.tm.t2);
      retrans = setTimeout(rt, interval);
    };
    e.counters.k.UAC_transactions!.v++;
    if (!e.transport.send(sock, dest, data)) {
      finish(503, "Send failed");
      return;
    }
    if (hop.proto === "udp") retrans = setTimeout(rt, interval);
  });
}

/** Sends raw bytes (keep-alives) from a socket. */
export function sendRaw(e: Tm, dest: { proto: string; address: string; port: number }, data: Buffer, socket?: string): void {
  const proto = dest.proto as TransportProto;
  const sock = e.transport.chooseSocket(proto, dest.address.indexOf(":") >= 0 ? 6 : 4, socket ?? null);
  if (sock) e.transport.send(sock, { proto, address: dest.address, port: dest.port }, data, null, true);
}
