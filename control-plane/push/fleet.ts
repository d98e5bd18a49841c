/**
 * The fleet controller: which version of each kind every data plane gets. Normally every node gets
 * the newest compiled version at once. On top of that:
 * - a canary push gives the changed kinds' new versions to a subset of nodes (a label selector
 *   `zone=eu` or a percentage), watches them for a soak time (canary-health.ts: NACKs, 5xx/408
 *   ratio and failed calls against the other nodes) and then promotes them to the fleet or rolls
 *   them back by itself, writing the reason to the audit trail;
 * - `rollback(kind, version)` serves a kept older version (olelo_snapshots) to every node and pins
 *   the kind: newer compiled versions wait until `unpin(kind)`;
 * - `hold` (control plane --hold): compiled changes wait for `push` instead of going out at once.
 * See README.md "Canary and rollback".
 *
 * @example
 *   const fleet = createFleetController({ source, audit: (a, d) => auditEvent(pool, "fleet", a, d) });
 *   const push = await createPushServer({ source, fleet });
 *   fleet.attach(() => push.nodes());
 *   await fleet.startCanary({ selector: { label: "zone", value: "eu" }, soakMs: 30_000 }, "ops");
 */
import { createLogger, type Logger } from "../../lib/log/logger.js";
import { canaryVerdict, DEFAULT_CANARY_POLICY, type CanaryPolicy, type GroupHealth } from "./canary-health.js";
import type { NodeHealth, NodeRecord, NodeStatus } from "./node-status.js";
import type { PushSnapshot, PushSource } from "./push-source.js";
import type { FleetView } from "./server.js";

/** Which nodes a canary goes to. */
export type CanarySelector = { label: string; value: string } | { percent: number };

export interface CanaryStart {
  selector: CanarySelector;
  /** Overrides of the default policy (soakMs, thresholds). */
  policy?: Partial<CanaryPolicy>;
}

/** A canary as `canaryStatus()` shows it. */
export interface CanaryInfo {
  id: number;
  state: "soaking" | "promoted" | "rolled-back";
  selector: string;
  kinds: Array<{ kind: string; from: string | null; to: string }>;
  nodes: string[];
  startedAt: string;
  soakMs: number;
  endsAt: string;
  endedAt: string | null;
  reason: string | null;
  by: string;
  health: { canary: GroupHealth; rest: GroupHealth } | null;
  policy: CanaryPolicy;
}

/** Durable fleet decisions (control-plane/db/fleet-state.ts: table olelo_fleet_state). */
export interface FleetStateStore {
  load(): Promise<Array<{ name: string; value: unknown }>>;
  save(name: string, value: unknown): Promise<void>;
  remove(name: string): Promise<void>;
}

/** What `restore()` found and did. */
export interface FleetRestore {
  pins: Array<{ kind: string; version: string; served: boolean }>;
  rejected: Array<{ kind: string; version: string; fleetVersion: string | null }>;
  canary: CanaryInfo | null;
}

export interface FleetControllerOptions {
  source: PushSource;
  /** Keeps pins, rolled-back versions and the soaking canary across restarts (see restore()). */
  store?: FleetStateStore;
  /** Writes one audit record (olelo_audit); errors are logged, never thrown. */
  audit?: (actor: string, action: string, detail: unknown) => Promise<void>;
  hold?: boolean;
  policy?: Partial<CanaryPolicy>;
  /** How often a soaking canary is judged, besides on each ACK/NACK/StatsReport (default 500 ms). */
  checkEveryMs?: number;
  log?: Logger;
}

