import type { CommandSpec, GroupSpec, OptSpec, Output, RunContext } from "./command-spec.js";
import { bashCompletion } from "./completion.js";
import { formatDuration, renderTable } from "./format.js";
import { renderDispatcherList, renderHtableDump, renderLocation, statsObject } from "./render-kamailio.js";
import { CliError, followEvents, wsUrlFor } from "./rpc-client.js";
import { cliValue, str } from "./cli-values.js";
import { CONTROL_PLANE_COMMANDS } from "./commands-control-plane.js";
import { FLEET_COMMANDS } from "./commands-fleet.js";

/**
 * olectl's ONE command-definition table. Data-plane commands use Kamailio's RPC names
 * (dispatcher.list, ul.dump, htable.dump, pike.top, …) so they work against any node exposing
 * them; control-plane commands (`--cp-url`, rows in commands-control-plane.ts) use the management
 * API of control-plane/api (`<table>.list|create|delete` by id, subscriber.*, push, nodes, diff).
 *
 * @example
 *   olectl dispatcher set-state ip 1 sip:10.0.0.1:5060
 */
export const GLOBAL_OPTIONS: readonly OptSpec[] = [
  { name: "url", type: "string", value: "URL", env: "OLELO_URL", default: "http://127.0.0.1:8060/RPC", doc: "data-plane JSON-RPC endpoint" },
  { name: "cp-url", type: "string", value: "URL", env: "OLELO_CP_URL", default: "http://127.0.0.1:8070/RPC", doc: "control-plane management endpoint" },
  { name: "token", type: "string", value: "TOKEN", env: "OLELO_TOKEN", doc: "bearer token for the data plane (and the control plane unless --cp-token)" },
  { name: "cp-token", type: "string", value: "TOKEN", env: "OLELO_CP_TOKEN", doc: "bearer token for the control plane" },
  { name: "ca", type: "string", value: "FILE", env: "OLELO_CA", doc: "CA certificates (PEM) to trust for https:// URLs (a control plane with --api-tls-cert)" },
  { name: "timeout", type: "int", value: "MS", env: "OLELO_TIMEOUT", default: "10000", doc: "per-request timeout in milliseconds" },
  { name: "json", type: "flag", doc: "print raw JSON (for scripts)" },
  { name: "help", type: "flag", doc: "show help for the command" },
  { name: "version", type: "flag", doc: "print olectl's version and exit" },
];

export const GROUPS: readonly GroupSpec[] = [
  { path: ["dispatcher"], summary: "Load-balancer destinations: live state (data plane) and stored rows (control plane)" },
  { path: ["ul"], summary: "Registered contacts (usrloc)" },
  { path: ["htable"], summary: "Shared hash tables (htable)" },
  { path: ["pike"], summary: "Flood detection (pike)" },
  { path: ["subscriber"], summary: "SIP digest-auth subscribers (control plane)" },
  { path: ["lcr"], summary: "Least-cost routing (control plane)" },
  { path: ["lcr", "gw"], summary: "LCR gateways" },
  { path: ["canary"], summary: "Canary pushes: status, promote, abort (control plane)" },
  { path: ["access"], summary: "Control-plane security: reload certificates and access files, show what is in force" },
  { path: ["completion"], summary: "Shell completion scripts" },
];

const TABLE_OPT: OptSpec = { name: "table", type: "string", value: "NAME", default: "location", doc: "usrloc table (default location)" };

const out = (data: unknown, human?: string): Output => ({ data, human });

/** `rpc --cp`, `methods --cp`: talk to the management API instead of the node. */
const CP_FLAG: OptSpec = { name: "cp", type: "flag", doc: "call the control plane's management API (--cp-url) instead of the data plane" };

