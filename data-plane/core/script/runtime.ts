import { pathToFileURL } from "node:url";
import { resolve as resolvePath } from "node:path";
import type { Endpoint } from "../../../lib/sip/types.js";
import { restorePrimitivePrototypes } from "../../../lib/runtime/fast-prototypes.js";
import type { SipMessage, Patch } from "../sip/message.js";
import type { Connection } from "../transport/transport-layer.js";
import type { ListenSocket } from "../transport/listen-socket.js";
import type { ScriptRunner, TransactionApi } from "../tm/api.js";
import type { BranchTarget } from "../tm/types.js";
import type { Branch, ServerTxn } from "../tm/transaction.js";
import type { BranchContext, FailureContext, ReplyContext, RoutingScript, ScriptEnv, ScriptFactory, RequestState } from "./context.js";
import { createLogger, type Logger } from "../../../lib/log/logger.js";
import { RequestCtx } from "./request-context.js";
import { importableAsIs, importScriptModule } from "./load-script.js";
import { canonicalName, prettyName } from "../sip/header-names.js";

const log = createLogger("script");

/**
 * Loads the routing script (a TypeScript module whose default export is `defineScript(...)`) and
 * runs its routes for the core. `reload()` swaps in a new script atomically: transactions in
 * flight keep their state and find their failure routes by name in whatever script is current;
 * a script that fails to load leaves the old one running and reports why.
 */
export class ScriptRuntime implements ScriptRunner {
  private script: RoutingScript;
  private loads = 0;
  path: string | null = null;
  loadedAt = new Date().toISOString();
  private readonly scriptLog: Logger = createLogger("route");

  constructor(
    script: RoutingScript,
    private readonly env: ScriptEnv,
  ) {
    this.script = script;
  }

  /** Loads a script file and returns a runtime for it. */
  static async fromFile(path: string, env: ScriptEnv): Promise<ScriptRuntime> {
    const script = await loadScriptFile(path, env, 0);
    const rt = new ScriptRuntime(script, env);
    rt.path = resolvePath(path);
    return rt;
  }

  /** Reloads from `path` (default: the current file). Throws with the reason; the old script stays. */
  async reload(path?: string): Promise<{ path: string; loadedAt: string }> {
    const p = resolvePath(path ?? this.path ?? "");
    if (!p) throw new Error("no script path to reload");
    const script = await loadScriptFile(p, this.env, ++this.loads);
    this.script = script;
    this.path = p;
    this.loadedAt = new Date().toISOString();
    log.info("routing script reloaded", { path: p });
    return { path: p, loadedAt: this.loadedAt };
  }

  /** Replaces the script object directly (tests). */
  use(script: RoutingScript): void {
    this.script = script;
  }

  // ---------------------------------------------------------------- request

  onRequest(tm: TransactionApi, msg: SipMessage, src: Endpoint, sock: ListenSocket, conn: Connection | null): void {
    const ctx = new RequestCtx(tm, msg, src, sock, conn, this.scriptLog);
    let r: void | Promise<void>;
    try {
      r = this.script.request(ctx);
    } catch (e) {
      this.routeError(tm, ctx, e);
      return;
    }
    if (r !== undefined && typeof (r as Promise<void>).then === "function") {
      // asynchronous route: keep the transaction (absorbing retransmissions) while it runs
      if (!ctx.txn && msg.method !== "ACK" && msg.method !== "CANCEL" && !ctx.replied) {
        const t = tm.createServerTxn(msg, src, sock, conn);
        if (t) ctx.bindTxn(t);
      }
      const t = ctx.txn;
      if (t) t.suspended = true;
      (r as Promise<void>).then(
        () => this.afterAsync(tm, ctx),
        (e) => {
          this.routeError(tm, ctx, e);
          this.afterAsync(tm, ctx);
        },
      );
      return;
    }
    if (!ctx.acted && !ctx.replied) {
      if (!ctx.txn) tm.countDroppedRequest();
      // a transaction created by observeTransaction() and then left without relay or reply
      else tm.finishIdle(ctx.txn);
    }
  }

  private afterAsync(tm: TransactionApi, ctx: RequestCtx): void {
    const t = ctx.txn;
    if (!t) return;
    t.suspended = false;
    if (!ctx.acted && !ctx.replied) tm.finishIdle(t);
    else tm.checkCompletion(t);
  }

