/**
 * Management methods of the fleet controller (control-plane/push/fleet.ts): `push` (to all, or
 * a canary with `canary: "label=value"` / `percent: N`), `canary.status|promote|abort`,
 * `rollback`, `unpin` and `nodes` with the fleet's view (offered version, lag, canary role).
 *
 * @example
 *   curl -s localhost:8070/RPC -d '{"jsonrpc":"2.0","id":1,"method":"push","params":{"canary":"zone=eu","soak_ms":30000}}'
 */
import type { Pool } from "mysql2/promise";
import { RpcCode, RpcError } from "../../lib/rpc/errors.js";
import type { RpcMethod } from "../../lib/rpc/registry.js";
import type { DbSnapshotSource } from "../compile/source.js";
import { FleetError, type CanarySelector, type FleetController } from "../push/fleet.js";
import type { NodeStatus } from "../push/node-status.js";
import { actorOf } from "./crud.js";
import { auditEvent } from "./write.js";
import { dryRunMethod } from "./dry-run-method.js";
import { diffSets } from "../compile/diff.js";
import { tableNamesOf } from "../../tables/kinds.js";
import type { TableSet } from "../../tables/rows.js";
import { HASHED_SUFFIX } from "../push/least-secret.js";

const SECRETS = ["password", "ha1", "ha1b"];
/** Subscriber secrets left out of a diff (the fleet's copy has them stripped, see push/least-secret.ts). */
function withoutSecrets(set: TableSet | undefined): TableSet | undefined {
  if (!set) return set;
  return Object.fromEntries(Object.entries(set).map(([t, rows]) => [t, rows.map((r) => Object.fromEntries(Object.entries(r).filter(([c]) => !SECRETS.includes(c))))]));
}

export interface FleetMethodDeps {
  source: DbSnapshotSource;
  pool: Pool;
  fleet: FleetController;
  nodes: () => readonly NodeStatus[];
}

/** FleetError → 409 with its message (a state conflict: canary running, nothing to push, no node). */
async function guard<T>(fn: () => Promise<T> | T): Promise<T> {
  try {
    return await fn();
  } catch (e) {
    if (e instanceof FleetError) throw new RpcError(RpcCode.Conflict, e.message);
    throw e;
  }
}

/** "label=value" → selector; one clear error otherwise. */
export function parseCanarySelector(canary: unknown, percent: unknown): CanarySelector | null {
  if (canary !== undefined && percent !== undefined) throw RpcError.invalidParam("canary", "give canary or percent, not both");
  if (percent !== undefined) {
    if (typeof percent !== "number" || !Number.isInteger(percent) || percent < 1 || percent > 100) throw RpcError.invalidParam("percent", "must be an integer 1..100");
    return { percent };
  }
  if (canary === undefined) return null;
  const m = typeof canary === "string" ? /^([A-Za-z0-9][A-Za-z0-9_./-]{0,62})=([^\s,=]{1,128})$/.exec(canary) : null;
  if (!m) throw RpcError.invalidParam("canary", "must be label=value, e.g. zone=eu");
  return { label: m[1]!, value: m[2]! };
}

