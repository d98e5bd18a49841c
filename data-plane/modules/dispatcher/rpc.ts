import { RpcCode, RpcError, defineRpc } from "../../core/api.js";
import { runReload } from "../../core/kit/index.js";
import type { RpcMethod } from "../../core/api.js";
import { attrsToRpc } from "../../../tables/dispatcher/attrs.js";
import type { DispatcherEngine } from "./engine.js";
import { parseRpcState, stateLetters } from "../../../tables/dispatcher/flags.js";
import { dsHash } from "../../../tables/dispatcher/hash.js";
import type { DestLocation, LiveSet } from "./state.js";

/** Kamailio proto ids (PROTO_NONE .. PROTO_WSS), shown as PROTOID by `dispatcher.list full`. */
const PROTO_IDS: Readonly<Record<string, number>> = { "": 0, udp: 1, tcp: 2, tls: 3, sctp: 4, ws: 5, wss: 6 };

/**
 * The dispatcher's RPC methods with Kamailio's names, parameters and result shapes
 * (reference §1.9), plus `dispatcher.stats` (per-destination counters Kamailio lacks).
 * Parameters may be positional or named; a bad one fails with an RpcError naming it, and
 * nothing changes.
 */

/** What the RPCs need from the module. */
export interface DispatcherRpcTarget {
  readonly engine: DispatcherEngine;
  reload(): Promise<void>;
  addDest(group: number, address: string, flags: number, priority: number, attrs: string): Promise<void>;
  removeDest(group: number, address: string): Promise<void>;
}

const round3 = (n: number): number => Math.round(n * 1000) / 1000;

function latencyOf(loc: DestLocation): Record<string, number> {
  const l = loc.rt.latency;
  return { AVG: round3(l.average), STD: round3(l.stdev), EST: round3(l.estimate), MAX: l.max, TIMEOUT: l.timeout };
}

function statsOf(engine: DispatcherEngine, loc: DestLocation): Record<string, unknown> {
  const rt = loc.rt;
  return {
    SELECTED: rt.selected,
    FAILED: rt.failed,
    PROBES_SENT: rt.probesSent,
    PROBES_FAILED: rt.probesFailed,
    LAST_CODE: rt.lastCode,
    LAST_REASON: rt.lastReason,
    LAST_PROBE_SEC: Math.floor(rt.lastProbeAt / 1000),
    LAST_CHANGE_SEC: Math.floor(rt.lastChangeAt / 1000),
    ...(engine.params.pingLatencyStats ? { LATENCY_MS: round3(rt.latency.estimate) } : {}),
  };
}

/** One DEST record of dispatcher.list. */
export function destRecord(engine: DispatcherEngine, set: LiveSet, i: number, mode: "short" | "normal" | "full"): Record<string, unknown> {
  const dest = set.def.dests[i]!;
  const rt = set.rt[i]!;
  const loc: DestLocation = { set, idx: i, dest, rt };
  const rec: Record<string, unknown> = { IDX: i, URI: dest.uri, FLAGS: stateLetters(rt.flags), PRIORITY: dest.priority, IUID: dest.id };
  if (mode === "full") {
    const t = dest.target;
    rec.HOST = t.host;
    rec.IPADDR = rt.addrs[0] ?? "";
    rec.PORT = t.port;
    rec.PROTOID = PROTO_IDS[t.transport] ?? 0;
    rec.DNSTIME_SEC = Math.floor(rt.dnsTime / 1000);
    rec.DNSTIME_USEC = (rt.dnsTime % 1000) * 1000;
    rec.OCRATE = rt.oc.rate;
    rec.OCIDX = rt.oc.idx;
    rec.OCSEQ = rt.oc.seq;
    rec.OCTIME_SEC = Math.floor(rt.oc.until / 1000);
    rec.OCTIME_USEC = (rt.oc.until % 1000) * 1000;
  }
  if ((mode !== "short" && dest.attrs.body !== "") || mode === "full") {
    rec.ATTRS = attrsToRpc(dest.attrs, rt.probingCount, rt.rweight);
  }
  if (engine.params.pingLatencyStats) rec.LATENCY = latencyOf(loc);
  if (dest.attrs.duid !== "") rec.RUNTIME = { DLGLOAD: engine.loads.load(set.id, dest.attrs.duid) };
  if (mode !== "short") rec.STATS = statsOf(engine, loc);
  return { DEST: rec };
}

