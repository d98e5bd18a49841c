import type { RequestContext, RequestState } from "../../core/api.js";
import { allowsMethod, type Binding, nowSeconds, type ChangeOrigin } from "../usrloc/api.js";
import { nameAddrUri, splitHeaderList, splitUri, uriParam } from "../../core/kit/index.js";
import { tryExtractAor } from "./aor.js";
import { getBflags, setBflags } from "./branch-flags.js";
import { unquote } from "./contact-info.js";
import { aorRules, type RegistrarDeps } from "./save.js";

/** lookup() return codes (Kamailio). */
export const LookupResult = { FOUND: 1, NOT_FOUND: -1, METHOD_NOT_ALLOWED: -2, ERROR: -3 } as const;

/** One target lookup() produced, remembered for loadContacts (t_load_contacts). */
export interface LookupTarget {
  readonly uri: string;
  readonly dst: string | null;
  readonly path: string | null;
  readonly socket: string | null;
  /** q in thousandths, or -1. */
  readonly q: number;
  readonly flags: number;
  readonly instance: string | null;
  readonly ruid: string;
}

/** req.vars key of the targets of the last lookup (R-URI first). */
export const LOOKUP_TARGETS_VAR = "registrar:targets";

/**
 * Where a contact's requests go: the first Path hop (RFC 3327; its `received` parameter with
 * path_use_received), else the NAT address (`received`), else the contact itself (null).
 */
export function destinationOf(b: Binding, pathUseReceived: boolean): string | null {
  if (b.path) {
    const first = splitHeaderList(b.path)[0];
    if (first) {
      const hop = nameAddrUri(first);
      if (pathUseReceived) {
        const u = splitUri(hop);
        const r = u ? uriParam(u, "received") : undefined;
        if (r) {
          try {
            return decodeURIComponent(unquote(r));
          } catch {
            /* fall back to the hop itself */
          }
        }
      }
      return hop;
    }
  }
  return b.received;
}

function targetOf(b: Binding, pathUseReceived: boolean): LookupTarget {
  return {
    uri: b.contact,
    dst: destinationOf(b, pathUseReceived),
    path: b.path,
    socket: b.socket,
    q: b.q,
    flags: b.cflags,
    instance: b.instance,
    ruid: b.ruid,
  };
}

/** Makes `t` the R-URI branch: R-URI, $du, path vector, send socket and branch flags. */
export function useAsRuri(req: RequestState, t: LookupTarget): void {
  req.setRuri(t.uri);
  req.setDst(t.dst);
  req.setPath(t.path);
  if (t.socket) req.forceSendSocket(t.socket);
  setBflags(req, getBflags(req) | t.flags);
}

/** Adds `t` as an extra branch with its own $du, path, socket and flags. */
export function appendTarget(req: RequestState, t: LookupTarget): void {
  req.appendBranch(t.uri, {
    dst: t.dst ?? undefined,
    q: t.q < 0 ? undefined : t.q / 1000,
    flags: t.flags,
    socket: t.socket ?? undefined,
    path: t.path ?? undefined,
  });
}

/**
 * [lookup(table, uri)] (Kamailio registrar lookup): the highest-q valid contact of the R-URI's AoR
 * (or `uri`'s) becomes the R-URI — with $du set to its first Path hop or NAT address, its path
 * vector, its socket forced and its cflags as branch flags — and, with append_branches, every
 * other valid contact becomes a branch carrying the same per-branch data (parallel forking).
 * With method_filtering, contacts that do not allow the request method are skipped.
 *
 * Returns 1 found, -1 not found, -2 found but the method is not allowed, -3 error.
 */
export function lookup(d: RegistrarDeps, req: RequestContext, tableName = "location", uri?: string): number {
  let table;
  try {
    table = d.ul.table(tableName);
  } catch {
    return LookupResult.ERROR;
  }
  const aor = tryExtractAor(uri ?? req.ruri, aorRules(d));
  if (aor === null) return LookupResult.ERROR;
  const now = nowSeconds();
  const valid = table.valid(aor, now);
  if (valid.length === 0) return LookupResult.NOT_FOUND;
  const filter = d.params.method_filtering;
  const method = req.method;
  const chosen: Binding[] = [];
  let disallowed = false;
  for (const b of valid) {
    if (filter && !allowsMethod(b.methods, method)) {
      disallowed = true;
      continue;
    }
    chosen.push(b);
    if (!d.params.append_branches) break;
  }
  return useBindings(d, req, chosen, disallowed);
}

