import type { Presentity, Watcher } from "./types.js";

/**
 * Event packages the presence server knows (Kamailio's presence_xml, presence_mwi,
 * presence_dialoginfo and the winfo part of presence): the Content-Type of their bodies and how
 * several publications of one presentity become one NOTIFY body.
 *
 *   presence         application/pidf+xml              RFC 3856 / 3863: tuples of every publisher merged
 *   message-summary  application/simple-message-summary RFC 3842: the newest publication
 *   dialog           application/dialog-info+xml       RFC 4235: dialogs of every publisher merged
 *   presence.winfo   application/watcherinfo+xml       RFC 3857 / 3858: built from the watchers (no PUBLISH)
 *   reg              application/reginfo+xml           RFC 3680: built from usrloc's bindings (no PUBLISH; reginfo.ts)
 */
export interface EventPackage {
  readonly name: string;
  readonly contentType: string;
  /** Whether PUBLISH is accepted for it. */
  readonly publishable: boolean;
}

export const PACKAGES: ReadonlyMap<string, EventPackage> = new Map([
  ["presence", { name: "presence", contentType: "application/pidf+xml", publishable: true }],
  ["message-summary", { name: "message-summary", contentType: "application/simple-message-summary", publishable: true }],
  ["dialog", { name: "dialog", contentType: "application/dialog-info+xml", publishable: true }],
  ["presence.winfo", { name: "presence.winfo", contentType: "application/watcherinfo+xml", publishable: false }],
  ["reg", { name: "reg", contentType: "application/reginfo+xml", publishable: false }],
]);

/** Allow-Events value of replies (RFC 6665 §8.2.2). */
export const ALLOW_EVENTS = [...PACKAGES.keys()].join(", ");
/** Allow-Events without `reg` (usrloc not configured). */
export const ALLOW_EVENTS_NO_REG = [...PACKAGES.keys()].filter((k) => k !== "reg").join(", ");

/** The event package name of an Event header value (`presence;id=1` → presence), lower-cased. */
export function eventName(header: string): { name: string; id: string | null } {
  const parts = header.split(";");
  const name = parts[0]!.trim().toLowerCase();
  let id: string | null = null;
  for (const p of parts.slice(1)) {
    const [k, v] = p.split("=");
    if (k?.trim().toLowerCase() === "id" && v !== undefined) id = v.trim();
  }
  return { name, id };
}

export function escapeXml(s: string): string {
  return s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");
}

/** Inner elements of the root element of an XML document (`<presence ...>` → what is inside), or null. */
function innerOf(body: string, root: string): string | null {
  const open = new RegExp(`<(?:[A-Za-z0-9_-]+:)?${root}\\b[^>]*>`).exec(body);
  if (!open) return null;
  const close = new RegExp(`</(?:[A-Za-z0-9_-]+:)?${root}\\s*>\\s*$`).exec(body.trimEnd());
  if (!close) return null;
  return body.trimEnd().slice(open.index + open[0].length, close.index);
}

