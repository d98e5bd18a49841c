import type { RequestContext, RequestState } from "../../../core/api.js";
import type { DestRuntime } from "../state.js";
import type { CompiledDest } from "../../../../tables/dispatcher/table.js";

/**
 * The failover list of one transaction (Kamailio's `_dsdst_` XAVP list plus `_dsctx_=>cnt`),
 * kept in `req.vars` under "dispatcher:dst" so the failure route of the same transaction sees
 * it. Entries hold references to the destination and its runtime as they were at selection:
 * a reload in between changes nothing for this call (in-flight selections keep their old
 * references).
 */
export interface DstEntry {
  readonly setid: number;
  readonly uri: string;
  /** Socket to force (sockname wins over socket; "" = none). */
  readonly socket: string;
  /** Attrs text ($xavp(_dsdst_=>attrs)). */
  readonly attrs: string;
  /** duid when the list was built by alg 10 ("" otherwise). */
  readonly duid: string;
  readonly dest: CompiledDest;
  readonly rt: DestRuntime;
}

export interface DstList {
  readonly entries: DstEntry[];
  /** Index of the entry in use (0 after select; nextDst advances it). */
  index: number;
}

/** req.vars key of the failover list. */
export const VAR_DST = "dispatcher:dst";
/** req.vars key of the number of entries selected (Kamailio `_dsctx_=>cnt`). */
export const VAR_CNT = "dispatcher:cnt";
/** req.vars key of the set id matched by isFromList (Kamailio setid_pvname). */
export const VAR_SETID = "dispatcher:setid";
/** req.vars key of the attrs of the destination matched by isFromList (Kamailio attrs_pvname). */
export const VAR_ATTRS = "dispatcher:attrs";

/** Builds an entry for a destination. */
export function makeEntry(dest: CompiledDest, rt: DestRuntime, withDuid: boolean): DstEntry {
  return {
    setid: dest.setid,
    uri: dest.uri,
    socket: dest.attrs.sockname !== "" ? dest.attrs.sockname : dest.attrs.socket,
    attrs: dest.attrs.body,
    duid: withDuid ? dest.attrs.duid : "",
    dest,
    rt,
  };
}

/** The failover list of a request, or null. */
export function getDstList(req: Pick<RequestState, "vars">): DstList | null {
  const v = req.vars.get(VAR_DST);
  return v && typeof v === "object" && Array.isArray((v as DstList).entries) ? (v as DstList) : null;
}

/** How a selected destination is applied to the request. */
export type PushMode = "dst" | "ruri" | "none";

/**
 * Applies a destination to the request: `dst` sets $du (ds_select_dst), `ruri` rewrites the
 * R-URI host:port (ds_select_domain), `none` only records it. A destination socket (or the
 * module's default_socket) is forced as the send socket.
 */
export function pushDst(req: RequestContext, e: DstEntry, mode: PushMode, defaultSocket: string): void {
  if (mode === "none") return;
  if (mode === "ruri") {
    const t = e.dest.target;
    req.setRuriHost(t.ipv6 ? `[${t.host}]` : t.host, t.port === 0 ? null : t.port);
  } else {
    req.setDst(e.uri);
  }
  const sock = e.socket !== "" ? e.socket : defaultSocket;
  if (sock !== "") req.forceSendSocket(sock);
}
