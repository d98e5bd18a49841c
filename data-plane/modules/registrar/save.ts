import type { Logger, NameAddr, RequestContext, StatGroup } from "../../core/api.js";
import { ALL_METHODS, ContactFlag, parseMethods, type Binding, type BindingInfo, nowSeconds, type ChangeOrigin, type LocationTable, MatchCode, matchContact, type MatchQuery } from "../usrloc/api.js";
import type { UsrlocApi } from "../usrloc/api.js";
import { nameAddrUri, splitHeaderList, splitUri, uriParam } from "../../core/kit/index.js";
import { extractAor, type AorRules } from "./aor.js";
import { getBflags } from "./branch-flags.js";
import { CALLID_MAX_SIZE, MAX_UA_SIZE, RECEIVED_MAX_SIZE, readContact, unquote, type ContactRequest } from "./contact-info.js";
import type { RegistrarParams } from "./params.js";
import { PREPARED_REPLY_VAR, REASONS, RegError, RegFailure, buildContactList, errorHeaders, type PreparedReply } from "./reply.js";

/** save() flags (Kamailio REG_SAVE_*_FL). */
export const SaveFlag = {
  /** 0x01: keep the bindings in memory only (never written to storage). */
  MEM: 1,
  /** 0x02: do not send the reply. */
  NO_REPLY: 2,
  /** 0x04: one contact per AoR — the saved contact replaces all others. */
  REPLACE: 4,
  /** 0x08: ignore expires_range / default_expires_range. */
  NO_VARIATION: 8,
  /** 0x10: with 0x02, prepare the reply for sendReply() instead of dropping it. */
  PREPARE_REPLY: 16,
} as const;

/** save() return codes (Kamailio). */
export const SaveResult = { INSERTED: 1, UPDATED: 2, DELETED: 3, QUERIED: 4, ERROR: -1, TOO_MANY: -2 } as const;

/** What save/lookup need from the module. */
export interface RegistrarDeps {
  readonly params: RegistrarParams;
  readonly ul: UsrlocApi;
  readonly stats: StatGroup;
  readonly log: Logger;
}

/** AoR rules from the registrar (case, realm prefix) and usrloc (use_domain). */
export function aorRules(d: RegistrarDeps): AorRules {
  return { useDomain: d.ul.params.use_domain, caseSensitive: d.params.case_sensitive, realmPrefix: d.params.realm_prefix };
}

const NO_TAGS: ReadonlySet<string> = new Set();

/** Option tags of Supported/Require (compact `k` included), lower-cased. */
function optionTags(req: RequestContext, name: string): ReadonlySet<string> {
  const values = req.msg.headerValues(name);
  if (values.length === 0) return NO_TAGS;
  const out = new Set<string>();
  for (const v of values) for (const t of v.split(",")) if (t.trim()) out.add(t.trim().toLowerCase());
  return out;
}

/** `proto:ip:port` of where a request came from (the `source` of registration events). */
export function sourceOf(req: RequestContext): string {
  const s = req.source;
  return `${s.proto}:${s.address.includes(":") ? `[${s.address}]` : s.address}:${s.port}`;
}

/** What every contact of one REGISTER shares. */
interface BaseInfo {
  readonly callid: string;
  readonly cseq: number;
  readonly userAgent: string;
  readonly socket: string;
  readonly path: string | null;
  readonly cflags: number;
  readonly flags: number;
  readonly serverId: number;
  readonly connectionId: number;
}

interface PathInfo {
  readonly path: string | null;
  readonly received: string | null;
}

/** Joins the Path headers (Kamailio build_path_vector); the first hop must be a loose router. */
function readPath(req: RequestContext, p: RegistrarParams): PathInfo {
  const fields = req.msg.headerAll("path");
  if (fields.length === 0) return { path: null, received: null };
  const path = fields.map((f) => f.trim()).join(",");
  const first = splitHeaderList(path)[0];
  const u = first ? splitUri(nameAddrUri(first)) : null;
  if (!u || uriParam(u, "lr") === undefined) throw new RegFailure("PARSE_PATH");
  let received: string | null = null;
  if (p.path_use_received) {
    const r = uriParam(u, "received");
    if (r) {
      try {
        received = decodeURIComponent(unquote(r));
      } catch {
        throw new RegFailure("PARSE_PATH");
      }
    }
  }
  return { path, received };
}

