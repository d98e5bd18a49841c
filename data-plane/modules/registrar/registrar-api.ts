import type { RequestContext, RequestState } from "../../core/api.js";
import { nowSeconds } from "../usrloc/api.js";
import { tryExtractAor } from "./aor.js";
import { isBflagSet, resetBflag, setBflag } from "./branch-flags.js";
import { lookup, lookupBranches, registered, unregister, type RegisteredMatch } from "./lookup.js";
import type { RegistrarParams } from "./params.js";
import { sendPrepared } from "./reply.js";
import { aorRules, save, type RegistrarDeps } from "./save.js";
import { hasMoreContacts, loadContacts, nextContactFlow, nextContacts } from "./serial-fork.js";

/** A binding as reg_fetch_contacts ($ulc) shows it. */
export interface FetchedContact {
  readonly aor: string;
  readonly contact: string;
  readonly expires: number;
  readonly q: number;
  readonly received: string | null;
  readonly path: string | null;
  readonly socket: string | null;
  readonly callid: string;
  readonly cseq: number;
  readonly cflags: number;
  readonly methods: number;
  readonly userAgent: string;
  readonly instance: string | null;
  readonly regId: number;
  readonly ruid: string;
}

/**
 * The registrar's script API (Kamailio registrar + tm's q-value forking).
 *
 * @example
 *   // REGISTRAR route of the default script
 *   if (req.method === "REGISTER") {
 *     if (req.isFlagSet(FLT_NATS)) { registrar.setbflag(req, FLB_NATB); registrar.setbflag(req, FLB_NATSIPPING); }
 *     if (registrar.save(req, "location") < 0) req.replyError();
 *     return;
 *   }
 *   // LOCATION route
 *   const rc = registrar.lookup(req, "location");
 *   if (rc === -2) { req.reply(405, "Method Not Allowed"); return; }
 *   if (rc < 0) { req.reply(404, "Not Found"); return; }
 *   req.relay();
 */
export interface RegistrarApi {
  readonly params: RegistrarParams;
  /** [save] see save.ts: 1 inserted, 2 updated, 3 deleted, 4 query, -1 error, -2 too many contacts. */
  save(req: RequestContext, table?: string, flags?: number, uri?: string): number;
  /** [lookup] 1 found, -1 not found, -2 method not allowed, -3 error. */
  lookup(req: RequestContext, table?: string, uri?: string): number;
  /** [lookup_branches] lookup over several AoRs (default the R-URI's): 1, -1, -2, -3 as lookup. */
  lookupBranches(req: RequestContext, table?: string, uris?: readonly string[]): number;
  /** [registered] 1 when the AoR has a (matching) valid contact, else -1. */
  registered(req: RequestContext, table?: string, uri?: string, match?: RegisteredMatch): number;
  /** [unregister] 1 done, -1 bad AoR, -2 failed, -3 ruid not found. */
  unregister(req: RequestContext, table?: string, uri?: string, ruid?: string): number;
  /** [reg_send_reply] sends the reply prepared by save() with flags 0x02|0x10. */
  sendReply(req: RequestContext): boolean;
  /** [reg_fetch_contacts] the valid bindings of an AoR (a URI or user[@domain]). */
  fetchContacts(table: string, uri: string): FetchedContact[];
  /** [t_load_contacts(mode)] 1 ok / nothing to do, -1 error. */
  loadContacts(req: RequestState, mode?: 0 | 1): number;
  /** [t_next_contacts] 1 a group was set, -2 none left. */
  nextContacts(req: RequestState): number;
  /** [t_next_contact_flow] 1 a flow was set, -1 none left. */
  nextContactFlow(req: RequestState): number;
  /** Whether loadContacts groups remain after the current one. */
  hasMoreContacts(req: RequestState): boolean;
  /** [setbflag] branch flag of the R-URI branch, saved as the binding's cflags. */
  setbflag(req: RequestState, flag: number): void;
  /** [resetbflag] */
  resetbflag(req: RequestState, flag: number): void;
  /** [isbflagset] */
  isbflagset(req: RequestState, flag: number): boolean;
}

/** Binds the registrar functions to one module instance (params, usrloc, stats). */
export function createRegistrarApi(d: RegistrarDeps): RegistrarApi {
  return {
    params: d.params,
    save: (req, table = "location", flags = 0, uri) => save(d, req, table, flags, uri),
    lookup: (req, table = "location", uri) => lookup(d, req, table, uri),
    lookupBranches: (req, table = "location", uris) => lookupBranches(d, req, table, uris),
    registered: (req, table = "location", uri, match) => registered(d, req, table, uri, match),
    unregister: (req, table = "location", uri, ruid) => unregister(d, req, table, uri, ruid),
    sendReply: (req) => sendPrepared(req),
    fetchContacts(table, uri) {
      const t = d.ul.existing(table);
      if (!t) return [];
      const aor = /^(sips?|tel):/i.test(uri) ? tryExtractAor(uri, aorRules(d)) : d.ul.normalizeAor(uri);
      if (aor === null) return [];
      const now = nowSeconds();
      return t.valid(aor, now).map((b) => ({
        aor,
        contact: b.contact,
        expires: b.remaining(now),
        q: b.q,
        received: b.received,
        path: b.path,
        socket: b.socket,
        callid: b.callid,
        cseq: b.cseq,
        cflags: b.cflags,
        methods: b.methods,
        userAgent: b.userAgent,
        instance: b.instance,
        regId: b.regId,
        ruid: b.ruid,
      }));
    },
    loadContacts: (req, mode = 0) => loadContacts(req, mode),
    nextContacts: (req) => nextContacts(req),
    nextContactFlow: (req) => nextContactFlow(req),
    hasMoreContacts: (req) => hasMoreContacts(req),
    setbflag: setBflag,
    resetbflag: resetBflag,
    isbflagset: isBflagSet,
  };
}