export function fleetMethods(d: FleetMethodDeps): RpcMethod[] {
  const { fleet, source } = d;
  return [
    {
      name: "push",
      doc:
        "Recompiles every kind from the database now. Without canary/percent the changed kinds go to every data plane at once (pinned kinds and versions a canary rolled back are held, listed in 'held'). " +
        "With canary (label=value) or percent the new versions go only to the matching nodes, which are watched for soak_ms (NACKs, 5xx/408 ratio, failed calls vs the other nodes) and then promoted to the fleet or rolled back automatically; the reason goes to the audit log.",
      params: [
        { name: "canary", type: "string", optional: true, doc: "label selector label=value (labels from the data plane's controlPlane.labels)" },
        { name: "percent", type: "int", optional: true, doc: "canary on this share of the connected nodes (1..100)" },
        { name: "soak_ms", type: "int", optional: true, doc: "soak time of a canary (default 60000)" },
        { name: "max_error_ratio", type: "number", optional: true, doc: "allowed rise of the (5xx+408)/replies ratio over the other nodes (default 0.05)" },
        { name: "max_failed_ratio", type: "number", optional: true, doc: "allowed rise of failed calls/calls (default 0.05)" },
      ],
      returns: "{ kinds: [{kind, version, rows, changed, error}], changed: [kind], errors: [...], refused: [{kind, table, key, reason}], pushed: [kind], held: [{kind, version, reason}], canary: {id, state, selector, kinds, nodes, endsAt, ...} | null }",
      async handler(args, call) {
        const selector = parseCanarySelector(args.canary, args.percent);
        const soak = args.soak_ms as number | undefined;
        if (soak !== undefined && (soak < 0 || soak > 86_400_000)) throw RpcError.invalidParam("soak_ms", "must be 0..86400000");
        for (const k of ["max_error_ratio", "max_failed_ratio"] as const) {
          const v = args[k] as number | undefined;
          if (v !== undefined && !(v >= 0 && v <= 1)) throw RpcError.invalidParam(k, "must be 0..1");
        }
        const actor = actorOf(call);
        const res = await fleet.capture(() => source.refresh(`push by ${actor}`));
        const errs = new Map(res.errors.map((e) => [e.kind, e]));
        const kinds = source.kinds().map((k) => {
          const cur = source.current(k);
          return { kind: k, version: cur?.version ?? null, rows: cur?.rows ?? 0, changed: res.changed.includes(k), error: errs.get(k) ?? null };
        });
        if (selector) {
          const policy = {
            ...(soak !== undefined ? { soakMs: soak } : {}),
            ...(args.max_error_ratio !== undefined ? { maxErrorRatioIncrease: args.max_error_ratio as number } : {}),
            ...(args.max_failed_ratio !== undefined ? { maxFailedCallRatioIncrease: args.max_failed_ratio as number } : {}),
          };
          const canary = await guard(() => fleet.startCanary({ selector, policy }, actor));
          await auditEvent(d.pool, actor, "push", { changed: res.changed, errors: res.errors, canary: { id: canary.id, selector: canary.selector } });
          return { kinds, changed: res.changed, errors: res.errors, refused: res.refused, pushed: [], held: [], canary };
        }
        const { moved, held } = fleet.promoteAll(actor);
        await auditEvent(d.pool, actor, "push", { changed: res.changed, errors: res.errors, pushed: moved, held });
        return { kinds, changed: res.changed, errors: res.errors, refused: res.refused, pushed: moved, held, canary: null };
      },
    },
    {
      name: "canary.status",
      doc: "The soaking canary (selector, kinds from → to, nodes, soak end, health of canary vs other nodes) and the last 10 finished ones with their reason; pinned kinds.",
      params: [],
      returns: "{ current: {...} | null, recent: [{id, state, reason, ...}], pins: [{kind, version, by, at}] }",
      handler: () => ({ ...fleet.canaryStatus(), pins: fleet.pins() }),
    },
    {
      name: "canary.promote",
      doc: "Promotes the soaking canary to every data plane now (audit: canary.promote).",
      params: [],
      returns: "{ id, state: 'promoted', reason, ... }",
      handler: (_a, call) => guard(() => fleet.promote(actorOf(call))),
    },
    {
      name: "canary.abort",
      doc: "Rolls the soaking canary back now: its nodes get the fleet's version again (audit: canary.rollback).",
      params: [],
      returns: "{ id, state: 'rolled-back', reason, ... }",
      handler: (_a, call) => guard(() => fleet.abort(actorOf(call))),
    },
    {
      name: "rollback",
      doc: "Serves an earlier kept version of a kind (snapshots.list; the last 10 per kind keep their rows) to every data plane and pins the kind: newer compiled versions wait until unpin.",
      params: [
        { name: "kind", type: "string" },
        { name: "version", type: "string" },
      ],
      returns: "{ kind, version, from, pinned: true }",
      handler: (a, call) => guard(() => fleet.rollback(a.kind as string, a.version as string, actorOf(call))),
    },
    {
      name: "unpin",
      doc: "Ends a rollback's pin: the kind follows its newest compiled version again (pushed at once unless the control plane runs with --hold).",
      params: [{ name: "kind", type: "string" }],
      returns: "{ kind, version, pinned: false }",
      handler: (a, call) => guard(() => fleet.unpin(a.kind as string, actorOf(call))),
    },
    dryRunMethod({ source, fleetVersion: (k) => fleet.fleetVersion(k) }),
    {
      name: "pending.list",
      doc: "Compiled versions the fleet does not run yet (held by --hold, a canary, a pin or a rolled-back canary): per kind the fleet's version, the compiled one and the rows added/removed/changed between them (subscriber secrets left out). `diff` shows what the database holds beyond the compiled version.",
      params: [],
      returns: "[{ kind, from, to, added: [{table, id, row}], removed: [...], changed: [{table, id, columns, before, after}] }]",
      handler: () =>
        source.kinds().flatMap((kind) => {
          const cur = source.current(kind);
          const served = fleet.fleetVersion(kind);
          // the fleet's subscriber versions carry the least-secret suffix (push/least-secret.ts)
          if (!cur || served?.version === cur.version || served?.version === cur.version + HASHED_SUFFIX) return [];
          return [{ kind, from: served?.version ?? null, to: cur.version, ...diffSets(tableNamesOf(kind), withoutSecrets(served?.set), withoutSecrets(cur.set)!) }];
        }),
    },
    {
      name: "nodes",
      doc: "Fleet status: per data plane its labels, health counters and canary role, and per kind the version running (appliedVersion), the version offered, lag in ms, pending, last NACK and pin.",
      params: [],
      returns:
        "[{ nodeId, peer, connected, labels, health, canary: 'canary'|'rest'|null, tables: [{kind, appliedVersion, offeredVersion, lagMs, pending, pinned, lastNackVersion, lastNackError}] }]",
      handler: () => fleet.decorate([...d.nodes()]),
    },
  ];
}
