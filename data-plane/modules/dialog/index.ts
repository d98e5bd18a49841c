import { defineModule, KeyCounts, type RequestContext } from "../../core/api.js";
import { DlgIFlag, DlgState } from "./dialog.js";
import { DialogManager, type ByeSide, type RemoteInDialog } from "./manager.js";
import { type DialogParams, dialogParams } from "./params.js";
import { dialogRpcMethods } from "./rpc.js";
import { join } from "node:path";
import { DialogPersistence, openRowStore } from "./persist.js";
import { JOURNAL_FILE, splitJournals, workerJournals } from "./node-restore.js";
import { restoreDialogs } from "./restore.js";

/** A snapshot of the current dialog for scripts ($dlg(...) in Kamailio). */
export interface DialogSnapshot {
  readonly hEntry: number;
  readonly hId: number;
  readonly callId: string;
  readonly state: DlgState;
  readonly fromTag: string;
  readonly toTag: string;
  /** Seconds; the timeout once confirmed. */
  readonly lifetime: number;
}

/**
 * What routing scripts get from the dialog module (Kamailio dialog functions, one name each).
 * Call `manage(req)` on the initial INVITE (after choosing the destination, before relaying)
 * and on in-dialog requests (ACK, BYE, re-INVITE…) so the module sees them.
 *
 * @example
 *   if (!req.hasToTag && req.method === "INVITE") {
 *     dialog.manage(req);
 *     dialog.setProfile(req, "trunk", "gw1");
 *     if (dialog.profileSize("trunk", "gw1") > 30) { req.reply(503, "Too many calls"); return; }
 *   }
 */
export interface DialogApi {
  readonly params: DialogParams;
  /** [dlg_manage] start tracking an initial INVITE, or update the dialog of an in-dialog request. */
  manage(req: RequestContext): boolean;
  /** [is_known_dlg] the request belongs to a dialog (after manage). */
  isKnown(req: RequestContext): boolean;
  /** [dlg_get] the current dialog, or null. */
  current(req: RequestContext): DialogSnapshot | null;
  /**
   * [dlg_set_timeout] lifetime in seconds once confirmed; `bye: true` sends BYE to both sides on
   * timeout; `noReset: true` keeps in-dialog requests from restarting it (a maximum call duration).
   */
  setTimeout(req: RequestContext, seconds: number, opts?: { bye?: boolean; noReset?: boolean }): boolean;
  /** [set_dlg_profile] adds the current dialog to a profile (value required for profiles with value). */
  setProfile(req: RequestContext, profile: string, value?: string): boolean;
  /** [unset_dlg_profile] */
  unsetProfile(req: RequestContext, profile: string, value?: string): boolean;
  /** [is_in_profile] */
  isInProfile(req: RequestContext, profile: string, value?: string): boolean;
  /** [get_profile_size] members of a profile (with this value, or all). Throws for an undeclared profile. */
  profileSize(profile: string, value?: string): number;
  /** [$dlg_var(key) = value]; null removes. Reported in dlg.list and in call.ended `vars`. */
  setVar(req: RequestContext, key: string, value: string | null): boolean;
  /** [$dlg_var(key)] */
  getVar(req: RequestContext, key: string): string | null;
  /** [dlg_bye] hangs up a confirmed dialog: BYE to one or both sides; the dialog ends. */
  bye(req: RequestContext, side?: ByeSide): boolean;
  /** Number of dialogs in memory (any state). */
  readonly count: number;
}

function createApi(m: DialogManager): DialogApi {
  const cur = (req: RequestContext) => m.current(req);
  return {
    params: m.params,
    manage: (req) => m.manage(req),
    isKnown: (req) => cur(req) !== null,
    current(req) {
      const d = cur(req);
      if (!d) return null;
      return { hEntry: d.hEntry, hId: d.hId, callId: d.callId, state: d.state, fromTag: d.caller.tag, toTag: d.callee.tag, lifetime: d.lifetime };
    },
    setTimeout(req, seconds, opts) {
      const d = cur(req);
      if (!d) return false;
      if (opts?.noReset) d.iflags |= DlgIFlag.TIMER_NORESET;
      return m.setTimeout(d, seconds, opts?.bye);
    },
    setProfile(req, profile, value) {
      const d = cur(req);
      if (!d || d.state === DlgState.DELETED) return false;
      return m.profiles.set(d, profile, value);
    },
    unsetProfile(req, profile, value) {
      const d = cur(req);
      return d ? m.profiles.unset(d, profile, value) : false;
    },
    isInProfile(req, profile, value) {
      const d = cur(req);
      return d ? m.profiles.isIn(d, profile, value) : false;
    },
    profileSize: (profile, value) => m.profiles.size(profile, value),
    setVar(req, key, value) {
      const d = cur(req);
      if (!d) return false;
      m.setVar(d, key, value);
      return true;
    },
    getVar(req, key) {
      return cur(req)?.vars?.get(key) ?? null;
    },
    bye(req, side = "all") {
      const d = cur(req);
      return d ? m.bye(d, side, "proxy") : false;
    },
    get count() {
      return m.table.count;
    },
  };
}