/** Namespace declarations of a root element (kept when merging so prefixed children still resolve). */
function namespacesOf(body: string, root: string): string[] {
  const open = new RegExp(`<(?:[A-Za-z0-9_-]+:)?${root}\\b([^>]*)>`).exec(body);
  if (!open) return [];
  return [...open[1]!.matchAll(/\sxmlns(?::[A-Za-z0-9_-]+)?="[^"]*"/g)].map((m) => m[0].trim());
}

/**
 * One PIDF document for all publications of a presentity (RFC 3863 §4.1; Kamailio presence_xml's
 * aggregation): the children of every `<presence>` (tuples, persons, devices) inside one root
 * whose entity is the presentity, the newest publication first. null when there is nothing.
 */
export function aggregatePidf(entity: string, pubs: readonly Presentity[]): string | null {
  if (pubs.length === 0) return null;
  if (pubs.length === 1) return pubs[0]!.body;
  const ns = new Set<string>(['xmlns="urn:ietf:params:xml:ns:pidf"']);
  let inner = "";
  // newest first; within one second the later-stored publication first (the cache keeps store order)
  const order = pubs.map((p, i) => ({ p, i })).sort((a, b) => b.p.receivedTime - a.p.receivedTime || b.p.priority - a.p.priority || b.i - a.i);
  for (const { p } of order) {
    const body = innerOf(p.body, "presence");
    if (body === null) continue;
    for (const n of namespacesOf(p.body, "presence")) ns.add(n);
    inner += body.trim() + "\n";
  }
  return `<?xml version="1.0" encoding="UTF-8"?>\n<presence ${[...ns].join(" ")} entity="${escapeXml(entity)}">\n${inner}</presence>\n`;
}

/** dialog-info (RFC 4235 §4.1): every publisher's dialogs in one document, version = the watcher's. */
export function aggregateDialogInfo(entity: string, pubs: readonly Presentity[], version: number): string {
  let inner = "";
  for (const p of pubs) inner += (innerOf(p.body, "dialog-info") ?? "").trim() + (pubs.length > 0 ? "\n" : "");
  const state = pubs.length === 0 ? "full" : "full";
  return (
    `<?xml version="1.0"?>\n<dialog-info xmlns="urn:ietf:params:xml:ns:dialog-info" version="${version}" state="${state}" entity="${escapeXml(entity)}">\n` +
    `${inner.trim() === "" ? "" : inner}</dialog-info>\n`
  );
}

/** A dialog-info document of one call as pua_dialoginfo publishes it (RFC 4235 §4.1). */
export function dialogInfoBody(p: {
  entity: string;
  id: string;
  callId: string;
  localTag: string;
  remoteTag: string | null;
  direction: "initiator" | "recipient";
  state: "trying" | "proceeding" | "early" | "confirmed" | "terminated";
  local: string;
  remote: string;
}): string {
  const tags = `call-id="${escapeXml(p.callId)}" local-tag="${escapeXml(p.localTag)}"${p.remoteTag ? ` remote-tag="${escapeXml(p.remoteTag)}"` : ""}`;
  return (
    `<?xml version="1.0"?>\n<dialog-info xmlns="urn:ietf:params:xml:ns:dialog-info" version="1" state="full" entity="${escapeXml(p.entity)}">\n` +
    `<dialog id="${escapeXml(p.id)}" ${tags} direction="${p.direction}">\n<state>${p.state}</state>\n` +
    `<local><identity>${escapeXml(p.local)}</identity></local>\n<remote><identity>${escapeXml(p.remote)}</identity></remote>\n` +
    `</dialog>\n</dialog-info>\n`
  );
}

/**
 * watcherinfo (RFC 3858 §4): the watcher list of one presentity for one event, version = the
 * subscriber's NOTIFY count, state full.
 */
export function watcherInfoBody(resource: string, watchedEvent: string, watchers: readonly Watcher[], version: number): string {
  let list = "";
  for (const w of watchers) {
    const status = w.status === 1 ? "active" : w.status === 2 ? "pending" : "terminated";
    const event = w.status === 3 ? "timeout" : w.status === 1 ? "subscribe" : "subscribe";
    list += `<watcher id="${escapeXml(w.callId.slice(0, 32))}" event="${event}" status="${status}">sip:${escapeXml(w.watcherUsername)}@${escapeXml(w.watcherDomain)}</watcher>\n`;
  }
  return (
    `<?xml version="1.0"?>\n<watcherinfo xmlns="urn:ietf:params:xml:ns:watcherinfo" version="${version}" state="full">\n` +
    `<watcher-list resource="${escapeXml(resource)}" package="${escapeXml(watchedEvent)}">\n${list}</watcher-list>\n</watcherinfo>\n`
  );
}

/** A PIDF document with one tuple, as a publisher API builds it (basic open/closed + a note). */
export function simplePidf(entity: string, basic: "open" | "closed", note: string | null): string {
  return (
    `<?xml version="1.0" encoding="UTF-8"?>\n<presence xmlns="urn:ietf:params:xml:ns:pidf" entity="${escapeXml(entity)}">\n` +
    `<tuple id="olelo"><status><basic>${basic}</basic></status>${note ? `<note>${escapeXml(note)}</note>` : ""}</tuple>\n</presence>\n`
  );
}

/** Body of a NOTIFY for a watcher: the aggregated state of its presentity, or null (no body). */
export function notifyBody(w: Watcher, pubs: readonly Presentity[]): string | null {
  switch (w.event) {
    case "presence":
      return aggregatePidf(w.presentityUri, pubs);
    case "message-summary": {
      if (pubs.length === 0) return "Messages-Waiting: no\r\n";
      let newest = pubs[0]!;
      for (const p of pubs) if (p.receivedTime > newest.receivedTime) newest = p;
      return newest.body;
    }
    case "dialog":
      return aggregateDialogInfo(w.presentityUri, pubs, w.version);
    default:
      return null;
  }
}