  private routeError(tm: TransactionApi, ctx: RequestCtx, e: unknown): void {
    log.error("route failed", { route: ctx.route, method: ctx.method, callId: ctx.msg.callId, error: e instanceof Error ? e.stack ?? e.message : String(e) });
    if (!ctx.replied && ctx.msg.method !== "ACK" && !(ctx.txn && ctx.txn.finalSent)) {
      ctx.reply(500, "Server Internal Error");
    }
  }

  // ---------------------------------------------------------------- failure

  onFailure(tm: TransactionApi, txn: ServerTxn): boolean | Promise<boolean> {
    const ctx = txn.ctx as RequestCtx | null;
    if (!ctx || !ctx.failureRoute) return false;
    const fn = this.script.failure?.[ctx.failureRoute];
    if (!fn) {
      log.warn("failure route not found", { route: ctx.failureRoute });
      return false;
    }
    ctx.failureRoute = null; // must be re-armed inside the failure route for another round
    ctx.route = "failure";
    ctx.replyMsg = txn.best?.msg ?? null;
    ctx.replyCode = txn.best?.status ?? 0;
    ctx.extra = [];
    ctx.dst = null;
    ctx.path = null; // the path vector belongs to the branch that failed, like $du
    let r: void | Promise<void>;
    try {
      r = fn(ctx as unknown as FailureContext);
    } catch (e) {
      log.error("failure route failed", { error: e instanceof Error ? e.stack ?? e.message : String(e) });
      return true;
    }
    if (r !== undefined && typeof (r as Promise<void>).then === "function") return (r as Promise<void>).then(() => true);
    return true;
  }

  // ---------------------------------------------------------------- branch

  onBranch(tm: TransactionApi, txn: ServerTxn, target: BranchTarget, index: number): { drop: boolean; patches: Patch[] | null } {
    const ctx = txn.ctx as RequestCtx | null;
    if (!ctx || !ctx.branchRoute) return { drop: false, patches: null };
    const fn = this.script.branch?.[ctx.branchRoute];
    if (!fn) return { drop: false, patches: null };
    const saved = { route: ctx.route, ruri: ctx.ruri, dst: ctx.dst };
    ctx.route = "branch";
    ctx.branchIndex = index;
    ctx.branchPatches = null;
    ctx.dropBranch = false;
    ctx.setRuri(target.uri);
    ctx.dst = target.dst;
    try {
      fn(ctx as unknown as BranchContext);
    } catch (e) {
      log.error("branch route failed", { error: e instanceof Error ? e.message : String(e) });
    }
    target.uri = ctx.ruri;
    target.dst = ctx.dst;
    const out = { drop: ctx.dropBranch, patches: ctx.branchPatches };
    ctx.route = saved.route;
    ctx.setRuri(saved.ruri);
    ctx.dst = saved.dst;
    ctx.branchPatches = null;
    return out;
  }

  // ---------------------------------------------------------------- reply

  onReply(tm: TransactionApi, txn: ServerTxn | null, msg: SipMessage, branch: Branch | null, src: Endpoint): boolean | Promise<boolean> {
    const routes = this.script.reply;
    const ctx = txn?.ctx as RequestCtx | null | undefined;
    // module observers first (TMCB_RESPONSE_IN): their edits are in place before the script's
    let rc: ReplyCtx | null = null;
    if (txn?.observers) {
      for (const o of txn.observers) {
        if (!o.replyReceived) continue;
        rc ??= new ReplyCtx(msg, ctx ?? null, src, branch?.index ?? -1, this.scriptLog);
        try {
          o.replyReceived(rc);
        } catch (e) {
          log.error("transaction observer failed", { event: "replyReceived", error: e instanceof Error ? e.message : String(e) });
        }
      }
    }
    if (!routes) return true;
    const named = ctx?.replyRoute ? routes[ctx.replyRoute] : undefined;
    const dflt = routes.default;
    if (!named && !dflt) return true;
    rc ??= new ReplyCtx(msg, ctx ?? null, src, branch?.index ?? -1, this.scriptLog);
    const failed = (e: unknown) => log.error("reply route failed", { error: e instanceof Error ? e.message : String(e) });
    const isAsync = (r: unknown): r is Promise<void> => r !== undefined && typeof (r as Promise<void>).then === "function";
    try {
      const r = dflt ? dflt(rc) : undefined;
      if (isAsync(r)) {
        return r.then(
          () => (!rc.dropped && named ? named(rc) : undefined),
        ).then(() => !rc.dropped, (e) => {
          failed(e);
          return !rc.dropped;
        });
      }
      if (!rc.dropped && named) {
        const n = named(rc);
        if (isAsync(n)) {
          return n.then(() => !rc.dropped, (e) => {
            failed(e);
            return !rc.dropped;
          });
        }
      }
    } catch (e) {
      failed(e);
    }
    return !rc.dropped;
  }
}

