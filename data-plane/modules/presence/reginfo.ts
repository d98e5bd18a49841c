import { createHash } from "node:crypto";
import { formatQ, type Binding, type UsrlocApi, type UsrlocChange } from "../usrloc/api.js";
import { escapeXml } from "./packages.js";
import type { PresenceServer } from "./server.js";
import type { Watcher } from "./types.js";

/** Contact events of RFC 3680 §5.2 that Olelo reports. */
export type RegContactEvent = "registered" | "created" | "refreshed" | "expired" | "deactivated" | "unregistered";

/** One `<contact>` of a reginfo document (RFC 3680 §5.4). */
export interface RegContact {
  readonly id: string;
  readonly state: "active" | "terminated";
  readonly event: RegContactEvent;
  /** Seconds left; null = not reported (terminated, or a permanent binding). */
  readonly expires: number | null;
  /** q as the Contact header writes it ("" = unspecified). */
  readonly q: string;
  readonly callid: string;
  readonly cseq: number;
  readonly uri: string;
  /** `+sip.instance` of the contact (RFC 5626), reported as an `<unknown-param>`. */
  readonly instance: string | null;
}

/** One `<registration>` (RFC 3680 §5.3): an AoR with its contacts. */
export interface RegRegistration {
  readonly aor: string;
  readonly id: string;
  readonly state: "init" | "active" | "terminated";
  readonly contacts: readonly RegContact[];
}

export const REGINFO_NS = "urn:ietf:params:xml:ns:reginfo";

/** An `application/reginfo+xml` document (RFC 3680 §5.4). */
export function reginfoBody(regs: readonly RegRegistration[], version: number, state: "full" | "partial"): string {
  let out = `<?xml version="1.0"?>\n<reginfo xmlns="${REGINFO_NS}" version="${version}" state="${state}">\n`;
  for (const r of regs) {
    out += `<registration aor="${escapeXml(r.aor)}" id="${escapeXml(r.id)}" state="${r.state}">\n`;
    for (const c of r.contacts) {
      let attrs = `id="${escapeXml(c.id)}" state="${c.state}" event="${c.event}"`;
      if (c.expires !== null) attrs += ` expires="${c.expires}"`;
      if (c.q !== "") attrs += ` q="${c.q}"`;
      if (c.callid !== "") attrs += ` callid="${escapeXml(c.callid)}" cseq="${c.cseq}"`;
      out += `<contact ${attrs}>\n<uri>${escapeXml(c.uri)}</uri>\n`;
      if (c.instance) out += `<unknown-param name="+sip.instance">${escapeXml(c.instance)}</unknown-param>\n`;
      out += `</contact>\n`;
    }
    out += `</registration>\n`;
  }
  return out + `</reginfo>\n`;
}

/** A reginfo contact of a binding. */
export function regContact(b: Binding, state: "active" | "terminated", event: RegContactEvent, now: number): RegContact {
  return {
    id: b.ruid,
    state,
    event,
    expires: state === "active" && b.expires !== 0 ? b.remaining(now) : state === "terminated" ? 0 : null,
    q: b.q >= 0 ? formatQ(b.q) : "",
    callid: b.callid,
    cseq: b.cseq,
    uri: b.contact,
    instance: b.instance,
  };
}

/** The contact event of a usrloc change (RFC 3680 §5.2). */
export function contactEventOf(c: Pick<UsrlocChange, "kind" | "source"> & { replicated?: boolean }): RegContactEvent {
  // a copy of another node's change (Redis store) is taken for a REGISTER there
  const byRegister = c.source.includes(":") || c.replicated === true;
  switch (c.kind) {
    case "added":
      return byRegister ? "registered" : "created";
    case "refreshed":
      return "refreshed";
    case "expired":
      return "expired";
    case "removed":
      return byRegister ? "unregistered" : "deactivated";
  }
}

/**
 * The `reg` event package (RFC 3680) from usrloc (Kamailio's pua_reginfo / presence_reginfo pair,
 * done in one place): the state of a presentity is the bindings of its AoR in one location table.
 * Every change usrloc reports for a watched AoR — REGISTER adding / refreshing / removing a
 * contact, an RPC, the expiry timer, a fleet replica — NOTIFYs its `reg` watchers with the full
 * state (`state="full"`, version = the watcher's NOTIFY count from 0); a contact that just ended is
 * listed once as `terminated` with its event, and the registration is `terminated` when it was the
 * last one. The changes of one REGISTER (several contacts) go out in one NOTIFY.
 */
