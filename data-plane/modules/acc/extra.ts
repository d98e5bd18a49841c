import type { RequestContext, SipMessageView, NameAddr } from "../../core/api.js";
import type { CallEndedData } from "../dialog/api.js";

/**
 * Extra columns (Kamailio acc `log_extra` / `db_extra` / `cdr_extra`): `"col=$pv;col2=$pv2"`.
 * The spec is compiled once at init into getters, so accounting a reply evaluates plain
 * functions; an unknown variable stops the start with an error naming the parameter.
 *
 * Transaction records (log_extra, db_extra) read the request and the accounted reply; CDRs
 * (cdr_extra) read the call.ended event of the dialog module. A missing value is "".
 */
export interface ExtraColumn<C> {
  readonly name: string;
  /** The variable as written (`$fU`), for docs and errors. */
  readonly pv: string;
  get(c: C): string;
}

/** What a transaction record's variables read. */
export interface AccVarContext {
  readonly req: RequestContext;
  /** The accounted reply (null for acc_log_request / acc_db_request). */
  readonly reply: SipMessageView | null;
  readonly status: number;
  readonly reason: string;
  /** R-URI of the branch that produced the reply (Kamailio uses the winning branch), else null. */
  readonly branchUri: string | null;
}

/** Splits "col=$pv;col2=$pv2" into pairs; throws naming the parameter on bad syntax. */
export function parseExtraSpec(spec: string, param: string): Array<{ column: string; pv: string }> {
  const out: Array<{ column: string; pv: string }> = [];
  for (const part of spec.split(";")) {
    const p = part.trim();
    if (p === "") continue;
    const eq = p.indexOf("=");
    if (eq <= 0) throw new Error(`acc: parameter ${param}: '${p}' is not column=$variable`);
    const column = p.slice(0, eq).trim();
    const pv = p.slice(eq + 1).trim();
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(column)) throw new Error(`acc: parameter ${param}: bad column name '${column}'`);
    if (out.some((o) => o.column === column)) throw new Error(`acc: parameter ${param}: column '${column}' given twice`);
    out.push({ column, pv });
  }
  return out;
}

/** user / host / port of a sip:, sips: or tel: URI string (enough for $rU, $rd, $fU …). */
export function uriParts(uri: string | null | undefined): { user: string; host: string; port: string } {
  if (!uri) return EMPTY_PARTS;
  const m = /^(?:sips?|tel):(?:([^@;?>]*)@)?(\[[^\]]*\]|[^:;?>]*)(?::(\d+))?/i.exec(uri.trim().replace(/^<|>$/g, ""));
  if (!m) return EMPTY_PARTS;
  if (/^tel:/i.test(uri)) return { user: m[2] ?? "", host: "", port: "" };
  return { user: m[1] ?? "", host: (m[2] ?? "").replace(/^\[|\]$/g, "").toLowerCase(), port: m[3] ?? "" };
}

const EMPTY_PARTS = Object.freeze({ user: "", host: "", port: "" });

function nameAddr(get: () => NameAddr): NameAddr | null {
  try {
    return get();
  } catch {
    return null;
  }
}

const from = (c: AccVarContext) => nameAddr(() => c.req.msg.from);
const to = (c: AccVarContext) => nameAddr(() => c.req.msg.to);
const ruri = (c: AccVarContext) => c.branchUri ?? c.req.ruri;

/** Kamailio pseudo-variables for transaction records. */
const REQUEST_VARS: Record<string, (c: AccVarContext) => string | null | undefined> = {
  fu: (c) => from(c)?.uriText,
  fU: (c) => from(c)?.uri?.user,
  fd: (c) => from(c)?.uri?.host,
  fn: (c) => from(c)?.displayName,
  ft: (c) => c.req.msg.fromTag,
  tu: (c) => to(c)?.uriText,
  tU: (c) => to(c)?.uri?.user,
  td: (c) => to(c)?.uri?.host,
  tn: (c) => to(c)?.displayName,
  tt: (c) => c.reply?.toTag ?? c.req.msg.toTag,
  ru: (c) => ruri(c),
  rU: (c) => uriParts(ruri(c)).user,
  rd: (c) => uriParts(ruri(c)).host,
  rp: (c) => uriParts(ruri(c)).port,
  ou: (c) => c.req.msg.requestUri,
  du: (c) => c.req.dst,
  si: (c) => c.req.source.address,
  sp: (c) => String(c.req.source.port),
  pr: (c) => c.req.source.proto,
  ci: (c) => c.req.msg.callId,
  cs: (c) => String(c.req.msg.cseq.seq),
  rm: (c) => c.req.method,
  ua: (c) => c.req.msg.header("user-agent"),
  rs: (c) => (c.status ? String(c.status) : ""),
  rr: (c) => c.reason,
  Ts: () => String(Math.floor(Date.now() / 1000)),
};