/** Reply route context: header edits become patches on the reply before it is relayed. */
class ReplyCtx implements ReplyContext {
  dropped = false;
  constructor(
    readonly msg: SipMessage,
    readonly request: RequestState | null,
    readonly source: Endpoint,
    readonly branchIndex: number,
    readonly log: Logger,
  ) {}

  get status(): number {
    return this.msg.status;
  }

  drop(): void {
    this.dropped = true;
  }

  checkStatus(re: string | RegExp): boolean {
    const r = typeof re === "string" ? new RegExp(`^(${re})$`) : re;
    return r.test(String(this.msg.status));
  }

  setBody(body: string, contentType?: string): void {
    const m = this.msg;
    m.addPatch(m.bodyStart, m.bodyEnd, body);
    this.setHeader("Content-Length", String(Buffer.byteLength(body, "latin1")));
    if (contentType) this.setHeader("Content-Type", contentType);
  }

  addHeader(name: string, value: string, opts: { first?: boolean } = {}): void {
    const at = opts.first ? this.msg.startLineEnd : this.msg.headersEnd;
    this.msg.addPatch(at, at, `${prettyName(name)}: ${value}\r\n`);
  }

  removeHeader(name: string): number {
    const c = canonicalName(name);
    let n = 0;
    for (const f of this.msg.fields) {
      if (f.name !== c) continue;
      this.msg.addPatch(f.start, f.end, "");
      n++;
    }
    return n;
  }

  removeHeaderAt(name: string, index: number): boolean {
    const f = this.msg.fieldAt(canonicalName(name), index);
    if (!f) return false;
    this.msg.addPatch(f.start, f.end, "");
    return true;
  }

  setHeader(name: string, value: string): void {
    this.removeHeader(name);
    this.addHeader(name, value);
  }

  replaceHeader(name: string, index: number, value: string): boolean {
    const f = this.msg.fieldAt(canonicalName(name), index);
    if (!f) return false;
    this.msg.addPatch(f.start, f.end, `${prettyName(name)}: ${value}\r\n`);
    return true;
  }

}

/** Imports a script module (afresh on every reload, see load-script.ts) and builds its routes. */
export async function loadScriptFile(path: string, env: ScriptEnv, generation: number): Promise<RoutingScript> {
  // The first load of a script inside the installation imports the file itself (one module instance
  // shared with whatever else imports it); a script elsewhere (an operator's /etc/olelo/route.ts,
  // importing "olelo/script"), a TypeScript script in the built package, and every reload are
  // compiled and imported as what is on disk now (load-script.ts).
  const asIs = generation === 0 && importableAsIs(path);
  const mod = (asIs ? await import(pathToFileURL(resolvePath(path)).href) : await importScriptModule(path)) as { default?: unknown };
  const factory = mod.default;
  if (typeof factory !== "function") throw new Error(`${path}: default export must be defineScript(...)`);
  const script = (factory as ScriptFactory)(env);
  if (!script || typeof script.request !== "function") throw new Error(`${path}: the script must define request(req)`);
  for (const kind of ["failure", "reply", "branch"] as const) {
    const routes = script[kind];
    if (routes === undefined) continue;
    if (typeof routes !== "object" || routes === null) throw new Error(`${path}: ${kind} must be an object of named routes`);
    for (const [name, fn] of Object.entries(routes)) {
      if (typeof fn !== "function") throw new Error(`${path}: ${kind} route '${name}' is not a function`);
    }
  }
  // the modules and the script are imported by now: undo what a String subclass among them did
  restorePrimitivePrototypes();
  return script;
}
