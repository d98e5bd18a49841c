import type { CommandSpec, OptSpec, Output, RunContext } from "./command-spec.js";
import { renderTable } from "./format.js";
import {
  LCR_TRANSPORT_NAMES,
  lcrGwHuman,
  renderDiff,
  renderPage,
  renderStatus,
  statusFailure,
  withoutSecrets,
  writeSummary,
  type ListPage,
} from "./render-control-plane.js";
import { CliError } from "./rpc-client.js";
import { str, userDomain } from "./cli-values.js";

/**
 * olectl's control-plane rows of the command table (spread into COMMANDS in commands.ts). They
 * call the management API as the control plane registers it (control-plane/api): the generic
 * `<table>.list|get|create|update|delete` keyed by the table's primary key (`id`),
 * `subscriber.create|passwd`, `push`, `nodes`, `diff`, `status`, `audit.list`, `snapshots.list`.
 * Every write is checked by the control plane (it compiles the kind) and the new version goes to
 * the connected data planes at once; `push` recompiles everything now (rows written by SQL).
 *
 * @example
 *   olectl dispatcher add 1 sip:10.0.0.1:5060 --attrs weight=50 && olectl nodes
 */
type Obj = Record<string, any>;

const out = (data: unknown, human?: string, extra: Partial<Output> = {}): Output => ({ data, human, ...extra });

/** An integer positional or option value; a usage error (exit 2) names it otherwise. */
export function intValue(v: unknown, name: string): number {
  const s = String(v);
  if (!/^-?\d+$/.test(s.trim())) throw new CliError(`${name} must be an integer, got '${s}'`, 2);
  return Number(s);
}

/** `--limit`/`--offset` paging of a `<table>.list` call (the API allows at most 10000 rows per page). */
const PAGE_OPTS: readonly OptSpec[] = [
  { name: "limit", type: "int", value: "N", default: "1000", doc: "rows to show (at most 10000)" },
  { name: "offset", type: "int", value: "N", doc: "rows to skip" },
];

function page(opts: Record<string, unknown>): Record<string, number> {
  const limit = opts.limit as number;
  if (limit < 0 || limit > 10000) throw new CliError(`--limit must be 0..10000, got ${limit}`, 2);
  const p: Record<string, number> = { limit };
  if (opts.offset !== undefined) {
    if ((opts.offset as number) < 0) throw new CliError(`--offset must not be negative`, 2);
    p.offset = opts.offset as number;
  }
  return p;
}

/** The write answer `{row | deleted, kind, version, warning?}` as output; secrets removed for subscribers. */
function written(r: Obj, table: string, what: string, clean: (row: Obj) => Obj = (x) => x): Output {
  const data = { ...r, ...(r.row ? { row: clean(r.row) } : {}), ...(r.deleted ? { deleted: clean(r.deleted) } : {}) };
  return out(data, writeSummary(table, what, r), r.warning ? { warning: String(r.warning) } : {});
}

/** lcr_gw.transport from a name (udp, tcp, tls, sctp) or its code 0-4. */
function lcrTransport(v: string): number {
  const i = (LCR_TRANSPORT_NAMES as readonly string[]).indexOf(v.toLowerCase());
  if (i > 0) return i;
  if (/^[0-4]$/.test(v)) return Number(v);
  throw new CliError(`--transport must be udp, tcp, tls or sctp, got '${v}'`, 2);
}

/** lcr_gw.uri_scheme from sip / sips (or 1 / 2). */
function lcrScheme(v: string): number {
  const s = v.toLowerCase();
  if (s === "sip" || s === "1") return 1;
  if (s === "sips" || s === "2") return 2;
  throw new CliError(`--uri-scheme must be sip or sips, got '${v}'`, 2);
}

const DISPATCHER_COLS = ["id", "setid", "destination", "flags", "priority", "attrs", "description"];
const LCR_GW_COLS = ["id", "lcr_id", "gw_name", "ip_addr", "hostname", "port", "uri_scheme", "transport", "params", "strip", "prefix", "tag", "flags", "defunct"];

