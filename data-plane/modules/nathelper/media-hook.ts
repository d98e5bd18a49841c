import type { RequestContext } from "../../core/api.js";

/** What a media relay gets for one SDP body. */
export interface MediaOffer {
  readonly sdp: string;
  readonly contentType: string;
  readonly req: RequestContext;
  /** Whether the request was flagged NATed by the script (its own decision, passed through). */
  readonly nated: boolean;
}

/**
 * A media relay adapter (rtpengine, rtpproxy ...): returns the rewritten SDP, or null to leave
 * the body as it is. Olelo does not relay media itself; this is the seam where one plugs in.
 */
export type MediaRelay = (offer: MediaOffer) => string | null | undefined | Promise<string | null | undefined>;

/**
 * The NATMANAGE media step: hands the SDP of a request to the configured relay and replaces the
 * body with what it returns (req.setBody fixes Content-Length). Returns 1 rewritten, 2 nothing
 * to do (no SDP, or the relay kept it), -1 no relay configured — or a promise of those when the
 * relay is asynchronous (the route then awaits it).
 */
export function manageMedia(relay: MediaRelay | null, req: RequestContext, nated: boolean): number | Promise<number> {
  if (!relay) return -1;
  const ct = req.msg.contentType;
  const body = req.msg.body;
  if (!ct || !/^application\/sdp\b/i.test(ct.trim()) || body.length === 0) return 2;
  const apply = (out: string | null | undefined): number => {
    if (typeof out !== "string") return 2;
    req.setBody(out, ct.trim());
    return 1;
  };
  const r = relay({ sdp: body, contentType: ct.trim(), req, nated });
  if (r && typeof (r as Promise<string | null>).then === "function") return (r as Promise<string | null | undefined>).then(apply);
  return apply(r as string | null | undefined);
}
