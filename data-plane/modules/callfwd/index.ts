import { defineModule } from "../../core/api.js";
import type { FailureContext, RequestContext, RequestState } from "../../core/api.js";
import { CallFwdTable, callerMatches, compileCallFwd, type CfType, type Forwarding } from "../../../tables/callfwd/callfwd-table.js";
import { splitUri, unescapeUser, registerLiveTable } from "../../core/kit/index.js";

/** Module parameters. */
export interface CallFwdParams {
  /** Match rows on username@domain (rows with an empty domain match any domain). */
  readonly use_domain: boolean;
  /** Ring time in seconds before a no-answer forward when the row's timeout is 0. */
  readonly noanswer_timeout: number;
  /** Forwards one call may take (forwarding loops stop here). */
  readonly max_hops: number;
}

function parseParams(cfg: Readonly<Record<string, unknown>>): CallFwdParams {
  const out = { use_domain: false, noanswer_timeout: 20, max_hops: 5 };
  for (const [k, v] of Object.entries(cfg)) {
    if (k === "use_domain") {
      if (v !== 0 && v !== 1 && v !== true && v !== false) throw new Error("callfwd: parameter use_domain must be 0 or 1");
      out.use_domain = v === 1 || v === true;
    } else if (k === "noanswer_timeout" || k === "max_hops") {
      const max = k === "max_hops" ? 20 : 3600;
      if (typeof v !== "number" || !Number.isInteger(v) || v < 1 || v > max) throw new Error(`callfwd: parameter ${k} must be an integer in 1..${max}`);
      out[k] = v;
    } else throw new Error(`callfwd: unknown parameter '${k}'`);
  }
  return out;
}

/** req.vars key: the callee as first seen (lookup rewrites the R-URI later). */
export const CALLEE_VAR = "callfwd:callee";
/** req.vars key: forwards this call took (max_hops). */
export const HOPS_VAR = "callfwd:hops";
/** req.vars key: the no-answer rule armed by armNoAnswer. */
export const NOANSWER_VAR = "callfwd:noanswer";
/** req.vars key: the kind of the last forward taken. */
export const FORWARDED_VAR = "callfwd:forwarded";

interface Callee {
  readonly user: string;
  readonly domain: string;
}

/**
 * The call forwarding / screening script API.
 *
 * @example
 *   if (cf.screen(req) < 0) { req.reply(603, "Decline"); return; }
 *   if (cf.forward(req, "unconditional") > 0 && !req.isMyself()) { req.relay(); return; }
 *   ... lookup ...
 *   cf.armNoAnswer(req); req.onFailure("MANAGE_FAILURE"); req.relay();
 *   // failure route:
 *   if (cf.onFailure(f) > 0) f.relay();
 */
export interface CallFwdApi {
  readonly params: CallFwdParams;
  /** Caller screening for the callee (R-URI): 1 allowed, -1 on the deny list, -2 not on a non-empty allow list. */
  screen(req: RequestState): number;
  /** Forwards to the callee's `unconditional` or `unavailable` target: R-URI := target. 1 done, -1 none / hop limit. */
  forward(req: RequestState, type: "unconditional" | "unavailable"): number;
  /** With a `noanswer` rule: limits the ring time (fr_inv_timer) so the failure route can forward. 1 armed, -1 none. */
  armNoAnswer(req: RequestContext): number;
  /**
   * Failure route step: 486/600 → `busy`, 408/480 after ringing or a ring timeout → `noanswer`.
   * Sets the R-URI to the target; the script relays. 1 forwarded, -1 nothing to do.
   */
  onFailure(f: FailureContext): number;
  /** The rule a user has (for scripts that decide themselves). */
  rule(user: string, domain: string, type: CfType): Forwarding | null;
}

/**
 * callfwd: call forwarding (unconditional, busy, no answer, unavailable) and caller deny/allow
 * lists from the olelo_callfwd and olelo_callblock tables (table kind "callfwd"). Olelo's own
 * module; Kamailio builds the same from avpops/sqlops scripts.
 */
