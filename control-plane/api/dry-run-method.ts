/**
 * `route.dryRun`: where numbers / R-URIs would be routed now (the version the fleet runs) and
 * after the pending change (the candidate compiled from the database, not pushed), per kind
 * (lcr, drouting, carrierroute, prefix_route, mtree, dispatcher). See compile/dry-run.ts.
 *
 * @example
 *   curl -s localhost:8070/RPC -d '{"jsonrpc":"2.0","id":1,"method":"route.dryRun","params":{"queries":[{"uri":"+4930123"}],"kinds":["prefix_route"]}}'
 */
import { RpcError } from "../../lib/rpc/errors.js";
import type { RpcMethod } from "../../lib/rpc/registry.js";
import { DRY_RUN_KINDS, dryRunLookup, type DryRunKind, type DryRunParams, type DryRunQuery } from "../compile/dry-run.js";
import { kindDef } from "../compile/kinds.js";
import type { DbSnapshotSource } from "../compile/source.js";
import type { PushSnapshot } from "../push/push-source.js";

export interface DryRunDeps {
  source: DbSnapshotSource;
  /** The version every (non-canary) node runs; default the source's current. */
  fleetVersion?: (kind: string) => PushSnapshot | undefined;
}

function queriesOf(v: unknown): DryRunQuery[] {
  if (!Array.isArray(v) || v.length === 0 || v.length > 1000) throw RpcError.invalidParam("queries", "must be a list of 1..1000 {uri, from?, time?}");
  return v.map((q, i) => {
    const o = typeof q === "string" ? { uri: q } : (q as Record<string, unknown>);
    if (!o || typeof o.uri !== "string" || o.uri.trim() === "") throw RpcError.invalidParam("queries", `entry ${i}: uri must be a non-empty string`);
    for (const k of ["from", "time"] as const) if (o[k] !== undefined && typeof o[k] !== "string") throw RpcError.invalidParam("queries", `entry ${i}: ${k} must be a string`);
    if (typeof o.time === "string" && Number.isNaN(Date.parse(o.time))) throw RpcError.invalidParam("queries", `entry ${i}: time '${o.time}' is not an ISO time`);
    return { uri: o.uri, ...(o.from ? { from: o.from as string } : {}), ...(o.time ? { time: o.time as string } : {}) };
  });
}

export function dryRunMethod(d: DryRunDeps): RpcMethod {
  const compiledByVersion = new Map<string, unknown>();
  const compiledNow = (snap: PushSnapshot): unknown => {
    const key = `${snap.kind}:${snap.version}`;
    if (!compiledByVersion.has(key)) {
      if (compiledByVersion.size > 32) compiledByVersion.clear();
      compiledByVersion.set(key, kindDef(snap.kind)!.compile(snap.set));
    }
    return compiledByVersion.get(key);
  };
  return {
    name: "route.dryRun",
    doc: "Where each number / R-URI would be routed now (the fleet's version) and after the pending change (compiled from the database, not pushed), for lcr, drouting, carrierroute, prefix_route, mtree and a dispatcher set; uses the data plane's lookup functions.",
    params: [
      { name: "queries", type: "array", doc: "[{uri, from?, time?}] or [uri]: R-URI or number, source address / caller URI, ISO time" },
      { name: "kinds", type: "array", optional: true, doc: "default: all six" },
      { name: "lcr_id", type: "int", optional: true, doc: "default 1" },
      { name: "dr_group", type: "int", optional: true, doc: "default 0" },
      { name: "carrier", type: "string", optional: true },
      { name: "domain", type: "string", optional: true },
      { name: "mtree", type: "string", optional: true },
      { name: "dispatcher_set", type: "int", optional: true },
    ],
    returns: "{ kinds: [{kind, now, after, error?}], results: [{query, kind, now, after, changed}] }",
    async handler(a) {
      const queries = queriesOf(a.queries);
      const kinds = (a.kinds ?? [...DRY_RUN_KINDS]) as unknown[];
      if (!Array.isArray(kinds) || kinds.some((k) => !(DRY_RUN_KINDS as readonly unknown[]).includes(k))) {
        throw RpcError.invalidParam("kinds", `must list some of ${DRY_RUN_KINDS.join(", ")}`);
      }
      const p: DryRunParams = {
        ...(a.lcr_id !== undefined ? { lcrId: a.lcr_id as number } : {}),
        ...(a.dr_group !== undefined ? { drGroup: a.dr_group as number } : {}),
        ...(a.carrier !== undefined ? { carrier: String(a.carrier) } : {}),
        ...(a.domain !== undefined ? { domain: String(a.domain) } : {}),
        ...(a.mtree !== undefined ? { mtree: String(a.mtree) } : {}),
        ...(a.dispatcher_set !== undefined ? { dispatcherSet: a.dispatcher_set as number } : {}),
      };
      const cand = await d.source.candidate(kinds as string[]);
      const versions: Array<{ kind: string; now: string | null; after: string | null; error?: string }> = [];
      const results: Array<{ query: string; kind: string; now: string; after: string; changed: boolean }> = [];
      for (const kind of kinds as DryRunKind[]) {
        const snap = d.fleetVersion ? d.fleetVersion(kind) : d.source.current(kind);
        const c = cand.get(kind);
        const after = c && "compiled" in c ? c : null;
        const err = c && "error" in c ? `${c.error.table}${c.error.row !== null ? ` row ${c.error.row}` : ""}: ${c.error.reason}` : undefined;
        versions.push({ kind, now: snap?.version ?? null, after: after?.version ?? null, ...(err ? { error: `does not compile: ${err}` } : {}) });
        const nowCompiled = snap ? compiledNow(snap) : null;
        for (const q of queries) {
          const n = nowCompiled ? dryRunLookup(kind, nowCompiled, q, p) : "(no version)";
          const x = after ? dryRunLookup(kind, after.compiled, q, p) : `(does not compile: ${err ?? "not read"})`;
          results.push({ query: q.uri, kind, now: n, after: x, changed: n !== x });
        }
      }
      return { kinds: versions, results };
    },
  };
}