async function findSubscriber(ctx: RunContext, who: string): Promise<Obj> {
  const ud = userDomain(who, "user@domain");
  const r = (await ctx.cp.call("subscriber.list", { ...ud, limit: 2 })) as ListPage;
  if (r.rows.length === 0) throw new CliError(`subscriber ${ud.username}@${ud.domain} not found`);
  return r.rows[0]!;
}

export const CONTROL_PLANE_COMMANDS: readonly CommandSpec[] = [
  // ---- dispatcher: stored rows ----
  {
    path: ["dispatcher", "add"],
    summary: "Store a destination row (checked, then sent to the data planes at once)",
    args: [
      { name: "setid", doc: "set id" },
      { name: "destination", doc: "SIP URI, e.g. sip:10.0.0.1:5060" },
    ],
    options: [
      { name: "flags", type: "int", value: "N", doc: "dispatcher flags (default 0)" },
      { name: "priority", type: "int", value: "N", doc: "priority (default 0)" },
      { name: "attrs", type: "string", value: "S", doc: "attributes, e.g. weight=50;duid=gw1" },
      { name: "description", type: "string", value: "S", doc: "free text" },
    ],
    target: "control",
    rpc: ["dispatcher.create"],
    examples: ["olectl dispatcher add 1 sip:10.0.0.1:5060 --attrs weight=50"],
    run: async (ctx, { args, opts }) => {
      const p: Record<string, unknown> = { setid: intValue(args.setid, "setid"), destination: str(args.destination) };
      for (const k of ["flags", "priority", "attrs", "description"]) if (opts[k] !== undefined) p[k] = opts[k];
      return written((await ctx.cp.call("dispatcher.create", p)) as Obj, "dispatcher", "added");
    },
  },
  {
    path: ["dispatcher", "rm"],
    summary: "Delete a stored destination row by id",
    args: [{ name: "id", doc: "row id (see `olectl dispatcher show`)" }],
    target: "control",
    rpc: ["dispatcher.delete"],
    run: async (ctx, { args }) => written((await ctx.cp.call("dispatcher.delete", { id: intValue(args.id, "id") })) as Obj, "dispatcher", "deleted"),
  },
  {
    path: ["dispatcher", "show"],
    summary: "Show stored destination rows",
    args: [{ name: "setid", doc: "only this set", optional: true }],
    options: PAGE_OPTS,
    target: "control",
    rpc: ["dispatcher.list"],
    run: async (ctx, { args, opts }) => {
      const p: Record<string, unknown> = page(opts);
      if (args.setid !== undefined) p.setid = intValue(args.setid, "setid");
      const r = (await ctx.cp.call("dispatcher.list", p)) as ListPage;
      return out(r, renderPage(r, DISPATCHER_COLS));
    },
  },
  // ---- subscribers ----
  {
    path: ["subscriber", "add"],
    summary: "Add a subscriber (the control plane stores ha1/ha1b with realm = domain)",
    args: [
      { name: "user@domain", doc: "username and domain" },
      { name: "password", doc: "plain password" },
    ],
    target: "control",
    rpc: ["subscriber.create"],
    run: async (ctx, { args }) =>
      written(
        (await ctx.cp.call("subscriber.create", { ...userDomain(str(args["user@domain"]), "user@domain"), password: str(args.password) })) as Obj,
        "subscriber",
        "added",
        withoutSecrets,
      ),
  },
  {
    path: ["subscriber", "passwd"],
    summary: "Change a subscriber's password",
    args: [
      { name: "user@domain", doc: "username and domain" },
      { name: "password", doc: "new password" },
    ],
    target: "control",
    rpc: ["subscriber.passwd"],
    run: async (ctx, { args }) =>
      written(
        (await ctx.cp.call("subscriber.passwd", { ...userDomain(str(args["user@domain"]), "user@domain"), password: str(args.password) })) as Obj,
        "subscriber",
        "password changed",
        withoutSecrets,
      ),
  },
  {
    path: ["subscriber", "rm"],
    summary: "Remove a subscriber (looks up its id, then deletes the row)",
    args: [{ name: "user@domain", doc: "username and domain" }],
    target: "control",
    rpc: ["subscriber.list", "subscriber.delete"],
    run: async (ctx, { args }) => {
      const row = await findSubscriber(ctx, str(args["user@domain"]));
      return written((await ctx.cp.call("subscriber.delete", { id: row.id })) as Obj, "subscriber", "deleted", withoutSecrets);
    },
  },
  {
    path: ["subscriber", "show"],
    summary: "Show subscribers (all, one user@domain, or one domain); never prints passwords or hashes",
    args: [{ name: "filter", doc: "USER@DOMAIN or DOMAIN", optional: true }],
    options: PAGE_OPTS,
    target: "control",
    rpc: ["subscriber.list"],
    run: async (ctx, { args, opts }) => {
      const f = args.filter as string | undefined;
      const p = { ...page(opts), ...(f === undefined ? {} : f.includes("@") ? userDomain(f, "filter") : { domain: f }) };
      const r = (await ctx.cp.call("subscriber.list", p)) as ListPage;
      const clean = { ...r, rows: r.rows.map(withoutSecrets) };
      return out(clean, renderPage(clean, ["id", "username", "domain"]));
    },
  },
  // ---- lcr gateways ----
  {
    path: ["lcr", "gw", "add"],
    summary: "Add an LCR gateway (lcr_gw row)",
    args: [{ name: "gw_name", doc: "gateway name" }],
    options: [
      { name: "ip", type: "string", value: "ADDR", doc: "ip_addr" },
      { name: "hostname", type: "string", value: "HOST", doc: "hostname" },
      { name: "port", type: "int", value: "N", doc: "port" },
      { name: "transport", type: "string", value: "T", doc: "udp, tcp, tls or sctp (stored as Kamailio's code 1-4)" },
      { name: "uri-scheme", type: "string", value: "S", doc: "sip or sips (stored as 1 or 2)" },
      { name: "params", type: "string", value: "S", doc: "URI params, e.g. ;user=phone" },
      { name: "strip", type: "int", value: "N", doc: "digits to strip" },
      { name: "prefix", type: "string", value: "S", doc: "prefix to add" },
      { name: "tag", type: "string", value: "S", doc: "tag" },
      { name: "flags", type: "int", value: "N", doc: "gateway flags" },
      { name: "lcr-id", type: "int", value: "N", default: "1", doc: "LCR instance" },
    ],
    target: "control",
    rpc: ["lcr_gw.create"],
    examples: ["olectl lcr gw add carrier1 --ip 192.0.2.10 --port 5060 --transport udp --strip 1 --prefix 00"],
    run: async (ctx, { args, opts }) => {
      if (opts.ip === undefined && opts.hostname === undefined) throw new CliError("lcr gw add needs --ip or --hostname", 2);
      const p: Record<string, unknown> = { gw_name: str(args.gw_name), lcr_id: opts["lcr-id"] };
      if (opts.ip !== undefined) p.ip_addr = opts.ip;
      if (opts.transport !== undefined) p.transport = lcrTransport(String(opts.transport));
      if (opts["uri-scheme"] !== undefined) p.uri_scheme = lcrScheme(String(opts["uri-scheme"]));
      for (const k of ["hostname", "port", "params", "strip", "prefix", "tag", "flags"]) if (opts[k] !== undefined) p[k] = opts[k];
      return written((await ctx.cp.call("lcr_gw.create", p)) as Obj, "lcr_gw", "added");
    },
  },
  {
    path: ["lcr", "gw", "rm"],
    summary: "Delete an LCR gateway by id (refused while rules still point at it)",
    args: [{ name: "id", doc: "gateway id" }],
    target: "control",
    rpc: ["lcr_gw.delete"],
    run: async (ctx, { args }) => written((await ctx.cp.call("lcr_gw.delete", { id: intValue(args.id, "id") })) as Obj, "lcr_gw", "deleted"),
  },
  {
    path: ["lcr", "gw", "show"],
    summary: "Show LCR gateways",
    options: [{ name: "lcr-id", type: "int", value: "N", doc: "only this LCR instance" }, ...PAGE_OPTS],
    target: "control",
    rpc: ["lcr_gw.list"],
    run: async (ctx, { opts }) => {
      const p: Record<string, unknown> = page(opts);
      if (opts["lcr-id"] !== undefined) p.lcr_id = opts["lcr-id"];
      const r = (await ctx.cp.call("lcr_gw.list", p)) as ListPage;
      return out(r, renderPage(r, LCR_GW_COLS, lcrGwHuman));
    },
  },
  // ---- versions and nodes ----
  {
    path: ["diff"],
    summary: "Show what the next push would change: rows added, removed and changed per kind",
    target: "control",
    rpc: ["diff"],
    run: async (ctx) => {
      const r = await ctx.cp.call("diff");
      return out(r, renderDiff(r));
    },
  },
  {
    path: ["status"],
    summary: "Show the control plane's status: database, per-kind versions, refused rows and held kinds (exit 1 if any), change check",
    target: "control",
    rpc: ["status"],
    run: async (ctx) => {
      const r = (await ctx.cp.call("status")) as Obj;
      const failure = statusFailure(r);
      return { ...out(r, renderStatus(r)), ...(failure ? { failure } : {}) };
    },
  },
  {
    path: ["access", "reload"],
    summary: "Re-read the control plane's certificates, push access file and API tokens file; revoked nodes are cut off",
    description: "Needs an admin token. Exit 1 when a file could not be read (it keeps its old contents; the reason is printed).",
    target: "control",
    rpc: ["access.reload"],
    run: async (ctx) => {
      const r = (await ctx.cp.call("access.reload")) as Obj;
      return out(r, undefined, r.ok === false ? { failure: "some files were not reloaded (see above)" } : {});
    },
  },
  {
    path: ["access", "status"],
    summary: "Show the security in force: push mode, certificates and expiry, allow-list, revoked nodes, token counts",
    target: "control",
    rpc: ["access.status"],
    run: async (ctx) => out(await ctx.cp.call("access.status")),
  },
  {
    path: ["audit"],
    summary: "Show the audit log of management changes, newest first",
    options: [
      { name: "table", type: "string", value: "NAME", doc: "only this table (dispatcher, subscriber, …)" },
      { name: "row-id", type: "string", value: "ID", doc: "only this row" },
      { name: "actor", type: "string", value: "NAME", doc: "only changes by this token name" },
      { name: "kind", type: "string", value: "KIND", doc: "only this table kind" },
      { name: "limit", type: "int", value: "N", default: "50", doc: "entries to show" },
    ],
    target: "control",
    rpc: ["audit.list"],
    run: async (ctx, { opts }) => {
      const p: Record<string, unknown> = { limit: opts.limit };
      const map: Record<string, string> = { table: "table_name", "row-id": "row_id" };
      for (const k of ["table", "row-id", "actor", "kind"]) if (opts[k] !== undefined) p[map[k] ?? k] = opts[k];
      const r = (await ctx.cp.call("audit.list", p)) as { rows: Obj[] };
      return out(r, renderTable(r.rows, ["id", "ts", "actor", "action", "kind", "table_name", "row_id", "version"]));
    },
  },
  {
    path: ["snapshots"],
    summary: "Show the compiled versions recorded per table kind, newest first",
    args: [{ name: "kind", doc: "only this kind", optional: true }],
    options: [{ name: "limit", type: "int", value: "N", default: "50", doc: "versions to show" }],
    target: "control",
    rpc: ["snapshots.list"],
    run: async (ctx, { args, opts }) => {
      const p: Record<string, unknown> = { limit: opts.limit };
      if (args.kind !== undefined) p.kind = str(args.kind);
      const r = (await ctx.cp.call("snapshots.list", p)) as { rows: Obj[] };
      return out(r, renderTable(r.rows, ["id", "kind", "version", "rows", "reason", "created_at", "has_data"]));
    },
  },
];