export class RegInfoSource {
  /** usrloc AoR → the presentity URIs with `reg` watchers on this node. */
  private readonly watched = new Map<string, Set<string>>();
  /** ruid → the last event of an active contact of a watched AoR. */
  private readonly lastEvent = new Map<string, RegContactEvent>();
  /** presentity → contacts terminated since its last NOTIFY (flushed in a microtask). */
  private readonly pending = new Map<string, RegContact[]>();
  private readonly off: () => void;

  constructor(
    private readonly srv: PresenceServer,
    private readonly ul: UsrlocApi,
    private readonly tableName: string,
  ) {
    this.off = ul.onChange((c) => this.onChange(c));
  }

  /** The usrloc AoR of a presentity URI (use_domain, case rules of usrloc). */
  aorOf(uri: string): string | null {
    return this.ul.normalizeAor(uri);
  }

  /** A `reg` watcher of `uri` was added on this node. */
  watch(uri: string): void {
    const aor = this.aorOf(uri);
    if (aor === null) return;
    let s = this.watched.get(aor);
    if (!s) this.watched.set(aor, (s = new Set()));
    s.add(uri);
  }

  /** The last `reg` watcher of `uri` on this node is gone. */
  unwatch(uri: string): void {
    const aor = this.aorOf(uri);
    if (aor === null) return;
    const s = this.watched.get(aor);
    s?.delete(uri);
    if (s && s.size === 0) {
      this.watched.delete(aor);
      const t = this.ul.existing(this.tableName);
      if (t) for (const b of t.get(aor)) this.lastEvent.delete(b.ruid);
    }
  }

  private onChange(c: UsrlocChange): void {
    if (c.table !== this.tableName) return;
    const uris = this.watched.get(c.binding.aor);
    if (!uris) return;
    const ev = contactEventOf(c);
    if (c.kind === "added" || c.kind === "refreshed") this.lastEvent.set(c.binding.ruid, ev);
    else {
      this.lastEvent.delete(c.binding.ruid);
      const snap = regContact(c.binding, "terminated", ev, Math.floor(Date.now() / 1000));
      for (const uri of uris) {
        const list = this.pending.get(uri);
        if (list) list.push(snap);
        else this.pending.set(uri, [snap]);
      }
    }
    for (const uri of uris) this.schedule(uri);
  }

  private readonly scheduled = new Set<string>();

  private schedule(uri: string): void {
    if (this.scheduled.has(uri)) return;
    this.scheduled.add(uri);
    queueMicrotask(() => {
      this.scheduled.delete(uri);
      const terminated = this.pending.get(uri) ?? [];
      this.pending.delete(uri);
      const reg = this.registration(uri, terminated);
      this.srv.changedWith(uri, "reg", (w) => reginfoBody([reg], w.version - 1, "full"));
    });
  }

  /** The registration of a presentity now, plus contacts that just ended. */
  registration(uri: string, terminated: readonly RegContact[]): RegRegistration {
    const aor = this.aorOf(uri);
    const t = this.ul.existing(this.tableName);
    const now = Math.floor(Date.now() / 1000);
    const active = aor !== null && t ? t.valid(aor, now).map((b) => regContact(b, "active", this.lastEvent.get(b.ruid) ?? "registered", now)) : [];
    const ids = new Set(active.map((c) => c.id));
    const contacts = [...active, ...terminated.filter((c) => !ids.has(c.id))];
    const state = active.length > 0 ? "active" : terminated.length > 0 ? "terminated" : "init";
    return { aor: uri, id: createHash("sha1").update(uri).digest("hex").slice(0, 12), state, contacts };
  }

  /** Body of a NOTIFY sent outside a change (subscribe, refresh, un-subscribe): the full state. */
  body(w: Watcher): string {
    return reginfoBody([this.registration(w.presentityUri, [])], w.version - 1, "full");
  }

  close(): void {
    this.off();
  }
}
