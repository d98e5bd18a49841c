import { defineModule } from "../../core/api.js";
import type { FailureContext, RequestContext, RequestState, TableSink } from "../../core/api.js";
import { createTableReloader, splitUri } from "../../core/kit/index.js";
import { tableNamesOf } from "../../../tables/kinds.js";
import { compileUacReg, type UacRegTable } from "../../../tables/uacreg/uacreg-table.js";
import { uacAuth, type AuthOptions } from "./auth.js";
import { uacParams, type UacParams } from "./params.js";
import { UacRegistry } from "./reg/registry.js";
import { uacInDialog, uacReplace, type ReplaceDeps } from "./replace.js";
import { uacRpcMethods } from "./rpc.js";

export type { AuthOptions } from "./auth.js";
export type { UacParams } from "./params.js";

const RPC = ["uac.reg_dump", "uac.reg_info", "uac.reg_enable", "uac.reg_disable", "uac.reg_refresh", "uac.reg_reload", "uac.reg_active"];
const COUNTERS = ["auth_sent", "auth_failed", "from_replaced", "to_replaced", "in_dialog_fixed", "reg_registered", "reg_refreshed", "reg_failed", "reg_auth_sent"];
const GAUGES = ["regtotal", "regactive", "regdisabled"];
/** Key of the instance's stop function on the returned API (destroy stops its timers). */
const STOP = Symbol("uac.stop");

/**
 * The uac script API (Kamailio's uac module: Olelo as a client toward carriers).
 *
 * @example
 *   // request route, toward the carrier
 *   uac.replaceFrom(req, null, "sip:+4930123@carrier.example");
 *   req.onFailure("CARRIER_AUTH"); req.relay();
 *   // failure route CARRIER_AUTH
 *   if (f.checkStatus("401|407") && uac.auth(f) > 0) f.relay();
 *   // in-dialog requests, after req.looseRoute()
 *   uac.inDialog(req);
 *   // a call from the carrier to a registered trunk
 *   if (uac.regLookup(req) > 0) ... // R-URI is now sip:l_username@l_domain
 */
export interface UacApi {
  readonly params: UacParams;
  /** [uac_auth(mode)] answers the 401/407 of a failure route; the script relays next. 1 done, -1 no challenge / no credentials. */
  auth(f: FailureContext, opts?: AuthOptions): number;
  /** [uac_replace_from(display, uri)] display null keeps it, "" removes it; uri "" keeps it. 1 done, -1 error. */
  replaceFrom(req: RequestContext, display: string | null, uri: string): number;
  /** [uac_replace_to(display, uri)] */
  replaceTo(req: RequestContext, display: string | null, uri: string): number;
  /** [uac_restore_from()] restore_mode manual: fixes From/To of this in-dialog request from the Route state. 1 / -1. */
  restoreFrom(req: RequestContext): number;
  /** [uac_restore_to()] */
  restoreTo(req: RequestContext): number;
  /**
   * In-dialog request after loose_route (Kamailio's rr callback of the auto mode): the uac_auth
   * CSeq offset for the caller's requests and, in auto mode, the From/To restore. 1 changed, -1 nothing.
   */
  inDialog(req: RequestContext): number;
  /** [uac_reg_lookup(uuid, "$ru")] R-URI := sip:l_username@l_domain of the row whose l_uuid is `uuid` (default the R-URI user). 1 / -1. */
  regLookup(req: RequestContext, uuid?: string): number;
  /** [uac_reg_lookup_uri] the local URI of the row whose l_uuid is the user of `uri`, or null. */
  regLookupUri(uri: string): string | null;
  /** [uac_reg_status(uuid)] 1 registered, -1 unknown, -2 ongoing, -3 disabled, -99 waiting for the next attempt. */
  regStatus(uuid: string): number;
  /** [uac_reg_enable(attr, val)] 1 at least one record, -1 none. */
  regEnable(attr: "l_uuid" | "l_username" | "r_username" | "auth_username", value: string): number;
  /** [uac_reg_disable(attr, val)] */
  regDisable(attr: "l_uuid" | "l_username" | "r_username" | "auth_username", value: string): number;
  /** [uac_reg_refresh(l_uuid)] REGISTER now. 1 sent, -1 unknown / not registering / busy. */
  regRefresh(uuid: string): number;
  /** The live uacreg table. */
  table(): UacRegTable;
}