/** The Contact values of the request: "*", a list, or a RegFailure for malformed ones. */
function readContacts(req: RequestContext): NameAddr[] | "*" {
  const cs = req.msg.contacts();
  if (cs === "*") return "*";
  if (cs.length > 0) return cs as NameAddr[];
  const fields = req.msg.headerAll("contact");
  if (fields.length === 0) return [];
  const values = fields.flatMap((f) => splitHeaderList(f));
  if (values.some((v) => v === "*")) throw new RegFailure("STAR_CONT");
  throw new RegFailure("PARSE_CONT");
}

/**
 * [save(table, flags, uri)] processes a REGISTER (RFC 3261 §10.3, Kamailio registrar save):
 * adds, refreshes and removes the bindings of the To AoR (or `uri`), then answers 200 with every
 * current binding (or an error: 400, 420, 421, 423 with Min-Expires, 503 too many contacts).
 * Everything that can fail is checked before the first binding changes, so a rejected
 * REGISTER leaves the location table as it was.
 *
 * Returns 1 inserted, 2 updated, 3 deleted, 4 query only, -1 error, -2 too many contacts.
 */
export function save(d: RegistrarDeps, req: RequestContext, tableName = "location", flags = 0, uri?: string): number {
  const p = d.params;
  const msg = req.msg;
  const now = nowSeconds();
  let table: LocationTable | null = null;
  let aor: string | null = null;
  try {
    table = d.ul.table(tableName);
    aor = extractAor(uri ?? msg.to.uriText, aorRules(d));
    const callid = msg.callId.trim();
    if (!callid) throw new RegFailure("CID_MISS");
    if (callid.length > CALLID_MAX_SIZE) throw new RegFailure("CALLID_LEN");
    const cseq = msg.cseq.seq;
    const eh = msg.header("expires");
    let headerExpires: number | null = null;
    if (eh !== null) {
      if (!/^\s*\d{1,10}\s*$/.test(eh) || Number(eh) > 0xffffffff) throw new RegFailure("PARSE_EXP");
      headerExpires = Number(eh.trim());
    }
    const contacts = readContacts(req);
    if (contacts === "*" && headerExpires !== 0) throw new RegFailure("STAR_EXP");
    const supported = optionTags(req, "supported");
    const require = optionTags(req, "require");
    checkExtensions(p, supported, require);
    const pi = p.use_path ? readPath(req, p) : { path: null, received: null };
    if (pi.path && p.path_mode === 2 && !supported.has("path")) {
      throw new RegFailure("PATH_UNSUP", [
        ["Unsupported", "path"],
        ["Path", pi.path],
      ]);
    }
    const allowFields = msg.headerAll("allow");
    const allow = allowFields.length ? (parseMethods(allowFields.join(",")) ?? ALL_METHODS) : null;
    const ua = msg.header("user-agent");
    const userAgent = ua && ua.length > 0 && ua.length < MAX_UA_SIZE ? ua : "n/a";
    const rv = req.vars.get(p.received_avp);
    const varReceived = typeof rv === "string" && rv !== "" ? rv : null;
    if (varReceived && varReceived.length > RECEIVED_MAX_SIZE) throw new RegFailure("CONTACT_LEN");
    const memOnly = (flags & SaveFlag.MEM) !== 0;
    const origin: ChangeOrigin = { source: sourceOf(req), memOnly };
    const base: BaseInfo = {
      callid,
      cseq,
      userAgent,
      socket: req.localSocket,
      path: pi.path,
      cflags: getBflags(req) | (pi.received ? d.ul.natMask : 0),
      flags: memOnly ? ContactFlag.MEM : 0,
      serverId: d.ul.params.server_id,
      connectionId: -1,
    };

    let rc: number;
    if (contacts === "*") {
      table.removeAor(aor, origin);
      rc = SaveResult.DELETED;
    } else if (contacts.length === 0) {
      rc = SaveResult.QUERIED;
    } else {
      const novariation = (flags & SaveFlag.NO_VARIATION) !== 0;
      const reqs = contacts.map((na) => readContact(na, headerExpires, allow, p, novariation));
      rc = applyContacts(d, table, aor, reqs, base, pi.received ?? varReceived, flags, origin, now);
    }
    d.stats.inc("accepted_regs");

    const headers: Array<[string, string]> = [];
    const list = buildContactList(table.valid(aor, now), now, p.received_param);
    if (list) headers.push(["Contact", list]);
    if (pi.path && p.path_mode !== 0 && supported.has("path")) headers.push(["Path", pi.path]);
    outboundHeaders(p, supported, require, headers);
    finish(req, flags, { code: 200, reason: REASONS[200]!, headers });
    return rc;
  } catch (e) {
    let f: RegFailure;
    if (e instanceof RegFailure) f = e;
    else {
      d.log.error("registrar: save failed", { callId: msg.callId, error: e instanceof Error ? e.message : String(e) });
      f = new RegFailure("UL_ERROR");
    }
    d.stats.inc("rejected_regs");
    const headers = errorHeaders(f, p.retry_after);
    if (table && aor) {
      const list = buildContactList(table.valid(aor, now), now, p.received_param);
      if (list) headers.unshift(["Contact", list]);
    }
    const code = RegError[f.kind].code;
    finish(req, flags, { code, reason: REASONS[code] ?? "Bad Request", headers });
    return f.kind === "TOO_MANY" ? SaveResult.TOO_MANY : SaveResult.ERROR;
  }
}

