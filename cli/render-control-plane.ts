import { formatDuration, renderTable } from "./format.js";

/**
 * Human output for the control plane's management API results (control-plane/api): the
 * `<table>.list` pages, the `{row, kind, version}` answers of writes, `push`, `nodes`, `diff`,
 * `status`. `--json` bypasses all of this. Column names are Kamailio's.
 *
 * @example
 *   renderPage(await cp.call("dispatcher.list", { setid: 1 }), ["id", "setid", "destination"]);
 */
type Obj = Record<string, any>;

/** `<table>.list` answer: one page of rows. */
export interface ListPage {
  readonly total: number;
  readonly limit: number;
  readonly offset: number;
  readonly rows: Obj[];
}

/** The rows of a page as a table, with a footer when more rows exist than were shown. */
export function renderPage(page: ListPage, columns: readonly string[], map: (row: Obj) => Obj = (r) => r): string {
  if (page.rows.length === 0) return page.total > 0 ? `(no rows at offset ${page.offset}; ${page.total} in all)` : "(none)";
  const text = renderTable(page.rows.map(map), columns);
  const shown = page.offset + page.rows.length;
  if (page.offset === 0 && shown >= page.total) return text;
  return `${text}\n(rows ${page.offset + 1}-${shown} of ${page.total}${shown < page.total ? `; --offset ${shown} for more` : ""})`;
}

/** "dispatcher row 3 added; kind dispatcher is now version 7da74178…" for create/update/delete answers. */
export function writeSummary(table: string, what: string, r: Obj): string {
  const row = (r.row ?? r.deleted ?? {}) as Obj;
  const key = row.id ?? row.gwid ?? row.ruleid ?? row.prefix;
  const kind = !r.kind ? "" : r.version ? `; kind ${r.kind} is now version ${r.version}` : `; kind ${r.kind} is not pushed (it does not compile)`;
  return `${table} row ${key ?? "?"} ${what}${kind}`;
}

/** push: per kind version, rows, whether it changed, and its compile error. */
export function renderPush(r: Obj): string {
  const kinds = Array.isArray(r?.kinds) ? (r.kinds as Obj[]) : [];
  const rows = kinds.map((k) => ({
    kind: k.kind,
    version: k.version,
    rows: k.rows,
    changed: k.changed ? "yes" : "no",
    error: k.error ? compileError(k.error) : "",
  }));
  const changed = Array.isArray(r?.changed) ? r.changed.length : 0;
  const refused = Array.isArray(r?.refused) ? (r.refused as Obj[]) : [];
  const left = refused.map((x) => `refused: ${x.kind}: ${x.table} row ${x.key}: ${x.reason}\n`).join("");
  return `${renderTable(rows, ["kind", "version", "rows", "changed", "error"])}\n${left}${changed ? `${changed} kind(s) changed and sent to the data planes` : "no kind changed"}`;
}

/** The one-line failure of a push whose kinds did not all compile (exit 1). */
export function pushFailure(r: Obj): string | undefined {
  const errs = Array.isArray(r?.errors) ? (r.errors as Obj[]) : [];
  const held = new Set(errs.map((e) => e.kind));
  const refused = (Array.isArray(r?.refused) ? (r.refused as Obj[]) : []).filter((x) => !held.has(x.kind));
  const parts: string[] = [];
  if (errs.length) parts.push(`${errs.length} kind(s) do not compile and keep their previous version: ${errs.map((e) => `${e.kind} (${compileError(e)})`).join("; ")}`);
  if (refused.length) parts.push(`${refused.length} bad row(s) refused, the other rows went live: ${refused.map((x) => `${x.kind} (${x.table} row ${x.key}: ${x.reason})`).join("; ")}`);
  return parts.length ? `push: ${parts.join("; ")}` : undefined;
}

function compileError(e: Obj): string {
  return `${e.table}${e.row !== null && e.row !== undefined ? ` row ${e.row}` : ""}: ${e.reason}`;
}

