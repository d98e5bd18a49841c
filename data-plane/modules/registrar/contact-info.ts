import type { NameAddr } from "../../core/api.js";
import { ALL_METHODS, parseMethods, parseQ } from "../usrloc/api.js";
import type { RegistrarParams } from "./params.js";
import { RegFailure } from "./reply.js";

/** Longest received address kept (Kamailio RECEIVED_MAX_SIZE). */
export const RECEIVED_MAX_SIZE = 255;
/** Longest Call-ID kept (Kamailio CALLID_MAX_SIZE; the `callid` column). */
export const CALLID_MAX_SIZE = 255;
/** Longest User-Agent kept (Kamailio MAX_UA_SIZE); longer ones are stored as "n/a". */
export const MAX_UA_SIZE = 255;

/** One Contact of a REGISTER, checked and with its expiry worked out. */
export interface ContactRequest {
  readonly uri: string;
  /** Relative seconds; 0 = remove. */
  readonly expires: number;
  readonly q: number;
  readonly instance: string | null;
  readonly regId: number;
  readonly methods: number;
  /** `received` contact parameter (add_rcv_param), or null. */
  readonly received: string | null;
}

/** Strips one pair of double quotes. */
export function unquote(v: string): string {
  return v.length >= 2 && v.startsWith('"') && v.endsWith('"') ? v.slice(1, -1) : v;
}

/** Kamailio randomize_expires: a value between (1 - range%) * e and e. */
export function randomizeExpires(e: number, range: number, rand: () => number = Math.random): number {
  if (range === 0) return e;
  const min = e * (1 - range / 100);
  return Math.trunc(min + (Math.floor(rand() * 100) / 100) * (e - min));
}

/**
 * The relative expiry of one contact (Kamailio calc_contact_expires): the contact's `expires`
 * parameter, else the Expires header, else default_expires; then min_expires (423 or raise),
 * the random range (unless `novariation`) and max_expires. 0 stays 0 (a removal).
 */
export function contactExpires(
  param: string | undefined,
  headerExpires: number | null,
  p: RegistrarParams,
  novariation: boolean,
  rand?: () => number,
): number {
  let e: number;
  let range: number;
  if (param !== undefined && param !== "") {
    if (/^\d{1,10}$/.test(param.trim()) && Number(param) <= 0xffffffff) {
      e = Number(param);
      range = p.expires_range;
    } else {
      e = p.default_expires;
      range = p.default_expires_range;
    }
  } else if (headerExpires !== null) {
    e = headerExpires;
    range = p.expires_range;
  } else {
    e = p.default_expires;
    range = p.default_expires_range;
  }
  if (e === 0) return 0;
  if (p.min_expires > 0 && e < p.min_expires) {
    if (p.min_expires_mode === 1) throw new RegFailure("LOW_EXP", [["Min-Expires", String(p.min_expires)]]);
    e = p.min_expires;
  }
  if (!novariation) {
    e = randomizeExpires(e, range, rand);
    if (e < p.min_expires) e = p.min_expires;
  }
  if (p.max_expires > 0 && e > p.max_expires) e = p.max_expires;
  return e;
}

/**
 * Checks one Contact and reads its parameters (Kamailio pack_ci): URI length, q, +sip.instance,
 * reg-id, methods (else the Allow header), received. Throws RegFailure for bad values.
 */
export function readContact(
  na: NameAddr,
  headerExpires: number | null,
  allow: number | null,
  p: RegistrarParams,
  novariation: boolean,
): ContactRequest {
  const uri = na.uriText;
  if (uri.length <= 4 || !/^[a-zA-Z][a-zA-Z0-9+.-]*:/.test(uri)) throw new RegFailure("PARSE_CONT");
  if (uri.length > p.contact_max_size) throw new RegFailure("CONTACT_LEN");
  const qText = na.params.get("q");
  let q = p.default_q;
  if (qText !== undefined && qText !== "") {
    const v = parseQ(qText);
    if (v === null) throw new RegFailure("INV_Q");
    q = v;
  }
  const instRaw = na.params.get("+sip.instance");
  const instance = instRaw !== undefined && instRaw !== "" ? unquote(instRaw) : null;
  let regId = 0;
  const rid = na.params.get("reg-id");
  if (instance && rid !== undefined && rid !== "") {
    if (!/^\d{1,10}$/.test(rid) || Number(rid) === 0 || Number(rid) > 0x7fffffff) throw new RegFailure("INV_REGID");
    regId = Number(rid);
  }
  let methods = allow ?? ALL_METHODS;
  const mp = na.params.get("methods");
  if (mp !== undefined && mp !== "") {
    const m = parseMethods(unquote(mp));
    if (m === null) throw new RegFailure("PARSE");
    methods = m;
  }
  const rp = na.params.get("received");
  const received = rp !== undefined && rp !== "" ? unquote(rp) : null;
  if (received !== null && received.length > RECEIVED_MAX_SIZE) throw new RegFailure("CONTACT_LEN");
  return { uri, expires: contactExpires(na.params.get("expires"), headerExpires, p, novariation), q, instance, regId, methods, received };
}