function finish(req: RequestContext, flags: number, r: PreparedReply): void {
  if (flags & SaveFlag.NO_REPLY) {
    if (flags & SaveFlag.PREPARE_REPLY) req.vars.set(PREPARED_REPLY_VAR, r);
    return;
  }
  req.reply(r.code, r.reason, { headers: r.headers });
}

/** RFC 5626 / RFC 3261 §8.2.2.3 checks on Supported and Require (Kamailio save()). */
function checkExtensions(p: RegistrarParams, supported: ReadonlySet<string>, require: ReadonlySet<string>): void {
  if (p.outbound_mode === 2 && !supported.has("outbound")) {
    throw new RegFailure("OB_UNSUP", [
      ["Require", "outbound"],
      ["Supported", "outbound"],
    ]);
  }
  if (require.has("outbound") && p.outbound_mode === 0) throw new RegFailure("OB_REQD", [["Unsupported", "outbound"]]);
  if (require.size === 0) return;
  const unknown: string[] = [];
  for (const t of require) if (t !== "outbound" && !(t === "path" && p.use_path)) unknown.push(t);
  if (unknown.length) throw new RegFailure("UNSUPPORTED", [["Unsupported", unknown.join(", ")]]);
}

function outboundHeaders(p: RegistrarParams, supported: ReadonlySet<string>, require: ReadonlySet<string>, h: Array<[string, string]>): void {
  if (p.outbound_mode === 0) return;
  if (p.outbound_mode === 2) h.push(["Require", "outbound"], ["Supported", "outbound"]);
  else {
    h.push(["Supported", "outbound"]);
    if (!require.has("outbound") && !supported.has("outbound")) return;
    h.push(["Require", "outbound"]);
  }
  if (p.flow_timer > 0) h.push(["Flow-Timer", String(p.flow_timer)]);
}

function query(r: ContactRequest, callid: string, path: string | null, cseq: number): MatchQuery {
  return { contact: r.uri, callid, path, cseq, instance: r.instance, regId: r.regId };
}

/** The binding info of one contact of a REGISTER (no object spread: this runs per REGISTER). */
function contactInfo(base: BaseInfo, r: ContactRequest, received: string | null, now: number): BindingInfo {
  return {
    contact: r.uri,
    expires: now + r.expires,
    q: r.q,
    callid: base.callid,
    cseq: base.cseq,
    received: r.received ?? received,
    path: base.path,
    flags: base.flags,
    cflags: base.cflags,
    userAgent: base.userAgent,
    socket: base.socket,
    methods: r.methods,
    instance: r.instance,
    regId: r.regId,
    serverId: base.serverId,
    connectionId: base.connectionId,
  };
}

