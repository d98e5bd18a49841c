/**
 * olectl's fleet commands (control plane): `push` (to all, or a canary), `canary
 * status|promote|abort`, `rollback KIND VERSION`, `unpin KIND`, `nodes` (fleet status table) and
 * `dryrun` (where numbers route now and after the pending change). They call the management
 * methods of control-plane/api/fleet-methods.ts and dry-run.ts.
 *
 * @example
 *   olectl push --canary zone=eu --soak-ms 30000 && olectl canary status
 */
import type { CommandSpec, Output } from "./command-spec.js";
import { renderTable } from "./format.js";
import { pushFailure, renderPush } from "./render-control-plane.js";
import { CliError } from "./rpc-client.js";
import { str } from "./cli-values.js";

type Obj = Record<string, any>;
const out = (data: unknown, human?: string, extra: Partial<Output> = {}): Output => ({ data, human, ...extra });
const short = (v: unknown) => (typeof v === "string" ? v.slice(0, 16) : v === null || v === undefined ? "-" : String(v));

/** One canary as text: id, state, selector, nodes, kinds, reason, health. */
export function renderCanary(c: Obj | null): string {
  if (!c) return "no canary is running";
  const kinds = (c.kinds as Obj[]).map((k) => `${k.kind} ${short(k.from)} -> ${short(k.to)}`).join(", ");
  const h = c.health as Obj | null;
  const ratio = (r: unknown) => (typeof r === "number" ? `${(r * 100).toFixed(1)}%` : "n/a");
  const lines = [
    `canary ${c.id}: ${c.state} (${c.selector}; nodes ${(c.nodes as string[]).join(", ")})`,
    `kinds: ${kinds}`,
    c.state === "soaking" ? `soak: ${c.soakMs} ms, ends ${c.endsAt}` : `ended ${c.endedAt}: ${c.reason}`,
  ];
  if (h) {
    lines.push(
      `health: canary 5xx/408 ${ratio(h.canary.errorRatio)} of ${h.canary.replies} replies, failed calls ${ratio(h.canary.failedCallRatio)} of ${h.canary.calls}; ` +
        `other nodes ${ratio(h.rest.errorRatio)} of ${h.rest.replies}, ${ratio(h.rest.failedCallRatio)} of ${h.rest.calls}`,
    );
  }
  return lines.join("\n");
}

/** nodes: one line per data plane and kind (running, offered, lag, last NACK, canary role). */
export function renderFleetNodes(v: unknown): string {
  const nodes = Array.isArray(v) ? (v as Obj[]) : [];
  if (nodes.length === 0) return "(no data planes known)";
  const rows: Obj[] = [];
  for (const n of nodes) {
    const labels = Object.entries((n.labels ?? {}) as Record<string, string>)
      .map(([k, x]) => `${k}=${x}`)
      .join(",");
    const base = { node: n.nodeId, up: n.connected ? "yes" : "no", labels: labels || "-", canary: n.canary ?? "-" };
    const tables = Array.isArray(n.tables) ? (n.tables as Obj[]) : [];
    if (tables.length === 0) rows.push({ ...base, kind: "-" });
    for (const t of tables) {
      const e = t.lastNackError as Obj | null;
      rows.push({
        ...base,
        kind: t.kind,
        running: short(t.appliedVersion),
        offered: short(t.offeredVersion),
        lag_ms: t.lagMs ?? 0,
        pinned: t.pinned ? "yes" : "no",
        last_nack: e ? `${e.reason} ${e.table ? `${e.table}${e.row !== null && e.row !== undefined ? ` row ${e.row}` : ""}: ` : ""}${e.detail || e.message || ""}`.trim() : "-",
      });
    }
  }
  return renderTable(rows, ["node", "up", "labels", "canary", "kind", "running", "offered", "lag_ms", "pinned", "last_nack"]);
}

/** dryrun: one line per query and kind: now → after. */
export function renderDryRun(r: Obj): string {
  const rows = ((r.results ?? []) as Obj[]).map((x) => ({ query: x.query, kind: x.kind, now: x.now, after: x.after, changed: x.changed ? "yes" : "no" }));
  const kinds = ((r.kinds ?? []) as Obj[]).map((k) => `${k.kind} ${short(k.now)} -> ${short(k.after)}${k.error ? ` (${k.error})` : ""}`).join("; ");
  return `${renderTable(rows, ["query", "kind", "now", "after", "changed"])}\nversions: ${kinds}`;
}