export const COMMANDS: readonly CommandSpec[] = [
  {
    path: ["uptime"],
    summary: "Show how long the data plane has been running",
    target: "data",
    rpc: ["core.uptime"],
    examples: ["olectl uptime", "olectl --json uptime"],
    run: async (ctx) => {
      const r = (await ctx.dp.call("core.uptime")) as { now: string; up_since: string; uptime: number };
      return out(r, `up ${formatDuration(r.uptime)} (since ${r.up_since}; now ${r.now})`);
    },
  },
  {
    path: ["version"],
    summary: "Show the data plane's version string",
    target: "data",
    rpc: ["core.version"],
    run: async (ctx) => out(await ctx.dp.call("core.version")),
  },
  {
    path: ["stats"],
    summary: "Show statistics (all, group:, group:name or name)",
    description: "Kamailio's stats.get_statistics. Human output keeps Kamailio's `group:name = value` lines; --json gives an object of numbers.",
    args: [{ name: "selector", doc: "all (default), core:, tmx:UAS_transactions, rcv_requests …", optional: true, variadic: true }],
    target: "data",
    rpc: ["stats.get_statistics"],
    examples: ["olectl stats", "olectl stats core: tmx:", "olectl --json stats sl:"],
    run: async (ctx, { args }) => {
      const sels = (args.selector as string[] | undefined)?.length ? (args.selector as string[]) : ["all"];
      const lines = (await ctx.dp.call("stats.get_statistics", sels)) as string[];
      return out(statsObject(lines), lines.length ? lines.join("\n") : "(no matching statistics)");
    },
  },
  {
    path: ["rpc"],
    summary: "Call any RPC method of the data plane (of the control plane with --cp)",
    description:
      "Arguments are sent positionally: each is a JSON value when it parses (12, true, {\"a\":1}), otherwise a string. With --named the params are an object instead. --cp calls the management API (--cp-url), e.g. `olectl rpc --cp dr_gateways.list --named type=1`.",
    args: [
      { name: "method", doc: "RPC method name", complete: "methods" },
      { name: "args", doc: "positional parameters", optional: true, variadic: true },
    ],
    options: [
      { name: "named", type: "string", repeat: true, value: "K=V", doc: "named parameter (repeatable); V is JSON when it parses" },
      CP_FLAG,
    ],
    target: "data",
    alsoControl: true,
    examples: ["olectl rpc core.echo hello 12", "olectl rpc dispatcher.set_state ip 1 sip:10.0.0.1", "olectl rpc events.since --named since=0 --named limit=10", "olectl rpc --cp dispatcher.get 3"],
    run: async (ctx, { args, opts }) => {
      const pos = (args.args as string[] | undefined) ?? [];
      const named = (opts.named as string[] | undefined) ?? [];
      if (named.length && pos.length) throw new CliError("use either positional arguments or --named, not both", 2);
      let params: unknown[] | Record<string, unknown> = pos.map(cliValue);
      if (named.length) {
        params = {};
        for (const kv of named) {
          const eq = kv.indexOf("=");
          if (eq <= 0) throw new CliError(`--named expects K=V, got '${kv}'`, 2);
          params[kv.slice(0, eq)] = cliValue(kv.slice(eq + 1));
        }
      }
      const r = await (opts.cp ? ctx.cp : ctx.dp).call(str(args.method), params);
      return out(r, typeof r === "string" ? r : JSON.stringify(r, null, 2));
    },
  },
  {
    path: ["methods"],
    summary: "List RPC methods, or show the help of one (of the control plane with --cp)",
    args: [{ name: "method", doc: "show this method's help", optional: true, complete: "methods" }],
    options: [CP_FLAG],
    target: "data",
    alsoControl: true,
    rpc: ["system.listMethods", "system.methodHelp"],
    run: async (ctx, { args, opts }) => {
      const c = opts.cp ? ctx.cp : ctx.dp;
      if (args.method) return out(await c.call("system.methodHelp", [str(args.method)]));
      return out(await c.call("system.listMethods"));
    },
  },
  {
    path: ["tables"],
    summary: "Show applied routing-table versions and the last rejected (NACKed) push per kind",
    args: [{ name: "kind", doc: "only this table kind", optional: true }],
    target: "data",
    rpc: ["core.config_status"],
    run: async (ctx, { args }) => {
      const rows = (await ctx.dp.call("core.config_status", args.kind ? [str(args.kind)] : [])) as Record<string, unknown>[];
      return out(rows, renderTable(rows, ["kind", "version", "appliedAt", "rows", "source", "lastErrorVersion", "lastError"]));
    },
  },
  {
    path: ["events"],
    summary: "Follow the data plane's event stream (until Ctrl-C)",
    description: "Subscribes over the data plane's /ws endpoint and prints one line per event: SEQ TS KIND DATA (--json: one JSON object per line). Reconnects with --since = last seq after a lost connection.",
    args: [{ name: "kinds", doc: "kinds or prefixes (call.*, dispatcher.); all when omitted", optional: true, variadic: true }],
    options: [
      { name: "since", type: "int", value: "SEQ", doc: "first replay buffered events after SEQ (0 = all buffered)" },
      { name: "count", type: "int", value: "N", doc: "exit after N events" },
    ],
    target: "data",
    rpc: ["events.subscribe"],
    examples: ["olectl events", "olectl events 'dispatcher.*' call.started --since 0", "olectl --json events --count 10"],
    run: async (ctx, { args, opts }) => {
      const json = ctx.globals.json;
      const f = followEvents({
        url: wsUrlFor(ctx.globals.url),
        token: ctx.globals.token,
        kinds: (args.kinds as string[] | undefined) ?? [],
        since: opts.since as number | undefined,
        count: opts.count as number | undefined,
        onEvent: (ev) => ctx.stdout(json ? JSON.stringify(ev) : `${ev.seq} ${ev.ts} ${ev.kind} ${JSON.stringify(ev.data)}`),
        onMissed: (m) => (json ? ctx.stdout(JSON.stringify(m)) : ctx.stderr(`!! missed ${m.missed} events (seq ${m.first}..${m.last})`)),
        onInfo: (msg) => ctx.stderr(msg),
      });
      ctx.onInterrupt(() => f.stop());
      await f.done;
    },
  },
  // ---- dispatcher: data plane (live) ----
  {
    path: ["dispatcher", "list"],
    summary: "Show the live destination sets and their state",
    target: "data",
    rpc: ["dispatcher.list"],
    run: async (ctx) => {
      const r = await ctx.dp.call("dispatcher.list");
      return out(r, renderDispatcherList(r));
    },
  },
  {
    path: ["dispatcher", "reload"],
    summary: "Reload destination sets from their source",
    target: "data",
    rpc: ["dispatcher.reload"],
    run: async (ctx) => out(await ctx.dp.call("dispatcher.reload")),
  },
  {
    path: ["dispatcher", "set-state"],
    summary: "Set a destination's state (a active, i inactive, d disabled, t trying; +p probing)",
    args: [
      { name: "state", doc: "a|i|d|t, optionally followed by p (ap, ip)", choices: ["a", "i", "d", "t", "ap", "ip", "dp", "tp"] },
      { name: "group", doc: "set id" },
      { name: "address", doc: "destination URI, or all" },
    ],
    target: "data",
    rpc: ["dispatcher.set_state"],
    examples: ["olectl dispatcher set-state ip 1 sip:10.0.0.1:5060"],
    run: async (ctx, { args }) => out(await ctx.dp.call("dispatcher.set_state", [str(args.state), cliValue(str(args.group)), str(args.address)])),
  },
  {
    path: ["dispatcher", "memadd"],
    summary: "Add a destination in memory only (lost on reload/push)",
    args: [
      { name: "group", doc: "set id" },
      { name: "address", doc: "destination URI" },
      { name: "flags", doc: "dispatcher flags", optional: true },
      { name: "priority", doc: "priority", optional: true },
      { name: "attrs", doc: "attribute string (weight=50;duid=x)", optional: true },
    ],
    target: "data",
    rpc: ["dispatcher.add"],
    run: async (ctx, { args }) => {
      const p: unknown[] = [cliValue(str(args.group)), str(args.address)];
      if (args.flags !== undefined) p.push(cliValue(str(args.flags)));
      if (args.priority !== undefined) p.push(cliValue(str(args.priority)));
      if (args.attrs !== undefined) p.push(str(args.attrs));
      return out(await ctx.dp.call("dispatcher.add", p));
    },
  },
  {
    path: ["dispatcher", "memrm"],
    summary: "Remove a destination from memory only",
    args: [
      { name: "group", doc: "set id" },
      { name: "address", doc: "destination URI" },
    ],
    target: "data",
    rpc: ["dispatcher.remove"],
    run: async (ctx, { args }) => out(await ctx.dp.call("dispatcher.remove", [cliValue(str(args.group)), str(args.address)])),
  },
  // ---- dispatcher: control plane (stored rows) ----
  ...CONTROL_PLANE_COMMANDS.filter((c) => c.path[0] === "dispatcher"),
  // ---- usrloc ----
  {
    path: ["ul", "show"],
    summary: "Show registered contacts (all, or one AOR)",
    args: [{ name: "aor", doc: "address of record, e.g. alice or alice@example.com", optional: true }],
    options: [TABLE_OPT],
    target: "data",
    rpc: ["ul.dump", "ul.lookup"],
    run: async (ctx, { args, opts }) => {
      const r = args.aor ? await ctx.dp.call("ul.lookup", [str(opts.table), str(args.aor)]) : await ctx.dp.call("ul.dump");
      return out(r, renderLocation(r));
    },
  },
  {
    path: ["ul", "rm"],
    summary: "Remove an AOR, or one of its contacts",
    args: [
      { name: "aor", doc: "address of record" },
      { name: "contact", doc: "only this contact URI", optional: true },
    ],
    options: [TABLE_OPT],
    target: "data",
    rpc: ["ul.rm", "ul.rm_contact"],
    run: async (ctx, { args, opts }) =>
      out(
        args.contact
          ? await ctx.dp.call("ul.rm_contact", [str(opts.table), str(args.aor), str(args.contact)])
          : await ctx.dp.call("ul.rm", [str(opts.table), str(args.aor)]),
      ),
  },
  // ---- htable / pike ----
  {
    path: ["htable", "dump"],
    summary: "Dump a hash table",
    args: [{ name: "name", doc: "table name, e.g. ipban" }],
    target: "data",
    rpc: ["htable.dump"],
    run: async (ctx, { args }) => {
      const r = await ctx.dp.call("htable.dump", [str(args.name)]);
      return out(r, renderHtableDump(r));
    },
  },
  {
    path: ["htable", "get"],
    summary: "Get one item",
    args: [
      { name: "name", doc: "table name" },
      { name: "key", doc: "item key" },
    ],
    target: "data",
    rpc: ["htable.get"],
    run: async (ctx, { args }) => out(await ctx.dp.call("htable.get", [str(args.name), str(args.key)])),
  },
  {
    path: ["htable", "set"],
    summary: "Set one item (string, or integer with --int)",
    args: [
      { name: "name", doc: "table name" },
      { name: "key", doc: "item key" },
      { name: "value", doc: "value" },
    ],
    options: [{ name: "int", type: "flag", doc: "store as an integer (htable.seti)" }],
    target: "data",
    rpc: ["htable.sets", "htable.seti"],
    run: async (ctx, { args, opts }) => {
      if (!opts.int) return out(await ctx.dp.call("htable.sets", [str(args.name), str(args.key), str(args.value)]));
      const n = Number(args.value);
      if (!Number.isInteger(n)) throw new CliError(`--int needs an integer value, got '${str(args.value)}'`, 2);
      return out(await ctx.dp.call("htable.seti", [str(args.name), str(args.key), n]));
    },
  },
  {
    path: ["htable", "rm"],
    summary: "Delete one item",
    args: [
      { name: "name", doc: "table name" },
      { name: "key", doc: "item key" },
    ],
    target: "data",
    rpc: ["htable.delete"],
    run: async (ctx, { args }) => out(await ctx.dp.call("htable.delete", [str(args.name), str(args.key)])),
  },
  {
    path: ["pike", "top"],
    summary: "Show the source IPs pike is tracking, busiest first",
    args: [{ name: "filter", doc: "ALL (default), HOT or WARM", optional: true, choices: ["ALL", "HOT", "WARM"] }],
    target: "data",
    rpc: ["pike.top"],
    run: async (ctx, { args }) => out(await ctx.dp.call("pike.top", args.filter ? [str(args.filter)] : [])),
  },
  // ---- control plane: subscribers, lcr, versions, nodes ----
  ...CONTROL_PLANE_COMMANDS.filter((c) => c.path[0] !== "dispatcher"),
  // ---- control plane: fleet (push, canary, rollback, nodes, dryrun) ----
  ...FLEET_COMMANDS,
  {
    path: ["completion", "bash"],
    summary: "Print the bash completion script (source <(olectl completion bash))",
    target: "local",
    run: async (ctx: RunContext) => {
      ctx.stdout(bashCompletion(COMMANDS, GROUPS, GLOBAL_OPTIONS));
    },
  },
];