/** Removes every binding of `aor` but `keep` (all, or only those of keep's +sip.instance). */
function removeOthers(table: LocationTable, aor: string, keep: Binding, sameInstanceOnly: boolean, origin: ChangeOrigin): void {
  const list = table.get(aor).slice();
  for (const b of list) {
    if (b === keep) continue;
    if (sameInstanceOnly && (b.instance === null || b.instance !== keep.instance)) continue;
    table.remove(b, origin);
  }
}

/**
 * Adds/refreshes/removes the contacts of one REGISTER (Kamailio insert_contacts / update_contacts).
 * A dry run first finds out-of-order CSeqs and counts the bindings against max_contacts, so an
 * error changes nothing. Returns 1 (new AoR or insert), 2 (update) or 3 (delete): the last change.
 */
function applyContacts(
  d: RegistrarDeps,
  table: LocationTable,
  aor: string,
  reqs: readonly ContactRequest[],
  base: BaseInfo,
  received: string | null,
  flags: number,
  origin: ChangeOrigin,
  now: number,
): number {
  const ul = d.ul.params;
  const replace = (flags & SaveFlag.REPLACE) !== 0;
  const max = d.params.max_contacts;
  const existing = table.get(aor);
  const callid = base.callid;
  const cseq = base.cseq;
  const path = base.path;

  if (existing.length === 0 && reqs.length === 1) {
    // the common case: one contact of an AoR without bindings — nothing to match or count
    const r = reqs[0]!;
    if (r.expires !== 0) table.insert(aor, contactInfo(base, r, received, now), origin, now);
    return SaveResult.INSERTED;
  }

  // dry run: CSeq order and max_contacts (Kamailio test_max_contacts)
  let num = 0;
  for (const b of existing) if (b.isValid(now)) num++;
  const seen = new Set<string>();
  for (const r of reqs) {
    const key = r.instance ? `i:${r.instance}:${r.regId}` : `c:${r.uri}`;
    if (seen.has(key)) continue;
    seen.add(key);
    const m = matchContact(existing, query(r, callid, path, cseq), ul.matching_mode, ul.cseq_delay, now);
    if (m.code === MatchCode.INVALID_CSEQ) throw new RegFailure("INV_CSEQ");
    if (m.code === MatchCode.SKIP) continue;
    if (m.code === MatchCode.NOT_FOUND) {
      if (r.expires !== 0) num++;
    } else if (r.expires === 0 && m.binding!.isValid(now)) num--;
  }
  if (max > 0 && !replace && num > max) throw new RegFailure("TOO_MANY");

  let rc = 0;
  for (const r of reqs) {
    const m = matchContact(table.get(aor), query(r, callid, path, cseq), ul.matching_mode, ul.cseq_delay, now);
    if (m.code === MatchCode.SKIP || m.code === MatchCode.INVALID_CSEQ) {
      // a retransmission, or the same contact twice in this REGISTER
      if (r.expires !== 0 && replace) break;
      continue;
    }
    if (m.code === MatchCode.NOT_FOUND) {
      if (r.expires === 0) continue;
      const b = table.insert(aor, contactInfo(base, r, received, now), origin, now);
      rc = SaveResult.INSERTED;
      if (replace) {
        removeOthers(table, aor, b, false, origin);
        break;
      }
      continue;
    }
    const b = m.binding!;
    if (r.expires === 0) {
      table.remove(b, origin);
      rc = SaveResult.DELETED;
      continue;
    }
    // replace: the others go; a device instance that restarted (new Call-ID): its other flows go
    if (replace) removeOthers(table, aor, b, false, origin);
    else if (b.instance && b.callid !== callid) removeOthers(table, aor, b, true, origin);
    table.update(b, contactInfo(base, r, received, now), origin, now);
    rc = SaveResult.UPDATED;
    if (replace) break;
  }
  return existing.length === 0 || rc === 0 ? SaveResult.INSERTED : rc;
}