function int(v: unknown, name: string): number {
  if (!/^-?\d+$/.test(String(v))) throw new CliError(`${name} must be an integer, got '${String(v)}'`, 2);
  return Number(v);
}

export const FLEET_COMMANDS: readonly CommandSpec[] = [
  {
    path: ["push"],
    summary: "Recompile every table kind from the database now and send changed kinds to the data planes (or to a canary)",
    description:
      "Writes made through olectl or the management API are sent at once; push is for rows written by other programs (SQL, kamctl) before the next change check, and for controlled rollouts. " +
      "With --canary label=value or --percent N only the matching data planes get the new versions; the control plane watches them for --soak-ms (NACKs, 5xx/408 ratio and failed calls against the other nodes) and promotes or rolls back by itself (olectl canary status, olectl audit). " +
      "Exit 1 when a kind does not compile (it keeps its previous version) or bad rows were refused (the other rows went live).",
    options: [
      { name: "canary", type: "string", value: "LABEL=VALUE", doc: "canary to the data planes with this label (controlPlane.labels)" },
      { name: "percent", type: "int", value: "N", doc: "canary to N% of the connected data planes" },
      { name: "soak-ms", type: "int", value: "MS", doc: "canary soak time (control plane default: --soak-ms, 60000)" },
      { name: "max-error-ratio", type: "string", value: "R", doc: "allowed rise of (5xx+408)/replies over the other nodes (default 0.05)" },
    ],
    target: "control",
    rpc: ["push"],
    examples: ["olectl push", "olectl push --canary zone=eu --soak-ms 30000", "olectl push --percent 10"],
    run: async (ctx, { opts }) => {
      const p: Record<string, unknown> = {};
      if (opts.canary !== undefined) p.canary = str(opts.canary);
      if (opts.percent !== undefined) p.percent = opts.percent;
      if (opts["soak-ms"] !== undefined) p.soak_ms = opts["soak-ms"];
      if (opts["max-error-ratio"] !== undefined) {
        const r = Number(opts["max-error-ratio"]);
        if (!(r >= 0 && r <= 1)) throw new CliError(`--max-error-ratio must be 0..1, got '${String(opts["max-error-ratio"])}'`, 2);
        p.max_error_ratio = r;
      }
      if (p.soak_ms !== undefined && p.canary === undefined && p.percent === undefined) throw new CliError("--soak-ms needs --canary or --percent", 2);
      const r = (await ctx.cp.call("push", p)) as Obj;
      const failure = pushFailure(r);
      const held = ((r.held ?? []) as Obj[]).map((h) => `held: ${h.kind} ${short(h.version)}: ${h.reason}`);
      const human = [renderPush(r), ...held, ...(r.canary ? [renderCanary(r.canary)] : [])].join("\n");
      return out(r, human, failure ? { failure } : {});
    },
  },
  {
    path: ["canary", "status"],
    summary: "Show the soaking canary, the last finished ones with their reason, and pinned kinds",
    target: "control",
    rpc: ["canary.status"],
    run: async (ctx) => {
      const r = (await ctx.cp.call("canary.status")) as Obj;
      const recent = (r.recent as Obj[]).map((c) => `#${c.id} ${c.state} ${c.selector} ${(c.kinds as Obj[]).map((k) => k.kind).join(",")}: ${c.reason}`);
      const pins = (r.pins as Obj[]).map((p) => `pinned: ${p.kind} ${p.version} by ${p.by} at ${p.at}`);
      return out(r, [renderCanary(r.current), ...(recent.length ? ["recent:", ...recent] : []), ...pins].join("\n"));
    },
  },
  {
    path: ["canary", "promote"],
    summary: "Promote the soaking canary to every data plane now",
    target: "control",
    rpc: ["canary.promote"],
    run: async (ctx) => {
      const r = (await ctx.cp.call("canary.promote")) as Obj;
      return out(r, renderCanary(r));
    },
  },
  {
    path: ["canary", "abort"],
    summary: "Roll the soaking canary back now (its nodes get the fleet's version again)",
    target: "control",
    rpc: ["canary.abort"],
    run: async (ctx) => {
      const r = (await ctx.cp.call("canary.abort")) as Obj;
      return out(r, renderCanary(r));
    },
  },
  {
    path: ["rollback"],
    summary: "Serve an earlier kept version of a kind to every data plane and pin the kind (until unpin)",
    description: "VERSION is one of `olectl snapshots KIND` (the last 10 versions per kind keep their rows).",
    args: [
      { name: "kind", doc: "table kind, e.g. dispatcher" },
      { name: "version", doc: "a kept version (olectl snapshots KIND)" },
    ],
    target: "control",
    rpc: ["rollback"],
    examples: ["olectl rollback dispatcher 9f2c1a0b33d4e5f6"],
    run: async (ctx, { args }) => {
      const r = (await ctx.cp.call("rollback", { kind: str(args.kind), version: str(args.version) })) as Obj;
      return out(r, `${r.kind}: rolled back from ${short(r.from)} to ${r.version}; pinned (olectl unpin ${r.kind} to follow the database again)`);
    },
  },
  {
    path: ["unpin"],
    summary: "End a rollback's pin: the kind follows its newest compiled version again",
    args: [{ name: "kind", doc: "table kind" }],
    target: "control",
    rpc: ["unpin"],
    run: async (ctx, { args }) => {
      const r = (await ctx.cp.call("unpin", { kind: str(args.kind) })) as Obj;
      return out(r, `${r.kind}: unpinned; fleet version ${short(r.version)}`);
    },
  },
  {
    path: ["nodes"],
    summary: "Fleet status: per data plane and kind the version running and offered, lag, last NACK, canary role",
    target: "control",
    rpc: ["nodes"],
    run: async (ctx) => {
      const r = await ctx.cp.call("nodes");
      return out(r, renderFleetNodes(r));
    },
  },
  {
    path: ["dryrun"],
    summary: "Show where numbers/R-URIs would be routed now and after the pending database change, before any push",
    description:
      "Answers per kind (lcr, drouting, carrierroute, prefix_route, mtree, dispatcher) with the fleet's current version and with the version the database compiles to now, using the data plane's own lookup functions.",
    args: [{ name: "number", doc: "R-URI (sip:+4930123@host) or number", variadic: true }],
    options: [
      { name: "from", type: "string", value: "IP", doc: "source address (lcr from_uri / rules)" },
      { name: "time", type: "string", value: "ISO", doc: "time of the call (drouting time recurrences), default now" },
      { name: "kind", type: "string", value: "KIND", repeat: true, doc: "only these kinds (default all six)" },
      { name: "lcr-id", type: "int", value: "N", doc: "lcr instance (default 1)" },
      { name: "dr-group", type: "int", value: "N", doc: "drouting group (default 0)" },
      { name: "carrier", type: "string", value: "NAME", doc: "carrierroute carrier (default: default carrier)" },
      { name: "domain", type: "string", value: "NAME", doc: "carrierroute domain (default: first)" },
      { name: "mtree", type: "string", value: "NAME", doc: "mtree tree name (default: every tree)" },
      { name: "set", type: "int", value: "N", doc: "dispatcher set to list (default every set)" },
    ],
    target: "control",
    rpc: ["route.dryRun"],
    examples: ["olectl dryrun +4930123456 sip:+1555@example.com --kind lcr --kind prefix_route"],
    run: async (ctx, { args, opts }) => {
      const numbers = (args.number as string[] | undefined) ?? [];
      if (numbers.length === 0) throw new CliError("dryrun needs at least one number or R-URI", 2);
      const p: Record<string, unknown> = { queries: numbers.map((uri) => ({ uri, ...(opts.from ? { from: opts.from } : {}), ...(opts.time ? { time: opts.time } : {}) })) };
      if (opts.kind) p.kinds = opts.kind;
      const map: Record<string, string> = { "lcr-id": "lcr_id", "dr-group": "dr_group", carrier: "carrier", domain: "domain", mtree: "mtree", set: "dispatcher_set" };
      for (const [o, k] of Object.entries(map)) if (opts[o] !== undefined) p[k] = o === "set" ? int(opts[o], "--set") : opts[o];
      const r = (await ctx.cp.call("route.dryRun", p)) as Obj;
      return out(r, renderDryRun(r));
    },
  },
];
