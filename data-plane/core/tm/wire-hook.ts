import type { Endpoint } from "../../../lib/sip/types.js";
import { createLogger } from "../../../lib/log/logger.js";
import type { SipMessage } from "../sip/message.js";
import type { Connection } from "../transport/transport-layer.js";
import type { ListenSocket } from "../transport/listen-socket.js";

/**
 * The wire hook (Kamailio's SREV_NET_DATA_IN / SREV_NET_DATA_OUT, which topos and topoh use): one
 * module may see every parsed message before transaction matching and the script, and every SIP
 * message tm sends after routing, as bytes. Topology hiding rewrites headers there, so the script
 * and the transaction layer work on the full message while the wire carries the hidden one.
 *
 * Cost when no hook is set: one null check per message received and per message sent.
 */
export interface WireHook {
  /**
   * A message as parsed from the network. Returns the message to go on with (the same one or a
   * re-parsed rewrite), null to drop it, or a promise of either (state loaded from a store).
   */
  received(msg: SipMessage, src: Endpoint, sock: ListenSocket): SipMessage | null | Promise<SipMessage | null>;
  /**
   * A request copy to a branch (stateful or stateless), a relayed reply or a local reply, as it is
   * about to be sent (retransmissions reuse the result). Returns the bytes to send.
   */
  sending(data: Buffer, dest: Endpoint, sock: ListenSocket): Buffer;
}

const log = createLogger("core");

/** What delivery needs of the engine (tm/internal.ts `Tm` has it; named here so this file imports no part). */
interface Receiver {
  readonly counters: { readonly core: { inc(name: string): void } };
  onRequest(msg: SipMessage, src: Endpoint, sock: ListenSocket, conn: Connection | null): void;
  onResponse(msg: SipMessage, src: Endpoint, sock: ListenSocket, conn: Connection | null): void;
}

/** Hands a received message through the hook, then to transaction matching and the script. */
export function receiveThroughHook(e: Receiver, hook: WireHook, msg: SipMessage, src: Endpoint, sock: ListenSocket, conn: Connection | null): void {
  let out: SipMessage | null | Promise<SipMessage | null>;
  try {
    out = hook.received(msg, src, sock);
  } catch (err) {
    log.error("wire hook (received) failed", { error: err instanceof Error ? (err.stack ?? err.message) : String(err) });
    out = msg;
  }
  if (out instanceof Promise) {
    out.then(
      (m) => deliver(e, m, src, sock, conn),
      (err: unknown) => {
        log.error("wire hook (received) failed", { error: err instanceof Error ? err.message : String(err) });
        deliver(e, msg, src, sock, conn);
      },
    );
    return;
  }
  deliver(e, out, src, sock, conn);
}

function deliver(e: Receiver, m: SipMessage | null, src: Endpoint, sock: ListenSocket, conn: Connection | null): void {
  if (m === null) {
    e.counters.core.inc("drop_requests");
    return;
  }
  try {
    if (m.isRequest) e.onRequest(m, src, sock, conn);
    else e.onResponse(m, src, sock, conn);
  } catch (err) {
    e.counters.core.inc("err_requests");
    log.error("message handling failed", { src: `${src.address}:${src.port}`, error: err instanceof Error ? (err.stack ?? err.message) : String(err) });
  }
}

/** Bytes about to be sent, through the hook (a hook that throws leaves them unchanged). */
export function sendThroughHook(hook: WireHook, data: Buffer, dest: Endpoint, sock: ListenSocket): Buffer {
  try {
    return hook.sending(data, dest, sock);
  } catch (err) {
    log.error("wire hook (sending) failed", { error: err instanceof Error ? (err.stack ?? err.message) : String(err) });
    return data;
  }
}