export interface FleetController extends FleetView {
  /**
   * Re-applies what the store kept, before the push server serves anyone: pinned kinds are served at
   * their pinned version again, versions a canary rolled back stay held, and a canary that was
   * soaking when the control plane stopped is rolled back (its evidence is gone), with the reason
   * in the audit trail.
   */
  restore(): Promise<FleetRestore>;
  /** Gives the controller the push server's node list (after both exist). */
  attach(nodes: () => NodeStatus[]): void;
  /** `push` without canary: every changed, unpinned kind goes to all nodes; returns the kinds moved and the ones held. */
  promoteAll(by: string): { moved: string[]; held: Array<{ kind: string; version: string; reason: string }> };
  /** Runs `fn` (a recompile) with every kind held: what it compiles waits for startCanary / promoteAll. */
  capture<T>(fn: () => Promise<T>): Promise<T>;
  /** Starts a canary of the kinds whose compiled version differs from the fleet's. */
  startCanary(s: CanaryStart, by: string): Promise<CanaryInfo>;
  canaryStatus(): { current: CanaryInfo | null; recent: CanaryInfo[] };
  promote(by: string): Promise<CanaryInfo>;
  abort(by: string): Promise<CanaryInfo>;
  rollback(kind: string, version: string, by: string): Promise<{ kind: string; version: string; from: string | null; pinned: true }>;
  unpin(kind: string, by: string): Promise<{ kind: string; version: string | null; pinned: false }>;
  /** The version the fleet (non-canary nodes) runs for a kind. */
  fleetVersion(kind: string): PushSnapshot | undefined;
  pins(): Array<{ kind: string; version: string; by: string; at: string }>;
  /** Per node and kind: offered version, lag, canary role (for `nodes`). */
  decorate(nodes: NodeStatus[]): FleetNodeStatus[];
  close(): void;
}

/** A NodeStatus with the fleet's view added. */
export type FleetNodeStatus = NodeStatus & {
  canary: "canary" | "rest" | null;
  tables: Array<NodeStatus["tables"][number] & { offeredVersion: string | null; lagMs: number; pinned: boolean }>;
};

/** A client-facing error (the API turns it into a JSON-RPC error with this message). */
export class FleetError extends Error {
  override readonly name = "FleetError";
}

interface Run {
  info: CanaryInfo;
  startedAt: number;
  policy: CanaryPolicy;
  candidates: Map<string, PushSnapshot>;
  canaryNodes: Set<string>;
  baseline: Map<string, NodeHealth | null>;
}

const selectorText = (s: CanarySelector) => ("percent" in s ? `${s.percent}%` : `${s.label}=${s.value}`);

/** Stable order for percentage selection: a node keeps its place however many nodes there are. */
function spread(id: string): number {
  let h = 2166136261;
  for (let i = 0; i < id.length; i++) h = Math.imul(h ^ id.charCodeAt(i), 16777619) >>> 0;
  return h;
}