/** nodes: one line per data plane and table kind. */
export function renderNodes(v: unknown): string {
  const nodes = Array.isArray(v) ? (v as Obj[]) : [];
  if (nodes.length === 0) return "(no data planes known)";
  const rows: Obj[] = [];
  for (const n of nodes) {
    const base = { node: n.nodeId, connected: n.connected ? "yes" : "no", peer: n.peer, build: n.buildVersion };
    const tables = Array.isArray(n.tables) ? (n.tables as Obj[]) : [];
    if (tables.length === 0) rows.push({ ...base, kind: "-" });
    for (const t of tables) {
      rows.push({
        ...base,
        kind: t.kind,
        applied: t.appliedVersion,
        pending: t.pending ? "yes" : "no",
        last_nack: t.lastNackVersion,
        nack_error: t.lastNackError ? nackError(t.lastNackError) : "",
      });
    }
  }
  return renderTable(rows, ["node", "connected", "peer", "build", "kind", "applied", "pending", "last_nack", "nack_error"]);
}

function nackError(e: Obj): string {
  const where = e.table ? `${e.table}${e.row !== null && e.row !== undefined ? ` row ${e.row}` : ""}: ` : "";
  return `${e.reason} ${where}${e.detail || e.message || ""}`.trim();
}

/** diff: per kind, the rows the next push adds (+), removes (-) and changes (~). */
export function renderDiff(v: unknown): string {
  const kinds = Array.isArray(v) ? (v as Obj[]) : [];
  if (kinds.length === 0) return "no changes: the data planes are served what the database holds";
  const out: string[] = [];
  for (const k of kinds) {
    const added = (k.added ?? []) as Obj[];
    const removed = (k.removed ?? []) as Obj[];
    const changed = (k.changed ?? []) as Obj[];
    const to = k.error ? `(does not compile: ${compileError(k.error)})` : (k.to ?? "-");
    out.push(`${k.kind}  ${k.from ?? "(none)"} -> ${to}  (+${added.length} -${removed.length} ~${changed.length})`);
    for (const a of added) out.push(`  + ${a.table} ${a.id}  ${rowText(a.row)}`);
    for (const r of removed) out.push(`  - ${r.table} ${r.id}  ${rowText(r.row)}`);
    for (const c of changed) {
      const cols = (c.columns ?? []) as string[];
      out.push(`  ~ ${c.table} ${c.id}  ${cols.map((col) => `${col}: ${value(c.before?.[col])} -> ${value(c.after?.[col])}`).join(", ")}`);
    }
  }
  return out.join("\n");
}

function value(v: unknown): string {
  if (v === null || v === undefined) return "NULL";
  if (typeof v === "string") return v === "" || /[\s,=]/.test(v) ? JSON.stringify(v) : v;
  return typeof v === "object" ? JSON.stringify(v) : String(v);
}

function rowText(row: Obj | undefined): string {
  return Object.entries(row ?? {})
    .map(([k, v]) => `${k}=${value(v)}`)
    .join(" ");
}

