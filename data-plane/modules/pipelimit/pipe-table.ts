import { isPipeAlgorithm, type PipeAlgorithm, type PipeDefinition } from "../../../tables/pl-pipes/pl-pipes-table.js";
import { createPipe, endInterval, pushMessage, resetPipe, type PipeState } from "./algorithms.js";
import type { FleetCounter } from "./fleet.js";
import { FeedbackController } from "./pid.js";

/** Result codes of pl_check (Kamailio): 1 accept, -1 drop, -2 no such pipe / cannot add it, 2 NOP pipe. */
export type PlCheckResult = 1 | -1 | -2 | 2;

/** A template for keyed pipes: a pipe named `<prefix>...` is created on demand with this algorithm and limit. */
export interface PipeTemplate {
  readonly prefix: string;
  algo: PipeAlgorithm;
  limit: number;
}

/** Where a pipe came from: the pl_pipes table, a template, the script (pl_check with alg and limit), or RPC. */
export type PipeOrigin = "table" | "template" | "script";

/**
 * The pipes of one node (Kamailio's pipe hash table) with Kamailio's semantics, keyed pipes
 * (templates: rows whose pipeid ends in `*`), idle expiry (clean_unused) and a bound on their
 * number, and optionally the fleet counter. Time enters only through `slot`/`tick` arguments.
 */
export class PipeTable {
  readonly pipes = new Map<string, PipeState>();
  readonly origin = new Map<string, PipeOrigin>();
  /** Templates of the pl_pipes table (by prefix); they take precedence over the script's. */
  readonly templates = new Map<string, PipeTemplate>();
  /** Templates the script defined (defineTemplate), kept across table pushes. */
  readonly scriptTemplates = new Map<string, PipeTemplate>();
  readonly pid = new FeedbackController();
  /** Bytes waiting in the receive queues at the last interval (NETWORK). */
  networkBytes = 0;
  /** Current slot number (interval index). */
  slot = 0;
  /** Pipes the bound refused (keyed pipes past max_pipes). */
  refused = 0;
  /** Forced load (pl.push_load) used instead of the CPU sample, or null. */
  pushedLoad: number | null = null;

  constructor(
    private readonly opts: { readonly cleanUnused: number; readonly maxPipes: number; readonly keyedIdle: number },
    readonly fleet: FleetCounter | null = null,
  ) {}

  /** How `p` is counted now: with the fleet (Redis up), or alone with limit / nodes (Redis down), or alone. */
  private view(p: PipeState): { limit: number; shared: boolean } {
    const f = this.fleet;
    if (f === null || (p.algo !== "TAILDROP" && p.algo !== "RED")) return { limit: p.limit, shared: false };
    if (f.up) return { limit: p.limit, shared: true };
    return { limit: Math.ceil(p.limit / Math.max(1, f.nodes)), shared: false };
  }

  /** [pl_check(name)] pushes one message into an existing pipe, or one a template creates. */
  check(name: string): PlCheckResult {
    let p = this.pipes.get(name);
    if (p === undefined) {
      const t = this.templateFor(name);
      if (t === null) return -2;
      const made = this.add(name, t.algo, t.limit, "template");
      if (made === null) return -2;
      p = made;
    }
    return pushMessage(p, this.pid.dropRate, this.view(p));
  }

  /**
   * [pl_check(name, algorithm, limit)] creates the pipe when missing; an existing pipe keeps its
   * algorithm and takes `limit` when it is > 0. -2 for an unknown algorithm or a full table.
   */
  checkLimit(name: string, algorithm: string, limit: number): PlCheckResult {
    let p = this.pipes.get(name);
    if (p === undefined) {
      if (!isPipeAlgorithm(algorithm) || limit < 0) return -2;
      const made = this.add(name, algorithm, limit, "script");
      if (made === null) return -2;
      p = made;
    } else if (limit > 0) p.limit = limit;
    return pushMessage(p, this.pid.dropRate, this.view(p));
  }

  /** [pl_active(name)] 1 when the pipe exists, -1 when not. */
  active(name: string): 1 | -1 {
    return this.pipes.has(name) ? 1 : -1;
  }

  /** Defines (or changes) a script template: pipes named `<prefix>…` are created on demand with this algorithm and limit. */
  defineTemplate(prefix: string, algorithm: string, limit: number): boolean {
    if (!isPipeAlgorithm(algorithm) || limit < 0) return false;
    this.scriptTemplates.set(prefix, { prefix, algo: algorithm, limit });
    return true;
  }

  private templateFor(name: string): PipeTemplate | null {
    for (const set of [this.templates, this.scriptTemplates]) {
      let best: PipeTemplate | null = null;
      for (const t of set.values()) if (name.startsWith(t.prefix) && (best === null || t.prefix.length > best.prefix.length)) best = t;
      if (best !== null) return best;
    }
    return null;
  }

  private add(name: string, algo: PipeAlgorithm, limit: number, origin: PipeOrigin): PipeState | null {
    if (name.length === 0 || name.length > 4096) return null;
    if (origin !== "table" && this.pipes.size >= this.opts.maxPipes) {
      this.refused++;
      return null;
    }
    const p = createPipe(name, algo, limit);
    this.pipes.set(name, p);
    this.origin.set(name, origin);
    return p;
  }

