import type { ReplyContext, RequestContext } from "../../core/script/context.js";
import type { ScriptModules } from "../module-apis.js";

/** Kamailio default cfg: FLT_NATS (the caller is behind NAT). */
const FLT_NATS = 5;
const BASE = "replace-origin replace-session-connection";
const isWs = (proto: string) => proto === "ws" || proto === "wss";
const wsTarget = (uri: string | null) => uri !== null && /;transport=wss?\b/i.test(uri);

/**
 * NATMANAGE with rtpengine (Kamailio default cfg WITH_RTPENGINE): every INVITE / UPDATE / ACK
 * with SDP goes through rtpengine_manage before it is relayed, the 1xx/2xx answers in the reply
 * route, BYE and CANCEL delete the session, and a call that fails (final reply ≥ 300 upstream)
 * deletes it too. A WebSocket side (WebRTC: SAVPF, ICE, DTLS) is bridged to plain RTP/AVP on the
 * other side. Null when the rtpengine module is not configured.
 */
export function media(modules: ScriptModules) {
  const rtp = modules.rtpengine;
  if (!rtp) return null;

  /** Flags for a message from a WebSocket side (`fromWs`) or towards one (`towardsWs`). */
  const flagsFor = (fromWs: boolean, towardsWs: boolean, nated: boolean): string => {
    let f = nated ? `SIP-source-address ${BASE}` : BASE;
    if (towardsWs && !fromWs) f += " ICE=force UDP/TLS/RTP/SAVPF";
    else if (fromWs && !towardsWs) f += " ICE=remove RTP/AVP";
    return f;
  };

  return {
    /** NATMANAGE of a request about to be relayed: offer / answer / delete (awaited, bounded). */
    request(req: RequestContext): Promise<unknown> | null {
      const m = req.method;
      if (m !== "INVITE" && m !== "UPDATE" && m !== "ACK" && m !== "BYE" && m !== "CANCEL" && m !== "PRACK") return null;
      if (m === "INVITE" || m === "UPDATE") req.onReply("MANAGE_REPLY");
      if (m === "INVITE" && !req.hasToTag) {
        const callId = req.msg.callId;
        const fromTag = req.msg.fromTag;
        // the call failed: its final negative reply went upstream (after any failover)
        req.observeTransaction({
          replySent(status) {
            if (status >= 300) void rtp.deleteCall(callId, fromTag ?? undefined);
          },
        });
      }
      const r = rtp.manage(req, flagsFor(isWs(req.source.proto), wsTarget(req.dst ?? req.ruri), req.isFlagSet(FLT_NATS)));
      return typeof r === "number" ? null : r;
    },

    /** MANAGE_REPLY: the answer (or a late offer) of a 1xx/2xx with SDP. */
    reply(r: ReplyContext): Promise<void> | undefined {
      if (r.status >= 300 || r.status < 180) return undefined;
      const res = rtp.manage(r, flagsFor(isWs(r.source.proto), r.request !== null && isWs(r.request.source.proto), false));
      return typeof res === "number" ? undefined : res.then(() => undefined);
    },
  };
}

export type Media = NonNullable<ReturnType<typeof media>>;