/**
 * uac: uac_auth toward carriers that challenge, uac_reg registrations to carriers from the pushed
 * `uacreg` table (kind uacreg), uac_replace_from/to with restore, Kamailio's uac module.
 */
export default defineModule<UacApi, UacParams>({
  name: "uac",
  doc: "Client toward carriers: uac_auth, remote registrations (uacreg), From/To replacement with restore",
  params: uacParams,
  rpc: RPC,
  stats: { group: "uac", counters: [...COUNTERS, ...GAUGES] },
  tables: ["uacreg"],
  init(host) {
    const p = host.config;
    const stats = host.stats.group("uac", COUNTERS);
    let active = p.reg_active;
    const registry = new UacRegistry({
      sip: host.sip,
      settings: {
        timerInterval: p.reg_timer_interval,
        retryInterval: p.reg_retry_interval,
        retryMax: p.reg_retry_max,
        randomDelay: p.reg_random_delay,
        contactAddr: p.reg_contact_addr,
        keepCallId: p.reg_keep_callid,
        defaultSocket: p.default_socket,
        timeoutMs: p.reg_timeout_ms,
      },
      active: () => active,
      count: (name) => stats.inc(`reg_${name}`),
      log: host.log,
    });
    stats.gauge("regtotal", () => registry.counts().total);
    stats.gauge("regactive", () => registry.counts().active);
    stats.gauge("regdisabled", () => registry.counts().disabled);
    const sink: TableSink<UacRegTable> = {
      kind: "uacreg",
      tables: tableNamesOf("uacreg"),
      compile: (set) => compileUacReg(set),
      apply: (t) => registry.apply(t),
    };
    host.tables.register(sink);
    const reload = createTableReloader(host, "uacreg");
    host.rpc.registerAll(
      uacRpcMethods(registry, {
        reload,
        setActive: (on) => {
          active = on;
          if (on) for (const r of registry.regs.values()) if (!r.online) r.refreshNow();
        },
      }),
    );
    const authDeps = { table: () => registry.table, credential: p.credential, stats, log: host.log };
    const rd: ReplaceDeps = { mode: p.restore_mode as ReplaceDeps["mode"], fromParam: p.rr_from_store_param, toParam: p.rr_to_store_param, passwd: p.restore_passwd, stats };
    const localUri = (uuid: string): string | null => {
      const row = registry.table.byUuid.get(uuid);
      if (!row) return null;
      return row.l_username ? `sip:${row.l_username}@${row.l_domain}` : `sip:${row.l_domain}`;
    };
    const toggle = (attr: Parameters<UacRegistry["find"]>[0], value: string, on: boolean) => {
      const list = registry.find(attr, value);
      for (const r of list) (on ? r.enable() : r.disable());
      return list.length > 0 ? 1 : -1;
    };
    return {
      params: p,
      auth: (f, opts) => uacAuth(f, authDeps, opts),
      replaceFrom: (req, display, uri) => uacReplace(req, "from", display, uri, rd),
      replaceTo: (req, display, uri) => uacReplace(req, "to", display, uri, rd),
      restoreFrom: (req) => uacInDialog(req, { cseq: false, from: true, to: false }, rd),
      restoreTo: (req) => uacInDialog(req, { cseq: false, from: false, to: true }, rd),
      inDialog: (req) => uacInDialog(req, { cseq: true, from: rd.mode === "auto", to: rd.mode === "auto" }, rd),
      regLookup(req: RequestState, uuid?: string) {
        const key = uuid ?? req.ruriUser;
        if (!key) return -1;
        const uri = localUri(key);
        if (!uri) return -1;
        req.setRuri(uri);
        return 1;
      },
      regLookupUri(uri) {
        const user = splitUri(uri)?.user;
        return user ? localUri(user) : null;
      },
      regStatus(uuid) {
        const r = registry.regs.get(uuid);
        return r ? r.status() : -1;
      },
      regEnable: (attr, value) => toggle(attr, value, true),
      regDisable: (attr, value) => toggle(attr, value, false),
      regRefresh(uuid) {
        const r = registry.regs.get(uuid);
        return r && r.refreshNow() ? 1 : -1;
      },
      table: () => registry.table,
      // destroy() stops the timers of this instance
      [STOP]: () => registry.stop(),
    } as UacApi;
  },
  destroy(api) {
    (api as unknown as Record<symbol, () => void> | undefined)?.[STOP]?.();
  },
});