  /**
   * [pl.set_pipe] sets algorithm and limit of a pipe or of a template (`prefix*`, which also
   * updates the live pipes it made). Returns an error text or null.
   */
  setPipe(name: string, algorithm: string, limit: number): string | null {
    if (!isPipeAlgorithm(algorithm)) return "Unknown algorithm";
    if (algorithm === "FEEDBACK" && (limit < 0 || limit > 100)) return "Feedback limits don't match";
    const t = name.endsWith("*") ? (this.templates.get(name.slice(0, -1)) ?? this.scriptTemplates.get(name.slice(0, -1))) : undefined;
    const p = this.pipes.get(name);
    if (t === undefined && p === undefined) return `Unknown pipe id ${name}`;
    const before = this.feedbackSetpoint();
    if (t !== undefined) {
      t.algo = algorithm;
      t.limit = limit;
      for (const [n, q] of this.pipes) {
        if (this.origin.get(n) === "template" && this.templateFor(n) === t) {
          q.algo = algorithm;
          q.limit = limit;
        }
      }
    }
    if (p !== undefined) {
      p.algo = algorithm;
      p.limit = limit;
    }
    const sp = this.feedbackSetpoint();
    if (sp === "mismatch") return before === "mismatch" ? null : "Feedback limits don't match";
    if (sp !== null) this.pid.setpoint = sp / 100;
    return null;
  }

  /** The common FEEDBACK limit, null without FEEDBACK pipes, "mismatch" when they differ. */
  feedbackSetpoint(): number | null | "mismatch" {
    let sp: number | null = null;
    for (const p of this.pipes.values()) {
      if (p.algo !== "FEEDBACK") continue;
      if (sp === null) sp = p.limit;
      else if (sp !== p.limit) return "mismatch";
    }
    return sp;
  }

  /** [pl.reset_pipe] false when the pipe does not exist. */
  reset(name: string): boolean {
    const p = this.pipes.get(name);
    if (p === undefined) return false;
    resetPipe(p);
    return true;
  }

  /** [pl.rm_pipe] */
  remove(name: string): boolean {
    this.origin.delete(name);
    return this.pipes.delete(name);
  }

  /**
   * Applies a compiled pl_pipes table: its pipes and templates replace the previous table's
   * (their counters kept when the pipe exists); pipes the script created stay.
   */
  applyDefinitions(defs: readonly PipeDefinition[]): void {
    const names = new Set<string>();
    this.templates.clear();
    for (const d of defs) {
      if (d.pipeid.endsWith("*")) {
        this.templates.set(d.pipeid.slice(0, -1), { prefix: d.pipeid.slice(0, -1), algo: d.algorithm, limit: d.limit });
        continue;
      }
      names.add(d.pipeid);
      const p = this.pipes.get(d.pipeid);
      if (p !== undefined) {
        p.algo = d.algorithm;
        p.limit = d.limit;
        this.origin.set(d.pipeid, "table");
      } else this.add(d.pipeid, d.algorithm, d.limit, "table");
    }
    for (const [n, o] of [...this.origin]) {
      if (o === "table" && !names.has(n)) this.remove(n);
      else if (o === "template") {
        const t = this.templateFor(n);
        const p = this.pipes.get(n)!;
        if (t === null) this.remove(n);
        else {
          p.algo = t.algo;
          p.limit = t.limit;
        }
      }
    }
    const sp = this.feedbackSetpoint();
    if (typeof sp === "number") this.pid.setpoint = sp / 100;
  }

  /**
   * End of the interval `slot - 1` (Kamailio's timer): the FEEDBACK controller takes `cpuLoad`
   * (or the pushed load), every pipe's load and counters roll over, idle keyed pipes go. Returns
   * the shared pipes whose fleet total should be read back for the ended slot.
   */
  endInterval(slot: number, cpuLoad: number | null): PipeState[] {
    const load = this.pushedLoad ?? cpuLoad;
    if (load !== null) this.pid.update(load);
    const shared: PipeState[] = [];
    const f = this.fleet;
    for (const [name, p] of this.pipes) {
      const v = this.view(p);
      const total = v.shared ? p.counter + p.others : f !== null && (p.algo === "TAILDROP" || p.algo === "RED") ? p.counter * Math.max(1, f.nodes) : p.counter;
      const sharedPipe = v.shared;
      const origin = this.origin.get(name);
      const idle = origin === "table" ? 0 : origin === "template" && this.opts.cleanUnused === 0 ? this.opts.keyedIdle : this.opts.cleanUnused;
      const keep = endInterval(p, this.networkBytes, idle, total);
      if (!keep) this.remove(name);
      else if (sharedPipe && shared.length < 1000) shared.push(p);
    }
    this.slot = slot;
    return shared;
  }

  /** Flushes the pipes' new messages to the fleet counter (timer, every flush interval). */
  flush(now: number): void {
    this.fleet?.flush(this.sharedPipes(), this.slot, now);
  }

  private *sharedPipes(): Iterable<PipeState> {
    for (const p of this.pipes.values()) if (p.algo === "TAILDROP" || p.algo === "RED") yield p;
  }
}