/** Creates the controller; every kind starts at the source's current version. */
export function createFleetController(opts: FleetControllerOptions): FleetController {
  const log = opts.log ?? createLogger("push.fleet");
  const src = opts.source;
  const fleet = new Map<string, PushSnapshot>();
  const since = new Map<string, number>();
  const pinned = new Map<string, { version: string; by: string; at: string }>();
  /** Versions a canary rolled back: a plain push does not send them (a new change does). */
  const rejected = new Map<string, { version: string; reason: string }>();
  const store = opts.store;
  let persisting: Promise<void> = Promise.resolve();
  /** Store writes run one after another, in call order; a failure is logged (the decision stands in memory). */
  const persist = (what: string, fn: (st: FleetStateStore) => Promise<void>): Promise<void> => {
    if (!store) return Promise.resolve();
    persisting = persisting.then(() =>
      fn(store).catch((e: unknown) => log.error("fleet state not stored; it will not survive a restart", { what, error: (e as Error).message })),
    );
    return persisting;
  };
  const setRejected = (k: string, r: { version: string; reason: string }) => {
    rejected.set(k, r);
    void persist(`rejected:${k}`, (st) => st.save(`rejected:${k}`, { ...r, fleetVersion: fleet.get(k)?.version ?? null }));
  };
  const clearRejected = (k: string) => {
    if (rejected.delete(k)) void persist(`rejected:${k}`, (st) => st.remove(`rejected:${k}`));
  };
  const listeners = new Set<(kinds: string[]) => void>();
  const recent: CanaryInfo[] = [];
  let nodes: () => NodeStatus[] = () => [];
  let run: Run | null = null;
  let nextId = 1;
  let capturing = false;
  const policy: CanaryPolicy = { ...DEFAULT_CANARY_POLICY, ...opts.policy };
  const setFleet = (snap: PushSnapshot) => {
    fleet.set(snap.kind, snap);
    since.set(snap.kind, Date.now());
  };
  for (const k of src.kinds()) {
    const s = src.current(k);
    if (s) setFleet(s);
  }
  const notify = (kinds: string[]) => {
    if (kinds.length === 0) return;
    for (const fn of [...listeners]) fn(kinds);
  };
  const audit = async (by: string, action: string, detail: unknown) => {
    try {
      await opts.audit?.(by, action, detail);
    } catch (e) {
      log.error("audit record failed", { action, error: (e as Error).message });
    }
  };
  /** A kind may follow the source on its own: not pinned, not in a canary, not held. */
  const follows = (k: string) => !pinned.has(k) && !(run && run.candidates.has(k)) && !opts.hold && !capturing;

  const offSource = src.onChange((kinds) => {
    const moved: string[] = [];
    for (const k of kinds) {
      const s = src.current(k);
      if (!s) continue;
      if (rejected.get(k)?.version !== s.version) clearRejected(k);
      if (!follows(k)) {
        log.info("new version waits", { kind: k, version: s.version, why: pinned.has(k) ? "pinned" : run?.candidates.has(k) ? "canary running" : "hold" });
        continue;
      }
      if (fleet.get(k)?.version !== s.version) {
        setFleet(s);
        moved.push(k);
      }
    }
    notify(moved);
  });

  const finish = async (state: "promoted" | "rolled-back", reason: string, by: string, health: CanaryInfo["health"]): Promise<CanaryInfo> => {
    const r = run;
    if (!r) throw new FleetError("no canary is running");
    run = null;
    clearInterval(timer);
    const kinds = [...r.candidates.keys()];
    if (state === "promoted") {
      for (const snap of r.candidates.values()) setFleet(snap);
    } else {
      for (const [k, snap] of r.candidates) setRejected(k, { version: snap.version, reason });
    }
    void persist("canary", (st) => st.remove("canary"));
    r.info.state = state;
    r.info.reason = reason;
    r.info.endedAt = new Date().toISOString();
    if (health) r.info.health = health;
    recent.unshift(r.info);
    recent.splice(10);
    log.info(state === "promoted" ? "canary promoted to the fleet" : "canary rolled back", { id: r.info.id, reason, kinds: kinds.join(",") });
    notify(kinds);
    await audit(by, state === "promoted" ? "canary.promote" : "canary.rollback", { id: r.info.id, selector: r.info.selector, kinds: r.info.kinds, nodes: r.info.nodes, reason, health: r.info.health });
    return r.info;
  };

  let judging = false;
  const judge = () => {
    const r = run;
    if (!r || judging) return;
    const v = canaryVerdict({ ...r, candidates: new Map([...r.candidates].map(([k, s]) => [k, s.version])) }, nodes(), Date.now());
    r.info.health = { canary: v.canary, rest: v.rest };
    if (v.action === "wait") return;
    judging = true;
    void finish(v.action === "promote" ? "promoted" : "rolled-back", v.reason, "canary", r.info.health).finally(() => {
      judging = false;
    });
  };
  let timer: NodeJS.Timeout | undefined;

  const info = (): CanaryInfo | null => (run ? { ...run.info } : null);

  const snapshotOf = async (kind: string, version: string): Promise<PushSnapshot | undefined> =>
    src.current(kind)?.version === version ? src.current(kind) : await src.snapshot?.(kind, version).catch(() => undefined);

  const restore = async (): Promise<FleetRestore> => {
    const out: FleetRestore = { pins: [], rejected: [], canary: null };
    if (!store) return out;
    let entries: Array<{ name: string; value: unknown }>;
    try {
      entries = await store.load();
    } catch (e) {
      log.error("fleet state (pins, canary) not read; starting without it", { error: (e as Error).message });
      return out;
    }
    const saved = new Map(entries.map((e) => [e.name, e.value as Record<string, any>]));
    nextId = Math.max(nextId, Number(saved.get("canary.seq")?.next) || 1);
    for (const [name, v] of saved) {
      if (!name.startsWith("pin:")) continue;
      const kind = name.slice(4);
      if (!src.kinds().includes(kind)) continue;
      const snap = await snapshotOf(kind, String(v.version));
      pinned.set(kind, { version: String(v.version), by: String(v.by), at: String(v.at) });
      if (snap) setFleet(snap);
      else log.error("pinned version's rows are no longer kept; the kind stays pinned at what it had", { kind, version: v.version });
      out.pins.push({ kind, version: String(v.version), served: !!snap });
    }
    // canary soaking at the stop: rolled back (its baseline and soak time are gone); its candidates are held
    const c = saved.get("canary");
    const toHold = new Map<string, { version: string; reason: string; fleetVersion: string | null }>();
    for (const [name, v] of saved) if (name.startsWith("rejected:")) toHold.set(name.slice(9), { version: String(v.version), reason: String(v.reason), fleetVersion: v.fleetVersion ?? null });
    let reason = "";
    if (c) {
      reason = `control plane restarted while canary ${c.id} (${c.selector}, started ${c.startedAt} by ${c.by}) was soaking: rolled back, the soak's evidence is gone (push --canary again to retry)`;
      for (const k of c.kinds as CanaryInfo["kinds"]) if (!pinned.has(k.kind)) toHold.set(k.kind, { version: k.to, reason, fleetVersion: k.from });
    }
    for (const [kind, h] of toHold) {
      if (!src.kinds().includes(kind) || pinned.has(kind)) continue;
      if (src.current(kind)?.version !== h.version) {
        void persist(`rejected:${kind}`, (st) => st.remove(`rejected:${kind}`));
        continue; // a newer version compiled meanwhile: it follows as usual
      }
      const back = h.fleetVersion ? await snapshotOf(kind, h.fleetVersion) : undefined;
      if (back) setFleet(back);
      else if (h.fleetVersion) log.error("the fleet's version before the canary is no longer kept; the candidate is served", { kind, version: h.fleetVersion });
      rejected.set(kind, { version: h.version, reason: h.reason });
      await persist(`rejected:${kind}`, (st) => st.save(`rejected:${kind}`, h));
      out.rejected.push({ kind, version: h.version, fleetVersion: back?.version ?? null });
    }
    if (c) {
      const info: CanaryInfo = {
        id: Number(c.id), state: "rolled-back", selector: String(c.selector), kinds: c.kinds, nodes: c.nodes, startedAt: String(c.startedAt), soakMs: Number(c.soakMs),
        endsAt: new Date(Date.parse(String(c.startedAt)) + Number(c.soakMs)).toISOString(), endedAt: new Date().toISOString(), reason, by: String(c.by), health: null, policy: c.policy,
      };
      recent.unshift(info);
      out.canary = info;
      log.warn("canary rolled back at start", { id: info.id, reason });
      await persist("canary", (st) => st.remove("canary"));
      await audit("canary", "canary.rollback", { id: info.id, selector: info.selector, kinds: info.kinds, nodes: info.nodes, reason, health: null });
    }
    if (out.pins.length || out.rejected.length) log.info("fleet state restored", { pins: out.pins.map((p) => `${p.kind}@${p.version}`).join(","), held: out.rejected.map((r) => r.kind).join(",") });
    return out;
  };

  return {
    restore,
    target(record: NodeRecord, kind: string) {
      if (run && run.canaryNodes.has(record.nodeId)) {
        const c = run.candidates.get(kind);
        if (c) return c;
      }
      return fleet.get(kind) ?? (pinned.has(kind) ? undefined : src.current(kind));
    },
    onChange(fn) {
      listeners.add(fn);
      return () => listeners.delete(fn);
    },
    onNodeEvent(record) {
      if (run && run.canaryNodes.has(record.nodeId)) judge();
    },
    attach(n) {
      nodes = n;
    },
    promoteAll(by) {
      const moved: string[] = [];
      const held: Array<{ kind: string; version: string; reason: string }> = [];
      for (const k of src.kinds()) {
        const s = src.current(k);
        if (!s || fleet.get(k)?.version === s.version) continue;
        const p = pinned.get(k);
        if (p) held.push({ kind: k, version: s.version, reason: `pinned to ${p.version} by ${p.by} (olectl unpin ${k})` });
        else if (run?.candidates.has(k)) held.push({ kind: k, version: s.version, reason: `canary ${run.info.id} is soaking` });
        else if (rejected.get(k)?.version === s.version) held.push({ kind: k, version: s.version, reason: `rolled back by a canary: ${rejected.get(k)!.reason}` });
        else {
          setFleet(s);
          moved.push(k);
        }
      }
      for (const k of moved) clearRejected(k);
      if (moved.length) log.info("pushed to the fleet", { kinds: moved.join(","), by });
      notify(moved);
      return { moved, held };
    },
    async capture(fn) {
      capturing = true;
      try {
        return await fn();
      } finally {
        capturing = false;
      }
    },
    async startCanary(s, by) {
      if (run) throw new FleetError(`canary ${run.info.id} is still soaking (olectl canary status|promote|abort)`);
      if ("percent" in s.selector && !(s.selector.percent > 0 && s.selector.percent <= 100)) throw new FleetError("percent must be 1..100");
      const live = nodes().filter((n) => n.connected);
      let chosen: NodeStatus[];
      if ("percent" in s.selector) {
        const want = Math.max(1, Math.ceil((live.length * s.selector.percent) / 100));
        chosen = [...live].sort((a, b) => spread(a.nodeId) - spread(b.nodeId)).slice(0, want);
      } else {
        const sel = s.selector;
        chosen = live.filter((n) => n.labels[sel.label] === sel.value);
      }
      if (chosen.length === 0) throw new FleetError(`no connected data plane matches ${selectorText(s.selector)}; nothing pushed`);
      const candidates = new Map<string, PushSnapshot>();
      const kinds: CanaryInfo["kinds"] = [];
      for (const k of src.kinds()) {
        const cur = src.current(k);
        const f = fleet.get(k);
        if (!cur || f?.version === cur.version || pinned.has(k)) continue;
        candidates.set(k, cur);
        kinds.push({ kind: k, from: f?.version ?? null, to: cur.version });
      }
      if (candidates.size === 0) throw new FleetError("nothing to canary: every unpinned kind already runs its newest compiled version");
      const p: CanaryPolicy = { ...policy, ...s.policy };
      const now = Date.now();
      const ids = chosen.map((n) => n.nodeId).sort();
      const r: Run = {
        startedAt: now,
        policy: p,
        candidates,
        canaryNodes: new Set(ids),
        baseline: new Map(live.map((n) => [n.nodeId, n.health ? { ...n.health } : null])),
        info: {
          id: nextId++,
          state: "soaking",
          selector: selectorText(s.selector),
          kinds,
          nodes: ids,
          startedAt: new Date(now).toISOString(),
          soakMs: p.soakMs,
          endsAt: new Date(now + p.soakMs).toISOString(),
          endedAt: null,
          reason: null,
          by,
          health: null,
          policy: p,
        },
      };
      run = r;
      for (const k of candidates.keys()) since.set(`canary:${k}`, now);
      timer = setInterval(judge, opts.checkEveryMs ?? 500);
      timer.unref();
      const saved = { id: r.info.id, selector: r.info.selector, kinds, nodes: ids, startedAt: r.info.startedAt, soakMs: p.soakMs, by, policy: p };
      await Promise.all([persist("canary", (st) => st.save("canary", saved)), persist("canary.seq", (st) => st.save("canary.seq", { next: nextId }))]);
      log.info("canary started", { id: r.info.id, selector: r.info.selector, nodes: ids.join(","), kinds: kinds.map((k) => k.kind).join(","), soakMs: p.soakMs });
      notify([...candidates.keys()]);
      await audit(by, "canary.start", { id: r.info.id, selector: r.info.selector, kinds, nodes: ids, soakMs: p.soakMs, policy: p });
      return { ...r.info };
    },
    canaryStatus: () => ({ current: info(), recent: recent.map((r) => ({ ...r })) }),
    async promote(by) {
      if (!run) throw new FleetError("no canary is running");
      return finish("promoted", `promoted by ${by}`, by, run.info.health);
    },
    async abort(by) {
      if (!run) throw new FleetError("no canary is running");
      return finish("rolled-back", `aborted by ${by}`, by, run.info.health);
    },
    async rollback(kind, version, by) {
      if (!src.kinds().includes(kind)) throw new FleetError(`unknown kind '${kind}'`);
      if (run?.candidates.has(kind)) throw new FleetError(`canary ${run.info.id} covers ${kind}: promote or abort it first`);
      const snap = src.current(kind)?.version === version ? src.current(kind) : await src.snapshot?.(kind, version);
      if (!snap) throw new FleetError(`version ${version} of ${kind} is not among the kept versions (olectl snapshots ${kind})`);
      const from = fleet.get(kind)?.version ?? null;
      setFleet(snap);
      const p = { version, by, at: new Date().toISOString() };
      pinned.set(kind, p);
      await persist(`pin:${kind}`, (st) => st.save(`pin:${kind}`, p));
      log.info("kind rolled back and pinned", { kind, version, from, by });
      notify([kind]);
      await audit(by, "rollback", { kind, version, from, pinned: true });
      return { kind, version, from, pinned: true as const };
    },
    async unpin(kind, by) {
      if (!pinned.has(kind)) throw new FleetError(`${kind} is not pinned`);
      pinned.delete(kind);
      await persist(`pin:${kind}`, (st) => st.remove(`pin:${kind}`));
      const cur = src.current(kind);
      const moved = !opts.hold && cur && fleet.get(kind)?.version !== cur.version;
      if (moved) setFleet(cur);
      log.info("kind unpinned", { kind, version: fleet.get(kind)?.version ?? null, by });
      if (moved) notify([kind]);
      await audit(by, "unpin", { kind, version: fleet.get(kind)?.version ?? null });
      return { kind, version: fleet.get(kind)?.version ?? null, pinned: false as const };
    },
    fleetVersion: (kind) => fleet.get(kind),
    pins: () => [...pinned].map(([kind, p]) => ({ kind, ...p })),
    decorate(list) {
      const now = Date.now();
      return list.map((n) => {
        const isCanary = run ? run.canaryNodes.has(n.nodeId) : false;
        return {
          ...n,
          canary: run ? (isCanary ? "canary" : "rest") : null,
          tables: n.tables.map((t) => {
            const cand = isCanary ? run?.candidates.get(t.kind) : undefined;
            const offered = cand ?? fleet.get(t.kind);
            const at = cand ? since.get(`canary:${t.kind}`) : since.get(t.kind);
            const behind = offered !== undefined && t.appliedVersion !== offered.version;
            return { ...t, offeredVersion: offered?.version ?? null, lagMs: behind && at ? now - at : 0, pinned: pinned.has(t.kind) };
          }),
        };
      });
    },
    close() {
      offSource();
      clearInterval(timer);
      listeners.clear();
    },
  };
}
