import { createHash } from "node:crypto";
import type { EventBus, RequestContext } from "../../core/api.js";
import { dialogInfoBody } from "./packages.js";
import { publishLocal } from "./publish.js";
import type { PresenceServer } from "./server.js";

type DlgState = "trying" | "proceeding" | "early" | "confirmed" | "terminated";

interface Party {
  readonly user: string;
  readonly domain: string;
  readonly entity: string;
  readonly direction: "initiator" | "recipient";
  readonly etag: string;
  readonly local: string;
  readonly remote: string;
}

interface CallEntry {
  readonly callId: string;
  readonly fromTag: string;
  remoteTag: string | null;
  state: DlgState;
  readonly parties: Party[];
}

/** How long a published dialog state lives (refreshed on each change); a terminated one briefly. */
const LIVE_S = 3600;
const TERMINATED_S = 10;

/**
 * BLF (RFC 4235) from the calls the script marks (Kamailio pua_dialoginfo's `dialoginfo_set`):
 * the INVITE's caller and callee, when they belong to a local domain, get a `dialog` publication
 * per call — trying at the INVITE, early on 18x, confirmed on 2xx, terminated on a failure reply
 * or when the dialog module reports `call.ended` (BYE, timeout). Each change NOTIFYs their
 * `dialog` watchers, on every node of a fleet.
 */
export class DialogInfoPublisher {
  private readonly calls = new Map<string, CallEntry>();
  private readonly off: () => void;
  /** Publications run one after another, so a fast 180/200 never lands out of order. */
  private chain: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly srv: PresenceServer,
    events: EventBus,
  ) {
    this.off = events.subscribe(["call.ended"], (ev) => {
      const e = this.calls.get(String(ev.data.call_id ?? ""));
      if (e) this.set(e, "terminated", null);
    });
  }

  /** [dialoginfo_set] Publishes the INVITE's dialog state for its local parties; 1 done, -1 not an initial INVITE. */
  mark(req: RequestContext): number {
    if (req.method !== "INVITE" || req.hasToTag) return -1;
    const msg = req.msg;
    let fromUri: string;
    let toUri: string;
    let fu: { user: string | null; host: string } | null;
    let tu: { user: string | null; host: string } | null;
    try {
      fromUri = msg.from.uriText;
      toUri = msg.to.uriText;
      fu = msg.from.uri;
      tu = msg.to.uri;
    } catch {
      return -1;
    }
    const callId = msg.callId;
    const fromTag = msg.fromTag ?? "";
    if (this.calls.has(callId)) return 1;
    const id = createHash("sha1").update(`${callId}\u0000${fromTag}`).digest("hex").slice(0, 16);
    const parties: Party[] = [];
    if (fu?.user && req.isMyself(fromUri)) {
      parties.push({ user: fu.user, domain: fu.host, entity: `sip:${fu.user}@${fu.host}`, direction: "initiator", etag: `dlg-${id}-i`, local: fromUri, remote: toUri });
    }
    if (tu?.user && req.isMyself(toUri)) {
      parties.push({ user: tu.user, domain: tu.host, entity: `sip:${tu.user}@${tu.host}`, direction: "recipient", etag: `dlg-${id}-r`, local: toUri, remote: fromUri });
    }
    if (parties.length === 0) return -1;
    const e: CallEntry = { callId, fromTag, remoteTag: null, state: "trying", parties };
    this.calls.set(callId, e);
    this.publish(e, id);
    req.observeTransaction({
      replySent: (status, reply) => {
        if (status >= 180 && status < 200) this.set(e, "early", reply.toTag);
        else if (status >= 200 && status < 300) this.set(e, "confirmed", reply.toTag);
        else if (status >= 300) this.set(e, "terminated", reply.toTag);
      },
    });
    return 1;
  }

  private set(e: CallEntry, state: DlgState, remoteTag: string | null): void {
    if (e.state === state || e.state === "terminated") return;
    if (state === "early" && e.state === "confirmed") return;
    e.state = state;
    if (remoteTag) e.remoteTag = remoteTag;
    if (state === "terminated") this.calls.delete(e.callId);
    this.publish(e, null);
  }

  private publish(e: CallEntry, id: string | null): void {
    const dialogId = id ?? e.parties[0]!.etag.slice(4, 20);
    for (const p of e.parties) {
      const body = dialogInfoBody({
        entity: p.entity,
        id: dialogId,
        callId: e.callId,
        localTag: p.direction === "initiator" ? e.fromTag : (e.remoteTag ?? ""),
        remoteTag: p.direction === "initiator" ? e.remoteTag : e.fromTag,
        direction: p.direction,
        state: e.state,
        local: p.local,
        remote: p.remote,
      });
      const expires = e.state === "terminated" ? TERMINATED_S : LIVE_S;
      this.chain = this.chain.then(() =>
        publishLocal(this.srv, { user: p.user, domain: p.domain, event: "dialog", body, expires, etag: p.etag, sender: "dialoginfo" }),
      ).catch((err: unknown) => this.srv.d.log.warn("presence: dialog-info publication failed", { error: String(err) }));
    }
  }

  /** Calls with a published state. */
  get size(): number {
    return this.calls.size;
  }

  close(): void {
    this.off();
  }
}
