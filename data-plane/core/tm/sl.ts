import type { Endpoint, TransportProto } from "../../../lib/sip/types.js";
import { serializeBuffer, type SipMessage } from "../sip/message.js";
import type { Connection } from "../transport/transport-layer.js";
import type { ListenSocket } from "../transport/listen-socket.js";
import { REASONS, buildReply } from "./builders.js";
import { fnvHex } from "./hash.js";
import { nextHopOf } from "./routing.js";
import { removeTopViaPatch, requestPatches } from "./patches.js";
import type { RelayPlan, SendOptions } from "./types.js";
import type { Tm } from "./internal.js";
import { sendThroughHook } from "./wire-hook.js";

/**
 * Stateless processing (Kamailio sl and core forward): local replies without a transaction,
 * stateless forwarding of requests (branch derived from the incoming one) and of replies that
 * match no transaction (by Via).
 */

/** [sl_send_reply] a stateless local reply (no transaction). */
export function sendStatelessReply(
  e: Tm,
  msg: SipMessage,
  src: Endpoint,
  sock: ListenSocket,
  conn: Connection | null,
  status: number,
  reason: string,
  opts: SendOptions = {},
): boolean {
  if (msg.method === "ACK") return false;
  const text = buildReply(msg, src, status, reason || REASONS[status] || "Unknown", e.config.forceRport, {
    headers: opts.headers,
    body: opts.body,
    contentType: opts.contentType,
    toTag: opts.toTag,
    server: e.config.serverHeader,
  });
  e.counters.countSlReply(status);
  const dest = e.replyDestination(msg, src);
  let data: Buffer = Buffer.from(text, "latin1");
  if (e.hooks.wire !== null) data = sendThroughHook(e.hooks.wire, data, dest, sock);
  return e.transport.send(sock, dest, data, conn?.id ?? null);
}

/**
 * [forward] stateless forwarding (RFC 3261 §16.11): Via with a branch derived from the incoming
 * one, so retransmissions get the same branch. No transaction; replies are relayed by Via.
 */
export function forwardStateless(e: Tm, msg: SipMessage, src: Endpoint, inSock: ListenSocket, plan: RelayPlan): boolean {
  const target = plan.targets[0];
  if (!target) return false;
  const hop = nextHopOf(target.dst ?? target.uri);
  if (!hop || hop.family === 0) return false;
  const sock = e.transport.chooseSocket(hop.proto, hop.family, target.socket);
  if (!sock) return false;
  const branch = `${e.branchPrefix}s${fnvHex(msg.topVia.branch ?? msg.callId, msg.method, target.uri)}`;
  const dest: Endpoint = { proto: hop.proto, address: hop.host, port: hop.port };
  const patches = requestPatches(e, msg, src, inSock, sock, plan, target, branch, dest);
  if (!patches) return false;
  let data = serializeBuffer(msg, patches, hop.proto !== "udp");
  if (e.hooks.wire !== null) data = sendThroughHook(e.hooks.wire, data, dest, sock);
  e.counters.k.fwd_requests!.v++;
  return e.transport.send(sock, dest, data);
}

/** Removes our top Via value and sends the reply to the next Via (received/rport honoured). */
export function forwardReplyStateless(e: Tm, msg: SipMessage): boolean {
  const vias = msg.viasOrNull;
  if (!vias || vias.length < 2) {
    e.counters.core.inc("drop_replies");
    return false;
  }
  const next = vias[1]!;
  const proto = next.transport.toLowerCase() as TransportProto;
  const address = next.received ?? next.host;
  if (address === "255.255.255.255" || /^(22[4-9]|23\d)\./.test(address)) {
    e.counters.core.inc("drop_replies");
    return false;
  }
  const port = next.rport && next.rport !== "" ? Number(next.rport) : next.port ?? (proto === "tls" ? 5061 : 5060);
  const fam = address.indexOf(":") >= 0 ? 6 : 4;
  const sock = e.transport.chooseSocket(proto === "udp" ? "udp" : proto, fam);
  if (!sock) return false;
  const dest: Endpoint = { proto, address, port };
  let data = serializeBuffer(msg, removeTopViaPatch(msg));
  if (e.hooks.wire !== null) data = sendThroughHook(e.hooks.wire, data, dest, sock);
  e.counters.k.fwd_replies!.v++;
  return e.transport.send(sock, dest, data);
}