/** Profile keys (profile, profile+value) the node's shared matrix holds. */
const PROFILE_SLOTS = 16384;

/** Running managers, oldest first: destroy() gets no argument, so it closes the oldest. */
const running: Array<{ m: DialogManager; store: DialogPersistence | null }> = [];

/**
 * dialog: call tracking (Kamailio dialog) — dialog states 1–5, rr-param and tag matching,
 * timeouts with optional BYE to both sides, profiles for call limiting, dlg.* RPCs, `dialog:*`
 * statistics, and the call.started / call.answered / call.ended events. See README.md.
 */
export default defineModule<DialogApi, DialogParams>({
  name: "dialog",
  doc: "Dialog tracking: call states, timeouts, profiles (call limits), call.* events (Kamailio dialog)",
  params: dialogParams,
  // acc (when configured) starts first, so it hears call.ended of dialogs restored from the database
  optional: ["acc"],
  rpc: ["dlg.list", "dlg.list_ctx", "dlg.dlg_list", "dlg.dlg_list_ctx", "dlg.list_match", "dlg.end_dlg", "dlg.terminate_dlg", "dlg.is_alive", "dlg.profile_get_size", "dlg.profile_list", "dlg.stats_active", "dlg.briefing"],
  stats: { group: "dialog", counters: ["processed_dialogs", "expired_dialogs", "failed_dialogs", "active_dialogs", "early_dialogs"] },
  async init(host) {
    const params = host.config;
    const node = host.node;
    const workers = node !== undefined && node.count > 1;
    const persist = params.db_mode === 1 && params.db_url ? params.db_url : null;
    // workers: profile sizes are the node's (shared counter matrix); worker 0 splits the stored dialogs at node start
    const profileCells = workers ? node.sharedInt32("dialog-profiles", KeyCounts.cells(PROFILE_SLOTS, node.count)) : null;
    const restoreFlag = workers ? node.sharedInt32("dialog-restore", 1) : null;
    const count = workers ? node.count : 1;
    if (persist && (node?.index ?? 0) === 0 && (restoreFlag ? Atomics.load(restoreFlag, 0) === 0 : workerJournals(host.dataDir).length > 0)) {
      const r = await splitJournals(host.dataDir, count, async () => {
        const db = openRowStore(persist, host.events.node, host.log, params.redis_prefix ?? undefined);
        try {
          return await db.load();
        } finally {
          await db.close();
        }
      });
      if (restoreFlag) Atomics.store(restoreFlag, 0, 1);
      if (r.dialogs) host.log.info("dialog: stored calls split over the workers", { dialogs: r.dialogs, workers: count, fromDb: r.fromDb });
    }
    const store = persist ? DialogPersistence.open(persist, join(host.dataDir, JOURNAL_FILE), host.events.node, host.log, params.redis_prefix ?? undefined) : null;
    const m = new DialogManager(params, {
      events: host.events,
      log: host.log,
      stats: host.stats.group("dialog", ["processed_dialogs", "expired_dialogs", "failed_dialogs"]),
      sip: host.sip,
      store,
      worker: workers ? { index: node.index, count: node.count } : undefined,
    });
    if (workers && profileCells) {
      m.profiles.shareWith(new KeyCounts(profileCells, PROFILE_SLOTS, node.count, node.index));
      // an in-dialog request for another worker's dialog: to the worker its did names (h_id mod
      // count), one message; without a did only a BYE is handed over, to every worker
      m.onUnmatched = (r, hId) => {
        if (hId >= 0) {
          const owner = m.table.ownerOf(hId);
          if (owner !== node.index) node.sendTo(owner, "dialog-req", r);
        } else if (r.method === "BYE") node.broadcast("dialog-req", r);
      };
      node.on("dialog-req", (r, from) => {
        if (from >= 0) m.applyRemote(r as RemoteInDialog);
      });
    }
    if (store) {
      const restored = restoreDialogs(m, await store.load());
      store.resync(restored, workers ? (hId) => m.table.ownerOf(hId) === node.index : undefined);
      if (restored.length) host.log.info("dialog: calls restored from the database", { dialogs: restored.length });
    }
    host.rpc.registerAll(dialogRpcMethods(m));
    running.push({ m, store });
    return createApi(m);
  },
  async destroy() {
    const r = running.shift();
    r?.m.close();
    await r?.store?.close();
  },
});

export { Dialog, DlgState, DlgFlag, DlgIFlag } from "./dialog.js";
export type { DialogLeg, EndedBy, EndReason, ProfileLink } from "./dialog.js";
export { DialogManager, DIALOG_VAR } from "./manager.js";
export type { ByeSide, DialogManagerDeps } from "./manager.js";
export { parseDialogParams, DEFAULT_DIALOG_PARAMS } from "./params.js";
export type { DialogParams } from "./params.js";
export { ProfileTable } from "./profiles.js";
export { DialogTable } from "./dialog-table.js";
export { dialogRpcMethods, dialogInfo } from "./rpc.js";
export { CALL_EVENTS, callStarted, callAnswered, callEnded } from "./call-events.js";
export type { CallEventBase, CallStartedData, CallAnsweredData, CallEndedData } from "./call-events.js";
