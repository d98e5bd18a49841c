import type { Endpoint, RequestState, SipMessageView } from "../../core/api.js";
import { formatUri, nameAddrUri, splitHeaderList, splitUri, uriParam, uriProto, type UriParts } from "../../core/kit/index.js";
import { sameIp } from "./ip-private.js";

/** Kamailio's proto numbers used in `;alias=ip~port~proto` (PROTO_UDP 1 ... PROTO_WSS 6). */
export const PROTO_NUMBERS: Readonly<Record<string, number>> = Object.freeze({ udp: 1, tcp: 2, tls: 3, sctp: 4, ws: 5, wss: 6 });
const PROTO_NAMES = ["", "udp", "tcp", "tls", "sctp", "ws", "wss"];

/** A message whose Contact can be rewritten: request and reply contexts both qualify. */
export interface ContactEditable {
  readonly msg: SipMessageView;
  readonly source: Endpoint;
  replaceHeader(name: string, index: number, value: string): boolean;
}

const hostOf = (ip: string) => (ip.includes(":") ? `[${ip}]` : ip);

/**
 * The source as a SIP URI, what fix_nated_register stores as `received`:
 * `sip:ip:port`, with `;transport=` for anything but UDP (Kamailio create_rcv_uri).
 */
export function receivedUri(src: Endpoint): string {
  const t = src.proto === "udp" ? "" : `;transport=${src.proto}`;
  return `sip:${hostOf(src.address)}:${src.port}${t}`;
}

/** `alias=ip~port~proto` value for a source (Kamailio uri_add_rcv_alias). */
export function aliasValue(src: Endpoint): string {
  return `${hostOf(src.address)}~${src.port}~${PROTO_NUMBERS[src.proto] ?? 1}`;
}

interface FirstContact {
  readonly fieldValue: string;
  readonly values: string[];
  readonly first: string;
  readonly uriText: string;
  readonly uri: UriParts;
}

function firstContact(msg: SipMessageView): FirstContact | null {
  const f = msg.headerAll("contact")[0];
  if (f === undefined) return null;
  const values = splitHeaderList(f);
  const first = values[0];
  if (!first || first === "*") return null;
  const uriText = nameAddrUri(first);
  const uri = splitUri(uriText);
  if (!uri) return null;
  return { fieldValue: f, values, first, uriText, uri };
}

/** Replaces the first Contact's URI (adding <> when the value had none and now has params). */
function writeFirstContact(m: ContactEditable, fc: FirstContact, newUri: string): boolean {
  let v: string;
  if (fc.first.includes("<")) v = fc.first.replace(`<${fc.uriText}>`, `<${newUri}>`);
  else {
    const semi = fc.first.indexOf(";");
    v = `<${newUri}>${semi >= 0 ? fc.first.slice(semi) : ""}`;
  }
  const values = [v, ...fc.values.slice(1)];
  return m.replaceHeader("Contact", 0, values.join(", "));
}

/**
 * [fix_nated_contact()] rewrites host:port of the first Contact URI to the source address
 * (a `maddr` parameter is dropped, as it no longer makes sense). Returns 1, or -1 when there is
 * no usable Contact or it was already rewritten.
 */
export function fixNatedContact(m: ContactEditable): number {
  const fc = firstContact(m.msg);
  if (!fc) return -1;
  const u = fc.uri;
  const params = u.params.filter(([k]) => k.toLowerCase() !== "maddr");
  const nu = formatUri({ ...u, host: m.source.address, ipv6: m.source.address.includes(":"), port: m.source.port, params });
  return writeFirstContact(m, fc, nu) ? 1 : -1;
}

/**
 * [add_contact_alias()] adds `;alias=ip~port~proto` (the source) right after host:port of the first
 * Contact URI, unless the Contact already names the source. Returns 1 added, 2 not needed (or no
 * Contact), -1 error.
 */
export function addContactAlias(m: ContactEditable): number {
  const fc = firstContact(m.msg);
  if (!fc) return 2;
  const u = fc.uri;
  const src = m.source;
  if (sameIp(u.host, src.address) && (u.port ?? 5060) === src.port && uriProto(u) === src.proto) return 2;
  const nu = formatUri({ ...u, params: [["alias", aliasValue(src)], ...u.params] });
  return writeFirstContact(m, fc, nu) ? 1 : -1;
}

/**
 * [set_contact_alias(trim)] appends `;alias=ip~port~proto` to the first Contact URI in any case
 * (with `trim`, an alias already there is replaced). Returns 1, or -1 when there is no Contact.
 */
export function setContactAlias(m: ContactEditable, trim = false): number {
  const fc = firstContact(m.msg);
  if (!fc) return -1;
  const u = fc.uri;
  const params = trim ? u.params.filter(([k]) => k.toLowerCase() !== "alias") : u.params;
  const nu = formatUri({ ...u, params: [...params, ["alias", aliasValue(m.source)]] });
  return writeFirstContact(m, fc, nu) ? 1 : -1;
}

/** Decodes an `alias` value back into a destination URI (`sip:ip:port;transport=x`), or null. */
export function aliasToUri(v: string): string | null {
  const m = /^(\[[0-9a-fA-F:.]+\]|[0-9a-fA-F:.]+|[A-Za-z0-9.-]+)~(\d{1,5})~([1-6])$/.exec(v);
  if (!m) return null;
  let host = m[1]!;
  if (host.includes(":") && !host.startsWith("[")) host = `[${host}]`;
  const proto = PROTO_NAMES[Number(m[3])]!;
  return `sip:${host}:${m[2]}${proto === "udp" ? "" : `;transport=${proto}`}`;
}

/**
 * [handle_ruri_alias(mode)] when the R-URI carries `;alias=` (a NATed contact learnt through
 * add/set_contact_alias), sets $du to the address in it and removes the parameter (mode 0: the
 * first alias, 1: the last). Returns 1 handled, 2 no alias, -1 malformed alias.
 */
export function handleRuriAlias(req: RequestState, mode: 0 | 1 = 0): number {
  const u = splitUri(req.ruri);
  if (!u) return -1;
  let idx = -1;
  for (let i = 0; i < u.params.length; i++) {
    if (u.params[i]![0].toLowerCase() === "alias") {
      idx = i;
      if (mode === 0) break;
    }
  }
  if (idx < 0) return 2;
  const dst = aliasToUri(u.params[idx]![1] ?? "");
  if (!dst) return -1;
  req.setDst(dst);
  req.setRuri(formatUri({ ...u, params: u.params.filter((_, i) => i !== idx) }));
  return 1;
}

/** Whether a URI carries an alias parameter. */
export function hasAlias(uri: string): boolean {
  const u = splitUri(uri);
  return !!u && uriParam(u, "alias") !== undefined;
}
