import type { StatsRegistry } from "../stats/counters.js";
import { RpcError } from "../../../lib/rpc/errors.js";
import type { RpcMethod } from "../../../lib/rpc/registry.js";

/**
 * Kamailio's kex statistics RPCs over the StatsRegistry, same names and output shapes:
 * stats.get_statistics → `["core:rcv_requests = 12", …]`, stats.fetch → `{"core.rcv_requests": "12"}`
 * (stats.fetchn: numbers), stats.reset_statistics (silent), stats.clear_statistics (prints
 * `group:name = new (old)` for values that changed). Selectors: `all`, `group:`, `group:name`,
 * bare `name` (every group that has it) and, as in stats.fetch, `group.name`.
 *
 * @example
 *   registry.registerAll(statsMethods(stats));
 */
export function statsMethods(stats: StatsRegistry): RpcMethod[] {
  const selectors = {
    name: "selectors",
    type: "string",
    rest: true,
    doc: "one or more of: all, group: (e.g. core:), group:name (e.g. tmx:UAS_transactions), name",
  } as const;
  const need = (sels: unknown): string[] => {
    const list = (sels as string[] | undefined) ?? [];
    if (list.length === 0) throw RpcError.invalidParam("selectors", "give at least one selector: all, group:, group:name or name");
    return list.map((s) => normalise(stats, s));
  };
  const fetch = (sels: unknown, numeric: boolean) => {
    const out: Record<string, string | number> = {};
    for (const sel of need(sels)) {
      for (const [k, v] of stats.select(sel)) out[k.replace(":", ".")] = numeric ? v : String(v);
    }
    return out;
  };
  return [
    {
      name: "stats.get_statistics",
      doc: "Get core and module statistics as `group:name = value` lines.",
      params: [selectors],
      returns: '["core:rcv_requests = 12", …]',
      handler: ({ selectors: s }) => {
        const out: string[] = [];
        for (const sel of need(s)) for (const [k, v] of stats.select(sel)) out.push(`${k} = ${v}`);
        return out;
      },
    },
    {
      name: "stats.fetch",
      doc: "Fetch core and module statistics as an object of string values keyed `group.name`.",
      params: [selectors],
      returns: '{"core.rcv_requests": "12", …}',
      handler: ({ selectors: s }) => fetch(s, false),
    },
    {
      name: "stats.fetchn",
      doc: "Fetch core and module statistics as an object of number values keyed `group.name`.",
      params: [selectors],
      returns: '{"core.rcv_requests": 12, …}',
      handler: ({ selectors: s }) => fetch(s, true),
    },
    {
      name: "stats.reset_statistics",
      doc: "Reset the selected statistics to 0 (silent; gauges keep their value).",
      params: [selectors],
      handler: ({ selectors: s }) => {
        for (const sel of need(s)) stats.reset(sel);
        return null;
      },
    },
    {
      name: "stats.clear_statistics",
      doc: "Reset the selected statistics and print them: `group:name = new (old)` when the value changed.",
      params: [selectors],
      returns: '["core:rcv_requests = 0 (12)", …]',
      handler: ({ selectors: s }) => {
        const out: string[] = [];
        for (const sel of need(s)) {
          const before = new Map(stats.select(sel));
          stats.reset(sel);
          for (const [k, v] of stats.select(sel)) {
            const old = before.get(k);
            out.push(old === undefined || old === v ? `${k} = ${v}` : `${k} = ${v} (${old})`);
          }
        }
        return out;
      },
    },
  ];
}

/** Accepts stats.fetch's `group.name` form where the group exists; everything else unchanged. */
function normalise(stats: StatsRegistry, sel: string): string {
  if (sel === "all" || sel.includes(":")) return sel;
  const dot = sel.indexOf(".");
  if (dot > 0 && stats.groupNames().includes(sel.slice(0, dot))) return `${sel.slice(0, dot)}:${sel.slice(dot + 1)}`;
  return sel;
}