/** The whole dispatcher.list result. */
export function listSets(engine: DispatcherEngine, mode: "short" | "normal" | "full"): Record<string, unknown> {
  const records: unknown[] = [];
  for (const sid of engine.live.compiled.setIds) {
    const set = engine.live.sets.get(sid)!;
    const targets: unknown[] = [];
    for (let i = 0; i < set.size; i++) targets.push(destRecord(engine, set, i, mode));
    records.push({ SET: { ID: sid, TARGETS: targets } });
  }
  return { NRSETS: engine.live.sets.size, RECORDS: records };
}

function groupOf(engine: DispatcherEngine, group: number): LiveSet {
  const s = engine.live.sets.get(group);
  if (!s) throw new RpcError(RpcCode.NotFound, `group: destination set ${group} not found`, { param: "group" });
  return s;
}

function stateParam(v: unknown): number {
  const st = parseRpcState(String(v));
  if (st === null) throw RpcError.invalidParam("state", `'${String(v)}' is not a state (a, i, t, d, optionally followed by p)`);
  return st;
}

/** Builds the RPC descriptors over a module target. */
export function createRpcMethods(t: DispatcherRpcTarget): RpcMethod[] {
  const e = t.engine;
  return [
    defineRpc({
      name: "dispatcher.list",
      doc: "List the destination sets with state, attributes, latency and counters",
      params: [{ name: "mode", type: "string", optional: true, enum: ["short", "normal", "full"], doc: "short: no attrs/stats; full: addresses and overload data too" }],
      returns: "{NRSETS, RECORDS:[{SET:{ID, TARGETS:[{DEST:{IDX, URI, FLAGS, PRIORITY, IUID, ATTRS, LATENCY, RUNTIME, STATS}}]}}]}",
      handler: ({ mode }) => listSets(e, mode ?? "normal"),
    }),
    defineRpc({
      name: "dispatcher.reload",
      doc: "Reload the destination sets from the list file, or (control-plane mode) have the control plane re-read the table and wait until it is applied; on error the old sets stay",
      params: [],
      returns: '"Ok. Dispatcher successfully reloaded."',
      handler: async () => {
        await runReload(() => t.reload(), "Reload Failed: ");
        return "Ok. Dispatcher successfully reloaded.";
      },
    }),
    defineRpc({
      name: "dispatcher.set_state",
      doc: "Set the state of a destination (or 'all' of a set): a, i, t, d, optionally followed by p (probing)",
      params: [
        { name: "state", type: "string", doc: "a|i|t|d[+p], also 1|0|3|2" },
        { name: "group", type: "int", doc: "set id" },
        { name: "address", type: "string", doc: "destination URI or 'all'" },
      ],
      returns: '"Ok. Dispatcher state updated."',
      handler: ({ state, group, address }) => {
        const st = stateParam(state);
        const s = groupOf(e, group);
        const addr = String(address);
        if (addr === "all") {
          for (let i = 0; i < s.size; i++) e.setState({ set: s, idx: i, dest: s.def.dests[i]!, rt: s.rt[i]! }, st, { reason: "rpc" });
        } else {
          const loc = e.live.find(s.id, addr);
          if (!loc) throw new RpcError(RpcCode.NotFound, `address: '${addr}' is not in set ${s.id}`, { param: "address" });
          e.setState(loc, st, { reason: "rpc" });
        }
        return "Ok. Dispatcher state updated.";
      },
    }),
    defineRpc({
      name: "dispatcher.set_duid_state",
      doc: "Set the state of a destination by its duid attribute (or 'all' of a set)",
      params: [
        { name: "state", type: "string" },
        { name: "group", type: "int" },
        { name: "duid", type: "string" },
      ],
      returns: '"Ok. Dispatcher state updated."',
      handler: ({ state, group, duid }) => {
        const st = stateParam(state);
        const s = groupOf(e, group);
        const d = String(duid);
        if (d === "all") {
          for (let i = 0; i < s.size; i++) e.setState({ set: s, idx: i, dest: s.def.dests[i]!, rt: s.rt[i]! }, st, { reason: "rpc" });
        } else {
          const loc = e.findDuid(s.id, d);
          if (!loc) throw new RpcError(RpcCode.NotFound, `duid: '${d}' is not in set ${s.id}`, { param: "duid" });
          e.setState(loc, st, { reason: "rpc" });
        }
        return "Ok. Dispatcher state updated.";
      },
    }),
    defineRpc({
      name: "dispatcher.ping_active",
      doc: "Show, or switch on (1) / off (0), keepalive probing of all destinations",
      params: [{ name: "state", type: "int", optional: true, doc: "0 or 1" }],
      returns: "{OldPingState} or {NewPingState, OldPingState}",
      handler: ({ state }) => {
        const old = e.pingActive ? 1 : 0;
        if (state === undefined) return { OldPingState: old };
        if (state !== 0 && state !== 1) throw RpcError.invalidParam("state", `must be 0 or 1, got ${String(state)}`);
        e.pingActive = state === 1;
        return { NewPingState: state, OldPingState: old };
      },
    }),
    defineRpc({
      name: "dispatcher.add",
      doc: "Add a destination in memory (kept until the next reload)",
      params: [
        { name: "group", type: "int" },
        { name: "address", type: "string" },
        { name: "flags", type: "int", optional: true },
        { name: "priority", type: "int", optional: true },
        { name: "attrs", type: "string", optional: true },
      ],
      returns: '"Ok. Dispatcher destination added."',
      handler: async ({ group, address, flags, priority, attrs }) => {
        await t.addDest(group, String(address), flags ?? 0, priority ?? 0, attrs ?? "");
        return "Ok. Dispatcher destination added.";
      },
    }),
    defineRpc({
      name: "dispatcher.remove",
      doc: "Remove a destination from memory (back at the next reload if the source has it)",
      params: [
        { name: "group", type: "int" },
        { name: "address", type: "string" },
      ],
      returns: '"Ok. Dispatcher destination removed."',
      handler: async ({ group, address }) => {
        await t.removeDest(group, String(address));
        return "Ok. Dispatcher destination removed.";
      },
    }),
    defineRpc({
      name: "dispatcher.hash",
      doc: "Compute the dispatcher hash of one or two values and the slot it picks among nslots",
      params: [
        { name: "nslots", type: "int" },
        { name: "val1", type: "string" },
        { name: "val2", type: "string", optional: true },
      ],
      returns: "{hashid, slot}",
      handler: ({ nslots, val1, val2 }) => {
        const n = nslots;
        if (n < 0) throw RpcError.invalidParam("nslots", "must be >= 0");
        const h = dsHash(String(val1), val2 === undefined ? null : String(val2));
        return { hashid: h, slot: n > 0 ? h % n : 0 };
      },
    }),
    defineRpc({
      name: "dispatcher.oclist",
      doc: "Overload-control data (alg 64) of the destinations of a set",
      params: [{ name: "group", type: "int" }],
      returns: "[{group, uri, flags, priority, ocrate, ocidx, ocseq, octime_sec, octime_usec, ocmin, ocmax}]",
      handler: ({ group }) => {
        const s = groupOf(e, group);
        return s.def.dests.map((d, i) => {
          const oc = s.rt[i]!.oc;
          return {
            group: s.id,
            uri: d.uri,
            flags: s.rt[i]!.flags,
            priority: d.priority,
            ocrate: oc.rate,
            ocidx: oc.idx,
            ocseq: oc.seq,
            octime_sec: Math.floor(oc.until / 1000),
            octime_usec: (oc.until % 1000) * 1000,
            ocmin: d.attrs.ocmin,
            ocmax: d.attrs.ocmax,
          };
        });
      },
    }),
    defineRpc({
      name: "dispatcher.stats",
      doc: "Per-destination counters (selected, failed over, probes, last reply, latency) and module totals",
      params: [{ name: "group", type: "int", optional: true, doc: "only this set" }],
      returns: "{TOTALS:{...}, RECORDS:[{SET, URI, FLAGS, SELECTED, FAILED, PROBES_SENT, PROBES_FAILED, LAST_CODE, ...}]}",
      handler: ({ group }) => {
        const sets = group === undefined ? [...e.live.sets.values()] : [groupOf(e, group)];
        const records: unknown[] = [];
        for (const s of sets) {
          for (let i = 0; i < s.size; i++) {
            const loc: DestLocation = { set: s, idx: i, dest: s.def.dests[i]!, rt: s.rt[i]! };
            const r: Record<string, unknown> = { SET: s.id, URI: loc.dest.uri, FLAGS: stateLetters(loc.rt.flags), ...statsOf(e, loc) };
            if (loc.dest.attrs.duid !== "") r.DLGLOAD = e.loads.load(s.id, loc.dest.attrs.duid);
            if (e.params.pingLatencyStats) r.LATENCY = latencyOf(loc);
            records.push(r);
          }
        }
        const totals: Record<string, number> = {};
        for (const k of e.deps.stats.names()) totals[k] = e.deps.stats.get(k) ?? 0;
        totals.tracked_calls = e.loads.size;
        return { TOTALS: totals, RECORDS: records };
      },
    }),
  ];
}