/** Kamailio pseudo-variables for CDRs, read from the call.ended event. */
const DIALOG_VARS: Record<string, (e: CallEndedData) => string | null | undefined> = {
  ci: (e) => e.call_id,
  ft: (e) => e.from_tag,
  tt: (e) => e.to_tag,
  fu: (e) => e.from,
  fU: (e) => uriParts(e.from).user,
  fd: (e) => uriParts(e.from).host,
  tu: (e) => e.to,
  tU: (e) => uriParts(e.to).user,
  td: (e) => uriParts(e.to).host,
  ru: (e) => e.ruri,
  rU: (e) => uriParts(e.ruri).user,
  rd: (e) => uriParts(e.ruri).host,
  si: (e) => e.src_ip,
  sp: (e) => String(e.src_port),
  pr: (e) => e.proto,
  Ts: () => String(Math.floor(Date.now() / 1000)),
};

/** Names of the call.ended fields `$dlg(name)` may read. */
const EVENT_FIELDS = new Set([
  "call_id",
  "from",
  "from_tag",
  "to",
  "to_tag",
  "ruri",
  "src_ip",
  "src_port",
  "proto",
  "h_entry",
  "h_id",
  "node",
  "gateway",
  "gateway_addr",
  "start_time",
  "answer_time",
  "end_time",
  "duration",
  "code",
  "reason",
  "ended_by",
  "end_reason",
]);

/**
 * Compiles `log_extra` / `db_extra`. Variables: $fu $fU $fd $fn $ft $tu $tU $td $tn $tt $ru $rU
 * $rd $rp $ou $du $si $sp $pr $ci $cs $rm $ua $rs $rr $Ts, $hdr(Name), $avp(name) / $var(name)
 * (req.vars), and literal text (no `$`).
 */
export function compileRequestExtras(spec: string, param: string): ExtraColumn<AccVarContext>[] {
  return parseExtraSpec(spec, param).map(({ column, pv }) => {
    const fn = requestVar(pv, param);
    return { name: column, pv, get: (c: AccVarContext) => str(fn(c)) };
  });
}

/**
 * Compiles `cdr_extra`. Variables: $ci $ft $tt $fu $fU $fd $tu $tU $td $ru $rU $rd $si $sp $pr
 * $Ts, $dlg_var(key) (dialog.setVar), $dlg(field) (any call.ended field: gateway, code …), and
 * literal text.
 */
export function compileDialogExtras(spec: string, param: string): ExtraColumn<CallEndedData>[] {
  return parseExtraSpec(spec, param).map(({ column, pv }) => {
    const fn = dialogVar(pv, param);
    return { name: column, pv, get: (e: CallEndedData) => str(fn(e)) };
  });
}

function str(v: unknown): string {
  return v === null || v === undefined ? "" : String(v);
}

function fnArg(pv: string): { name: string; arg: string } | null {
  const m = /^\$([A-Za-z_]+)\((.*)\)$/.exec(pv);
  return m ? { name: m[1]!, arg: m[2]!.trim() } : null;
}

function requestVar(pv: string, param: string): (c: AccVarContext) => unknown {
  if (!pv.startsWith("$")) return () => pv;
  const f = fnArg(pv);
  if (f) {
    if (f.arg === "") throw new Error(`acc: parameter ${param}: ${pv} needs a name`);
    if (f.name === "hdr") return (c) => c.req.msg.header(f.arg);
    if (f.name === "avp" || f.name === "var") return (c) => c.req.vars.get(f.arg);
    throw new Error(`acc: parameter ${param}: unknown variable ${pv}`);
  }
  const get = REQUEST_VARS[pv.slice(1)];
  if (!get) throw new Error(`acc: parameter ${param}: unknown variable ${pv} (known: ${Object.keys(REQUEST_VARS).map((k) => "$" + k).join(" ")} $hdr() $avp() $var())`);
  return get;
}

function dialogVar(pv: string, param: string): (e: CallEndedData) => unknown {
  if (!pv.startsWith("$")) return () => pv;
  const f = fnArg(pv);
  if (f) {
    if (f.arg === "") throw new Error(`acc: parameter ${param}: ${pv} needs a name`);
    if (f.name === "dlg_var") return (e) => e.vars?.[f.arg];
    if (f.name === "dlg") {
      if (!EVENT_FIELDS.has(f.arg)) throw new Error(`acc: parameter ${param}: $dlg(${f.arg}) is not a call.ended field (${[...EVENT_FIELDS].join(", ")})`);
      return (e) => (e as unknown as Record<string, unknown>)[f.arg];
    }
    throw new Error(`acc: parameter ${param}: unknown variable ${pv}`);
  }
  const get = DIALOG_VARS[pv.slice(1)];
  if (!get) throw new Error(`acc: parameter ${param}: unknown variable ${pv} for CDRs (known: ${Object.keys(DIALOG_VARS).map((k) => "$" + k).join(" ")} $dlg_var() $dlg())`);
  return get;
}
