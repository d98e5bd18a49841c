/**
 * `node.rpc {node, method, params}`: the control plane calls an allow-listed JSON-RPC method of one
 * data plane and answers its result (the web console's live state: dispatcher destinations, gateway
 * health, dialogs, registrations, bans). The data plane announces its control API URL in the Hello
 * of its push stream (control_url); the control plane POSTs `{method, params}` there, with
 * `Authorization: Bearer <nodeToken>` when `--node-rpc-token` is set (the data planes' control.token).
 * Read methods need role read-only, the ones that change state (ending a call, unbanning, setting a
 * destination's state) operator (roles.ts, `nodeRpcRole`). Also `tables.schema`: the columns of every
 * table the API edits, for the console's forms.
 *
 * @example
 *   curl -s localhost:8070/RPC -d '{"jsonrpc":"2.0","id":1,"method":"node.rpc","params":{"node":"edge-1","method":"dlg.list"}}'
 */
import { RpcCode, RpcError } from "../../lib/rpc/errors.js";
import type { RpcMethod } from "../../lib/rpc/registry.js";
import { tableKind, TABLE_KINDS } from "../../tables/kinds.js";
import { TABLES } from "../db/catalog.js";
import type { NodeStatus } from "../push/node-status.js";

/** Data-plane methods node.rpc forwards: read (role read-only) and write (role operator). */
export const NODE_RPC_READ = [
  "core.uptime",
  "core.version",
  "core.sync_status",
  "stats.get_statistics",
  "dispatcher.list",
  "lcr.dump_gws",
  "lcr.dump_rules",
  "dlg.list",
  "dlg.stats_active",
  "ul.dump",
  "ul.lookup",
  "pike.bans",
  "pike.top",
  "htable.dump",
  "tm.stats",
] as const;
export const NODE_RPC_WRITE = ["dlg.end_dlg", "dlg.terminate_dlg", "dispatcher.set_state", "pike.unban", "htable.delete", "ul.rm"] as const;

export interface NodeRpcDeps {
  nodes: () => readonly NodeStatus[];
  /** Bearer token for the data planes' control APIs (their control.token). */
  token?: string | null;
  timeoutMs?: number;
}

/** The inner method of a node.rpc call's params (named or positional), or undefined. */
export function nodeRpcInner(params: unknown): string | undefined {
  const m = Array.isArray(params) ? params[1] : params && typeof params === "object" ? (params as { method?: unknown }).method : undefined;
  return typeof m === "string" ? m : undefined;
}

export function nodeRpcMethods(d: NodeRpcDeps): RpcMethod[] {
  const allowed = new Set<string>([...NODE_RPC_READ, ...NODE_RPC_WRITE]);
  return [
    {
      name: "node.rpc",
      doc: `Calls a data plane's control API method and answers its result. Read methods (role read-only): ${NODE_RPC_READ.join(", ")}; with role operator also ${NODE_RPC_WRITE.join(", ")}.`,
      params: [
        { name: "node", type: "string", doc: "node id (see nodes)" },
        { name: "method", type: "string" },
        { name: "params", type: "any", optional: true, doc: "the method's params (array or object)" },
      ],
      returns: "the data plane's result",
      async handler(args) {
        const method = args.method as string;
        if (!allowed.has(method)) throw RpcError.invalidParam("method", `'${method}' is not forwarded to data planes (allowed: ${[...allowed].join(", ")})`);
        const n = d.nodes().find((x) => x.nodeId === args.node);
        if (!n) throw new RpcError(RpcCode.NotFound, `node '${String(args.node)}' is not known`, { param: "node" });
        if (!n.connected) throw new RpcError(RpcCode.Unavailable, `node '${n.nodeId}' is not connected`);
        if (!n.controlUrl) throw new RpcError(RpcCode.Unavailable, `node '${n.nodeId}' announced no control API (control: null, or an older build)`);
        const params = args.params ?? [];
        if (typeof params !== "object" || params === null) throw RpcError.invalidParam("params", "must be an array or an object");
        let res: Response;
        try {
          res = await fetch(n.controlUrl, {
            method: "POST",
            headers: { "content-type": "application/json", ...(d.token ? { authorization: `Bearer ${d.token}` } : {}) },
            body: JSON.stringify({ jsonrpc: "2.0", id: 1, method, params }),
            signal: AbortSignal.timeout(d.timeoutMs ?? 5000),
          });
        } catch (e) {
          throw new RpcError(RpcCode.Unavailable, `node '${n.nodeId}' control API ${n.controlUrl}: ${(e as Error).message}`);
        }
        const text = await res.text();
        let answer: { result?: unknown; error?: { code: number; message: string; data?: unknown } };
        try {
          answer = JSON.parse(text) as typeof answer;
        } catch {
          throw new RpcError(RpcCode.ServerError, `node '${n.nodeId}' answered HTTP ${res.status}, not JSON-RPC`);
        }
        if (answer.error) throw new RpcError(answer.error.code, `node '${n.nodeId}': ${answer.error.message}`, answer.error.data);
        return answer.result ?? null;
      },
    },
    {
      name: "tables.schema",
      doc: "Every table the API serves: kind, key column, writable, columns (name, SQL type, class, range, length, NOT NULL, default, auto-increment).",
      params: [],
      returns: "[{ name, kind, pk, pkAuto, writable, columns: [...] }]",
      handler: () => {
        const kindOf = new Map<string, string>();
        for (const k of TABLE_KINDS) for (const t of k.tables) kindOf.set(t.name, k.kind);
        return [...TABLES.values()]
          .filter((t) => !(t.name.startsWith("olelo_") && !t.writable))
          .map((t) => ({
            name: t.name,
            kind: kindOf.get(t.name) ?? null,
            pushed: kindOf.has(t.name) && tableKind(kindOf.get(t.name)!) !== undefined,
            pk: t.pk,
            pkAuto: t.pkAuto,
            writable: t.writable,
            columns: t.columns.map((c) => ({ name: c.name, sqlType: c.sqlType, cls: c.cls, min: c.min, max: c.max, maxLength: c.maxLength, notNull: c.notNull, hasDefault: c.hasDefault, autoIncrement: c.autoIncrement })),
          }));
      },
    },
  ];
}
