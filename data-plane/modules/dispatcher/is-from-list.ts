import type { RequestContext } from "../../core/api.js";
import type { DispatcherEngine } from "./engine.js";
import { DS_NODNSARES, isSkipped } from "../../../tables/dispatcher/flags.js";
import { VAR_ATTRS, VAR_SETID } from "./select/dst-list.js";
import { normalizeIp, type DestLocation, type LiveSet } from "./state.js";
import { effectiveTransport, isIpv4, isIpv6, checkSipUri } from "../../core/kit/index.js";

/**
 * ds_is_from_list([set [, mode [, uri]]]): does the request come from (or does `uri` point at)
 * one of the destinations? Matches the source address of the request (`req.source`) against
 * each destination's address (IP literal, or the addresses its host name resolved to at load).
 *
 * Mode bits (Kamailio): 1 ignore port, 2 ignore protocol, 4 the destination must be active,
 * 8 the request must have arrived on the destination's socket, 16 best match: when several
 * destinations match the address, prefer the one matching port, protocol and socket too.
 * Without a mode, 2 applies (Kamailio's default). Set -1 (or omitted) searches every set.
 * A destination without port matches any port; one without `transport` matches udp (sip:) or
 * tls (sips:) — Kamailio compares against "no protocol" there and never matches in strict mode.
 * On a match, `req.vars` gets "dispatcher:setid" and "dispatcher:attrs".
 */
export const MATCH_NOPORT = 1;
export const MATCH_NOPROTO = 2;
export const MATCH_ACTIVE = 4;
export const MATCH_SOCKET = 8;
export const MATCH_BEST = 16;

interface Probe {
  addr: string;
  port: number;
  proto: string;
  local: string;
}

export function isFromList(engine: DispatcherEngine, req: RequestContext, setid = -1, mode = MATCH_NOPROTO, uri?: string): boolean {
  let probe: Probe;
  if (uri !== undefined && uri !== "") {
    const u = checkSipUri(uri);
    if (typeof u === "string") return false;
    if (!isIpv4(u.host) && !isIpv6(u.host)) {
      // no DNS on the request path: a host name matches destinations written with the same name
      probe = { addr: u.host.toLowerCase(), port: u.port === 0 ? (u.scheme === "sips" ? 5061 : 5060) : u.port, proto: effectiveTransport(u), local: req.localSocket };
    } else {
      probe = { addr: normalizeIp(u.host), port: u.port === 0 ? (u.scheme === "sips" ? 5061 : 5060) : u.port, proto: effectiveTransport(u), local: req.localSocket };
    }
  } else {
    probe = { addr: normalizeIp(req.source.address), port: req.source.port, proto: req.source.proto, local: req.localSocket };
  }
  if (setid !== -1) {
    const set = engine.live.sets.get(setid);
    if (!set) return false;
    const r = matchSet(set, probe, mode, null);
    return r.match !== null ? found(req, r.match) : r.best !== null ? found(req, r.best.loc) : false;
  }
  let best: { loc: DestLocation; score: number } | null = null;
  for (const set of engine.live.sets.values()) {
    const r = matchSet(set, probe, mode, best);
    if (r.match !== null) return found(req, r.match);
    best = r.best;
  }
  return best !== null ? found(req, best.loc) : false;
}

/**
 * Scans one set. Returns a definite match (first match, or a perfect one in best-match mode) or
 * the best partial match so far (mode 16).
 */
function matchSet(
  set: LiveSet,
  probe: Probe,
  mode: number,
  bestIn: { loc: DestLocation; score: number } | null,
): { match: DestLocation | null; best: { loc: DestLocation; score: number } | null } {
  let best = bestIn;
  for (let i = 0; i < set.size; i++) {
    const d = set.def.dests[i]!;
    const rt = set.rt[i]!;
    if (rt.flags & DS_NODNSARES) continue;
    const hostMatch = rt.addrs.includes(probe.addr) || d.target.host.toLowerCase() === probe.addr;
    if (!hostMatch) continue;
    const dproto = effectiveTransport(d.target);
    const sock = d.attrs.sockname !== "" ? d.attrs.sockname : d.attrs.socket;
    const sockOk = sock !== "" && sameSocket(sock, probe.local);
    if (!(mode & MATCH_NOPORT) && d.target.port !== 0 && probe.port !== d.target.port && !(mode & MATCH_BEST)) continue;
    if (!(mode & MATCH_NOPROTO) && probe.proto !== dproto && !(mode & MATCH_BEST)) continue;
    if (mode & MATCH_ACTIVE && isSkipped(rt.flags)) continue;
    if (mode & MATCH_SOCKET && sock !== "" && !sockOk) continue;
    const loc: DestLocation = { set, idx: i, dest: d, rt };
    if (!(mode & MATCH_BEST)) return { match: loc, best };
    let score = 1;
    if (d.target.port !== 0 && probe.port === d.target.port) score |= 2;
    if (probe.proto === dproto) score |= 4;
    if (sockOk) score |= 8;
    if (score === 15) return { match: loc, best };
    if (best === null || score > best.score) best = { loc, score };
  }
  return { match: null, best };
}

function found(req: RequestContext, loc: DestLocation): true {
  req.vars.set(VAR_SETID, loc.dest.setid);
  req.vars.set(VAR_ATTRS, loc.dest.attrs.body);
  return true;
}

/** Compares a destination socket attr (`proto:ip:port`) or name with the receiving socket. */
function sameSocket(attr: string, local: string): boolean {
  const a = attr.toLowerCase();
  const l = local.toLowerCase();
  if (a === l) return true;
  const m1 = /^([a-z]+):\[?([^\]]+?)\]?(?::(\d+))?$/.exec(a);
  const m2 = /^([a-z]+):\[?([^\]]+?)\]?(?::(\d+))?$/.exec(l);
  if (!m1 || !m2) return false;
  return m1[1] === m2[1] && normalizeIp(m1[2]!) === normalizeIp(m2[2]!) && (m1[3] ?? "5060") === (m2[3] ?? "5060");
}