/** status: uptime, database, change check, then one line per kind. */
export function renderStatus(s: Obj): string {
  const db = (s?.db ?? {}) as Obj;
  const cc = (s?.changeCheck ?? {}) as Obj;
  const lines = [
    `uptime:       ${formatDuration(Number(s?.uptime ?? 0))}`,
    `database:     ${db.ok ? `${db.database} on ${db.server}` : `DOWN: ${db.error ?? "?"}`}`,
    `data planes:  ${s?.nodes ?? 0}`,
    `change check: ${cc.intervalMs ? `every ${cc.intervalMs} ms, ${cc.checks ?? 0} done, last ${cc.lastAt ?? "-"}` : "off"}${cc.lastError ? ` (last error: ${cc.lastError})` : ""}`,
  ];
  if (s?.security) lines.push(`security:     ${securityLine(s.security as Obj)}`);
  lines.push("");
  const kinds = Array.isArray(s?.kinds) ? (s.kinds as Obj[]) : [];
  const rows = kinds.map((k) => ({
    kind: k.kind,
    version: k.version,
    rows: k.rows,
    policy: k.policy ?? "skip",
    refused: Array.isArray(k.refused) ? k.refused.length : 0,
    compiled_at: k.compiledAt,
    last_error: k.lastError ? `${k.held ? "HELD: " : ""}${compileError(k.lastError)}` : "",
  }));
  lines.push(renderTable(rows, ["kind", "version", "rows", "policy", "refused", "compiled_at", "last_error"]));
  const refused = kinds.flatMap((k) => (Array.isArray(k.refused) ? (k.refused as Obj[]) : []).map((r) => ({ kind: k.kind, table: r.table, key: r.key, since: r.since, reason: r.reason })));
  if (refused.length) {
    lines.push("", `refused rows (${refused.length}; ${s?.refusalsTotal ?? refused.length} refusals since start):`);
    lines.push(renderTable(refused, ["kind", "table", "key", "since", "reason"]));
  }
  return lines.join("\n");
}

function securityLine(sec: Obj): string {
  const push = (sec.push ?? {}) as Obj;
  const access = (push.access ?? {}) as Obj;
  const api = (sec.api ?? {}) as Obj;
  const tokens = (api.tokens ?? {}) as Obj;
  const revoked = Array.isArray(access.revoked) ? access.revoked.length : 0;
  return [
    `push ${push.mode ?? "?"}${revoked ? ` (${revoked} revoked)` : ""}`,
    push.passwords ? "subscriber passwords pushed" : "subscriber ha1/ha1b only (MD5 digests)",
    `API ${api.https ? "https" : "http"}, ${tokens.tokens ?? 0} token(s)`,
  ].join("; ");
}

/** Why `olectl status` exits 1: rows refused or kinds held (null when neither). */
export function statusFailure(s: Obj): string | null {
  const kinds = Array.isArray(s?.kinds) ? (s.kinds as Obj[]) : [];
  const refused = kinds.reduce((n, k) => n + (Array.isArray(k.refused) ? k.refused.length : 0), 0);
  const held = kinds.filter((k) => k.held).map((k) => String(k.kind));
  if (!refused && !held.length) return null;
  const parts = [refused ? `${refused} row(s) refused` : "", held.length ? `held: ${held.join(", ")}` : ""].filter(Boolean);
  return `${parts.join("; ")} (see above)`;
}

/** lcr_gw.transport codes (Kamailio's sip_protos) and uri_scheme codes, both ways. */
export const LCR_TRANSPORT_NAMES = ["none", "udp", "tcp", "tls", "sctp"] as const;
export const LCR_SCHEME_NAMES: Record<number, string> = { 1: "sip", 2: "sips" };

/** An lcr_gw row with transport / uri_scheme codes shown by name. */
export function lcrGwHuman(r: Obj): Obj {
  const t = typeof r.transport === "number" ? (LCR_TRANSPORT_NAMES[r.transport] ?? r.transport) : r.transport;
  const s = typeof r.uri_scheme === "number" ? (LCR_SCHEME_NAMES[r.uri_scheme] ?? r.uri_scheme) : r.uri_scheme;
  return { ...r, transport: t, uri_scheme: s };
}

/** Columns never printed for subscribers (also not with --json): the password and its digests. */
export const SUBSCRIBER_SECRETS = ["password", "ha1", "ha1b"] as const;

/** A subscriber row without its secrets. */
export function withoutSecrets(row: Obj): Obj {
  const out: Obj = {};
  for (const [k, v] of Object.entries(row ?? {})) if (!(SUBSCRIBER_SECRETS as readonly string[]).includes(k)) out[k] = v;
  return out;
}
