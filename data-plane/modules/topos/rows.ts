import { splitList } from "../../core/api.js";
import type { BranchRecord, DialogRecord } from "./store.js";

/**
 * Records as rows in Kamailio's column names (topos_d, topos_t), shared by the MySQL tables and
 * the Redis hashes. Route sets are stored as header text (values joined by ", "), as Kamailio does.
 */

export type Row = Record<string, string | number | null | Date>;

const joinRr = (v: readonly string[]): string => v.join(", ");
const splitRr = (v: unknown): string[] => (typeof v === "string" && v !== "" ? splitList(v).filter((s) => s !== "") : []);
const s = (v: unknown): string => (v === null || v === undefined ? "" : String(v));
const ms = (v: unknown): number => (v instanceof Date ? v.getTime() : typeof v === "number" ? v : Number(v) || Date.now());

export function dialogRow(d: DialogRecord): Row {
  return {
    rectime: new Date(d.rectime),
    x_context: "",
    s_method: "INVITE",
    s_cseq: "",
    a_callid: d.aCallId,
    a_uuid: d.uuid,
    b_uuid: d.uuid,
    a_contact: d.aContact,
    b_contact: d.bContact,
    as_contact: `atpsh-${d.uuid}`,
    bs_contact: `btpsh-${d.uuid}`,
    a_tag: d.aTag,
    b_tag: d.bTag,
    a_rr: joinRr(d.aRr),
    b_rr: joinRr(d.bRr),
    s_rr: "",
    iflags: 0,
    a_uri: d.aUri,
    b_uri: d.bUri,
    r_uri: d.rUri,
    a_srcaddr: d.aSrc,
    b_srcaddr: d.bSrc,
    a_socket: "",
    b_socket: "",
  };
}

export function dialogOfRow(r: Record<string, unknown>): DialogRecord | null {
  const uuid = s(r.a_uuid);
  if (uuid === "" || s(r.a_callid) === "") return null; // sanity: a row without its keys is not used
  return {
    uuid,
    aCallId: s(r.a_callid),
    aTag: s(r.a_tag),
    bTag: s(r.b_tag),
    aContact: s(r.a_contact),
    bContact: s(r.b_contact),
    aRr: splitRr(r.a_rr),
    bRr: splitRr(r.b_rr),
    aUri: s(r.a_uri),
    bUri: s(r.b_uri),
    rUri: s(r.r_uri),
    aSrc: s(r.a_srcaddr),
    bSrc: s(r.b_srcaddr),
    rectime: ms(r.rectime),
  };
}

export function branchRow(b: BranchRecord): Row {
  return {
    rectime: new Date(b.rectime),
    x_context: "",
    s_method: b.method,
    s_cseq: b.cseq,
    a_callid: b.aCallId,
    a_uuid: b.uuid,
    b_uuid: b.uuid,
    direction: b.direction,
    x_via: b.vias.join(", "),
    x_vbranch: b.branch,
    x_rr: "",
    y_rr: "",
    s_rr: "",
    x_uri: "",
    a_contact: "",
    b_contact: "",
    as_contact: "",
    bs_contact: "",
    x_tag: "",
    a_tag: "",
    b_tag: "",
    a_srcaddr: "",
    b_srcaddr: "",
    a_socket: "",
    b_socket: "",
  };
}

export function branchOfRow(r: Record<string, unknown>): BranchRecord | null {
  const branch = s(r.x_vbranch);
  if (branch === "" || s(r.a_uuid) === "") return null;
  return {
    branch,
    uuid: s(r.a_uuid),
    aCallId: s(r.a_callid),
    direction: Number(r.direction) === 1 ? 1 : 0,
    vias: splitRr(r.x_via),
    method: s(r.s_method),
    cseq: s(r.s_cseq),
    rectime: ms(r.rectime),
  };
}