/**
 * [lookup_branches] lookup() over several AoRs at once (an alias naming several users, a ring
 * group): the valid contacts of every AoR in `uris` (default: the R-URI), in that order, become
 * the destination set — the first the R-URI, the rest branches. Returns 1 found, -1 none,
 * -2 found but no contact allows the method, -3 when no URI is usable.
 */
export function lookupBranches(d: RegistrarDeps, req: RequestContext, tableName = "location", uris?: readonly string[]): number {
  let table;
  try {
    table = d.ul.table(tableName);
  } catch {
    return LookupResult.ERROR;
  }
  const now = nowSeconds();
  const rules = aorRules(d);
  const seen = new Set<string>();
  const chosen: Binding[] = [];
  let disallowed = false;
  let usable = false;
  for (const uri of uris ?? [req.ruri]) {
    const aor = tryExtractAor(uri, rules);
    if (aor === null || seen.has(aor)) continue;
    usable = true;
    seen.add(aor);
    for (const b of table.valid(aor, now)) {
      if (d.params.method_filtering && !allowsMethod(b.methods, req.method)) {
        disallowed = true;
        continue;
      }
      chosen.push(b);
    }
  }
  if (!usable) return LookupResult.ERROR;
  return useBindings(d, req, chosen, disallowed);
}

/**
 * The end of lookup() and lookupBranches(): the chosen contacts become the destination set (the
 * first the R-URI, the rest branches), remembered in LOOKUP_TARGETS_VAR; with none, -2 when
 * contacts were skipped for the method, else -1.
 */
function useBindings(d: RegistrarDeps, req: RequestContext, chosen: readonly Binding[], disallowed: boolean): number {
  if (chosen.length === 0) return disallowed ? LookupResult.METHOD_NOT_ALLOWED : LookupResult.NOT_FOUND;
  const targets = chosen.map((b) => targetOf(b, d.params.path_use_received));
  useAsRuri(req, targets[0]!);
  for (let i = 1; i < targets.length; i++) appendTarget(req, targets[i]!);
  req.vars.set(LOOKUP_TARGETS_VAR, targets);
  return LookupResult.FOUND;
}

/** Match options of registered() (Kamailio match_option bits). */
export interface RegisteredMatch {
  /** bit 1: a contact with this Call-ID. */
  readonly callid?: string;
  /** bit 2: a contact with this received address. */
  readonly received?: string;
  /** bit 4: this contact URI. */
  readonly contact?: string;
}

/**
 * [registered(table, uri)] whether the AoR of the R-URI (or `uri`) has a valid contact (that
 * matches every given option). Returns 1 or -1.
 */
export function registered(d: RegistrarDeps, req: RequestContext, tableName = "location", uri?: string, match: RegisteredMatch = {}): number {
  const t = d.ul.existing(tableName);
  if (!t) return -1;
  const aor = tryExtractAor(uri ?? req.ruri, aorRules(d));
  if (aor === null) return -1;
  for (const b of t.valid(aor)) {
    if (match.callid !== undefined && b.callid !== match.callid) continue;
    if (match.received !== undefined && b.received !== match.received) continue;
    if (match.contact !== undefined && b.contact !== match.contact) continue;
    return 1;
  }
  return -1;
}

/**
 * [unregister(table, uri[, ruid])] removes every binding of the AoR of `uri` (or the To URI), or
 * only the one with `ruid`. Returns 1 done, -1 bad AoR, -2 could not delete, -3 ruid not found.
 */
export function unregister(d: RegistrarDeps, req: RequestContext, tableName = "location", uri?: string, ruid?: string): number {
  const t = d.ul.table(tableName);
  const origin: ChangeOrigin = { source: "script" };
  if (!ruid) {
    const aor = tryExtractAor(uri ?? req.msg.to.uriText, aorRules(d));
    if (aor === null) return -1;
    t.removeAor(aor, origin);
    return 1;
  }
  let b: Binding | undefined;
  if (uri) {
    const aor = tryExtractAor(uri, aorRules(d));
    if (aor === null) return -1;
    b = t.byRuid(aor, ruid);
  } else b = t.findRuid(ruid);
  if (!b) return -3;
  return t.remove(b, origin) ? 1 : -2;
}
