import { defineModule, defineRpc, RpcCode, RpcError } from "../../core/api.js";
import type { RequestState } from "../../core/api.js";
import { createTableReloader, runReload, registerLiveTable } from "../../core/kit/index.js";
import { compileDialplan, DialplanTable, type DialplanResult } from "../../../tables/dialplan/dialplan-table.js";
import { dialplanParams, type DialplanParams } from "./params.js";

/** Sources dp_translate reads (Kamailio pseudo-variables). */
const SOURCES = ["$rU", "$ru", "$fU", "$tU", "$rd"] as const;
/** Destinations dp_translate writes. */
const DESTS = ["$rU", "$ru", "$du", "$rd"] as const;
const VAR_RE = /^\$(var|avp|xavp)\([A-Za-z_][A-Za-z0-9_]{0,63}\)$/;

/**
 * The dialplan script API (Kamailio dialplan: dp_translate, dp_match).
 *
 * @example
 *   // translate the dialled number with dialplan id 1 ($rU → $rU); attrs in req.vars.get("$avp(dp_attrs)")
 *   if (dialplan.translate(req, 1) < 0) { req.reply(404, "No route for number"); return; }
 */
export interface DialplanApi {
  readonly params: DialplanParams;
  /**
   * [dp_translate(dpid, "src/dst")] translates `src` (default $rU) with the rules of `dpid` and
   * writes the output to `dst` (default $rU: the R-URI user); the rule's attrs go to attrs_pvar.
   * src: $rU $ru $fU $tU $rd or $var(x)/$avp(x); dst: $rU $ru $du $rd or $var(x)/$avp(x).
   * Returns 1 translated, -1 no rule matched / the output failed / bad arguments.
   */
  translate(req: RequestState, dpid: number, src?: string, dst?: string): number;
  /** [dp_match(dpid, src)] like translate without writing an output: 1 a rule matched (attrs set), -1 none. */
  match(req: RequestState, dpid: number, src?: string): number;
  /** Translates a string (no request): the output and attrs, or null. */
  translateString(dpid: number, input: string): DialplanResult | null;
}

function readSource(req: RequestState, src: string): string | null {
  switch (src) {
    case "$rU":
      return req.ruriUser;
    case "$ru":
      return req.ruri;
    case "$rd":
      return req.ruriHost;
    case "$fU":
      return req.msg.from.uri?.user ?? null;
    case "$tU":
      return req.msg.to.uri?.user ?? null;
  }
  if (VAR_RE.test(src)) {
    const v = req.vars.get(src);
    return typeof v === "string" ? v : typeof v === "number" ? String(v) : null;
  }
  return null;
}

function writeDest(req: RequestState, dst: string, value: string): boolean {
  switch (dst) {
    case "$rU":
      req.setRuriUser(value);
      return true;
    case "$ru":
      if (!/^(sips?|tel):/i.test(value)) return false;
      req.setRuri(value);
      return true;
    case "$du":
      if (!/^sips?:/i.test(value)) return false;
      req.setDst(value);
      return true;
    case "$rd":
      req.setRuriHost(value);
      return true;
  }
  if (VAR_RE.test(dst)) {
    req.vars.set(dst, value);
    return true;
  }
  return false;
}

/**
 * dialplan: number translation from Kamailio's `dialplan` table (table kind "dialplan"): equal,
 * regex (RE2, linear time) and fnmatch rules by priority, substitution with back-references,
 * attributes out. See README.md in this folder.
 */
export default defineModule<DialplanApi, DialplanParams>({
  name: "dialplan",
  doc: "Number translation by the dialplan table (Kamailio dialplan)",
  params: dialplanParams,
  rpc: ["dialplan.dump", "dialplan.reload", "dialplan.translate"],
  stats: { group: "dialplan", counters: ["translated", "not_matched", "rules"] },
  tables: ["dialplan"],
  init(host) {
    const p = host.config;
    const table = registerLiveTable(host.tables, "dialplan", DialplanTable.empty(), compileDialplan);
    const stats = host.stats.group("dialplan", ["translated", "not_matched"]);
    stats.gauge("rules", () => table().rows);
    const reload = createTableReloader(host, "dialplan");

    const validArgs = (src: string, dst: string | null): boolean => {
      const okSrc = (SOURCES as readonly string[]).includes(src) || VAR_RE.test(src);
      const okDst = dst === null || (DESTS as readonly string[]).includes(dst) || VAR_RE.test(dst);
      if (!okSrc || !okDst) host.log.warn("dialplan: unsupported source or destination", { src, dst });
      return okSrc && okDst;
    };

    host.rpc.registerAll([
      defineRpc({
        name: "dialplan.reload",
        doc: "Reload the dialplan rules from their source (validated before the swap)",
        params: [],
        returns: "null",
        handler: async () => {
          await runReload(reload, "Dialplan reload failed: ");
          return null;
        },
      }),
      defineRpc({
        name: "dialplan.translate",
        doc: "Translate a string with the rules of a dialplan id",
        params: [
          { name: "dpid", type: "int" },
          { name: "input", type: "string" },
        ],
        returns: '{ Output: "+4930123", Attributes: "de" }',
        handler: ({ dpid, input }) => {
          const r = table().translate(dpid, input);
          if (!r) throw new RpcError(RpcCode.ServerError, "No translation");
          return { Output: r.output, Attributes: r.attrs };
        },
      }),
      defineRpc({
        name: "dialplan.dump",
        doc: "Dump the rules of a dialplan id (all ids without one)",
        params: [{ name: "dpid", type: "int", optional: true }],
        returns: "[{ DPID, ENTRIES: [{ PRIO, MATCHOP, MATCHEXP, MATCHLEN, SUBSTEXP, REPLEXP, ATTRS }] }]",
        handler: ({ dpid }) => {
          const ids = dpid === undefined ? table().dpids() : [dpid];
          if (dpid !== undefined && table().rules(dpid).length === 0) throw new RpcError(RpcCode.NotFound, `Dialplan ID ${dpid} not found`);
          return ids.map((id) => ({
            DPID: id,
            ENTRIES: table().rules(id).map((r) => ({
              ID: r.id,
              PRIO: r.pr,
              MATCHOP: r.matchOp,
              MATCHEXP: r.matchExp,
              MATCHLEN: r.matchLen,
              SUBSTEXP: r.substExp,
              REPLEXP: r.replExp,
              ATTRS: r.attrs,
            })),
          }));
        },
      }),
    ]);

    return {
      params: p,
      translate(req, dpid, src = "$rU", dst = "$rU") {
        if (!validArgs(src, dst)) return -1;
        const input = readSource(req, src);
        const r = input === null ? null : table().translate(dpid, input);
        if (!r || !writeDest(req, dst, r.output)) {
          stats.inc("not_matched");
          return -1;
        }
        req.vars.set(p.attrs_pvar, r.attrs);
        stats.inc("translated");
        return 1;
      },
      match(req, dpid, src = "$rU") {
        if (!validArgs(src, null)) return -1;
        const input = readSource(req, src);
        const rule = input === null ? null : table().match(dpid, input);
        if (!rule) {
          stats.inc("not_matched");
          return -1;
        }
        req.vars.set(p.attrs_pvar, rule.attrs);
        return 1;
      },
      translateString: (dpid, input) => table().translate(dpid, input),
    };
  },
});

export { compileDialplan, DialplanTable, type DialplanResult, type DialplanRule } from "../../../tables/dialplan/dialplan-table.js";