export default defineModule<CallFwdApi>({
  name: "callfwd",
  doc: "Call forwarding and caller deny/allow lists from the olelo_callfwd / olelo_callblock tables",
  stats: { group: "callfwd", counters: ["forwarded", "blocked"] },
  tables: ["callfwd"],
  init(host) {
    const p = parseParams(host.config);
    const table = registerLiveTable(host.tables, "callfwd", CallFwdTable.empty(), compileCallFwd);
    const stats = host.stats.group("callfwd", ["forwarded", "blocked"]);

    const calleeOf = (req: RequestState): Callee | null => {
      const have = req.vars.get(CALLEE_VAR) as Callee | undefined;
      if (have) return have;
      const u = splitUri(req.ruri);
      if (!u || !u.user) return null;
      const c = { user: unescapeUser(u.user) ?? u.user, domain: p.use_domain ? u.host : "" };
      req.vars.set(CALLEE_VAR, c);
      return c;
    };
    const redirect = (req: RequestState, callee: Callee, f: Forwarding): number => {
      const hops = (req.vars.get(HOPS_VAR) as number | undefined) ?? 0;
      if (hops >= p.max_hops) {
        host.log.info("callfwd: hop limit reached", { user: callee.user, type: f.type });
        return -1;
      }
      req.vars.set(HOPS_VAR, hops + 1);
      req.vars.set(FORWARDED_VAR, f.type);
      req.clearBranches();
      req.setDst(null);
      req.setPath(null);
      req.setRuri(f.target);
      // the target is the callee from now on (its own forwarding applies to further steps)
      req.vars.delete(CALLEE_VAR);
      req.vars.delete(NOANSWER_VAR);
      stats.inc("forwarded");
      return 1;
    };

    return {
      params: p,
      screen(req) {
        const callee = calleeOf(req);
        if (!callee) return 1;
        const l = table().lists(callee.user, callee.domain);
        if (!l) return 1;
        const from = splitUri(req.msg.from.uriText);
        const cu = (from?.user ? (unescapeUser(from.user) ?? from.user) : "").toLowerCase();
        const full = `${cu}@${from?.host ?? ""}`;
        if (l.deny.some((x) => callerMatches(x, cu, full))) {
          stats.inc("blocked");
          return -1;
        }
        if (l.allow.length > 0 && !l.allow.some((x) => callerMatches(x, cu, full))) {
          stats.inc("blocked");
          return -2;
        }
        return 1;
      },
      forward(req, type) {
        const callee = calleeOf(req);
        if (!callee) return -1;
        const f = table().forwarding(callee.user, callee.domain, type);
        return f ? redirect(req, callee, f) : -1;
      },
      armNoAnswer(req) {
        const callee = calleeOf(req);
        if (!callee) return -1;
        const f = table().forwarding(callee.user, callee.domain, "noanswer");
        if (!f) return -1;
        req.vars.set(NOANSWER_VAR, f);
        req.setFinalResponseTimers((f.timeout || p.noanswer_timeout) * 1000);
        return 1;
      },
      onFailure(f) {
        if (f.isCanceled()) return -1;
        const callee = calleeOf(f);
        if (!callee) return -1;
        const code = f.replyCode;
        if (code === 486 || code === 600) {
          const r = table().forwarding(callee.user, callee.domain, "busy");
          return r ? redirect(f, callee, r) : -1;
        }
        if (code === 408 || code === 480) {
          const r = (f.vars.get(NOANSWER_VAR) as Forwarding | undefined) ?? table().forwarding(callee.user, callee.domain, "noanswer");
          return r ? redirect(f, callee, r) : -1;
        }
        return -1;
      },
      rule: (user, domain, type) => table().forwarding(user, p.use_domain ? domain : "", type),
    };
  },
});

export { CallFwdTable, compileCallFwd, callerMatches, CF_TYPES, type CfType, type Forwarding } from "../../../tables/callfwd/callfwd-table.js";
