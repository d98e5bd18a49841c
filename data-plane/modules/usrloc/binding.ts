/**
 * One registered contact of an address of record: Kamailio's `ucontact_t`, one row of the
 * `location` table. Fields carry the location table's meaning (column names in brackets).
 *
 * Memory matters here (a registrar holds millions of these): the class initialises every field in
 * its constructor (most through update()) so all bindings share one hidden class, times are whole
 * seconds (small integers stay unboxed), and repeated strings (User-Agent, socket) are interned by
 * the table.
 */

/** Kamailio's `ALL_METHODS`: no Allow header seen, every method allowed. */
export const ALL_METHODS = 0xffffffff;

/** Kamailio's `Q_UNSPECIFIED`: the contact gave no q and `default_q` is unset. */
export const Q_UNSPECIFIED = -1;

/** ucontact flags (Kamailio usrloc `FL_*`). */
export const ContactFlag = {
  /** FL_MEM: keep in memory only, never written to the database/shared store (save flag 0x01). */
  MEM: 1,
} as const;

/** Method bits (Kamailio `METHOD_*`, parser/msg_parser.h) used by the `methods` column. */
export const METHOD_BITS: Readonly<Record<string, number>> = Object.freeze({
  INVITE: 1,
  CANCEL: 2,
  ACK: 4,
  BYE: 8,
  INFO: 16,
  REGISTER: 32,
  SUBSCRIBE: 64,
  NOTIFY: 128,
  MESSAGE: 256,
  OPTIONS: 512,
  PRACK: 1024,
  UPDATE: 2048,
  REFER: 4096,
  PUBLISH: 8192,
  KDMQ: 16384,
  GET: 32768,
  POST: 65536,
  PUT: 131072,
  DELETE: 262144,
});

/** METHOD_OTHER: any method without a bit of its own. */
export const METHOD_OTHER = 524288;

/** The bit of one method (METHOD_OTHER for unknown methods). */
export function methodBit(method: string): number {
  return METHOD_BITS[method.toUpperCase()] ?? METHOD_OTHER;
}

/**
 * Parses an Allow header value / `methods` contact parameter (`"INVITE, ACK, BYE"`) into a bitmask.
 * Returns null when a token is not a method token.
 */
export function parseMethods(list: string): number | null {
  let bits = 0;
  for (const raw of list.replace(/^"|"$/g, "").split(",")) {
    const m = raw.trim();
    if (m === "") continue;
    if (!/^[A-Za-z][A-Za-z0-9._!%*+`'~-]*$/.test(m)) return null;
    bits |= methodBit(m);
  }
  return bits >>> 0;
}

/** Whether a contact with this `methods` mask accepts `method` (Kamailio method_filtering). */
export function allowsMethod(methods: number, method: string): boolean {
  return ((methods >>> 0) & methodBit(method)) !== 0;
}

/** DB/shared-store state of a binding (Kamailio `cstate_t`), shown by ul.dump. */
export const ContactState = { NEW: 0, SYNC: 1, DIRTY: 2 } as const;
const STATE_NAMES = ["CS_NEW", "CS_SYNC", "CS_DIRTY"];

/** Everything a registration (or ul.add, or a DB row) says about one contact. */
export interface BindingInfo {
  contact: string;
  /** Absolute expiry in Unix seconds; 0 = permanent. */
  expires: number;
  /** q in thousandths (0..1000), or Q_UNSPECIFIED. */
  q: number;
  callid: string;
  cseq: number;
  received?: string | null;
  path?: string | null;
  flags?: number;
  cflags?: number;
  userAgent?: string;
  socket?: string | null;
  methods?: number;
  instance?: string | null;
  regId?: number;
  serverId?: number;
  connectionId?: number;
  keepalive?: number;
  /** Unix seconds; defaults to now. */
  lastModified?: number;
  /** Given for rows loaded from storage; generated otherwise. */
  ruid?: string;
}

/** One contact binding (Kamailio ucontact). */
export class Binding {
  /** [ruid] unique id of the binding across restarts and nodes. */
  ruid: string;
  /** Address of record (shared with the record's key). */
  aor: string;
  /** [contact] the Contact URI as registered. */
  contact!: string;
  /** [received] where the REGISTER really came from (`sip:ip:port;transport=x`), for NAT. */
  received!: string | null;
  /** [path] Path header values (RFC 3327) joined by ",". */
  path!: string | null;
  /** [expires] absolute Unix seconds; 0 = permanent. */
  expires!: number;
  /** [q] thousandths, or Q_UNSPECIFIED. */
  q!: number;
  callid!: string;
  cseq!: number;
  /** [flags] usrloc flags (ContactFlag). */
  flags!: number;
  /** [cflags] branch flags saved with the contact (NAT flags, ...). */
  cflags!: number;
  userAgent!: string;
  /** [socket] local socket the REGISTER arrived on, `proto:ip:port`. */
  socket!: string | null;
  methods!: number;
  /** [instance] +sip.instance (RFC 5626), with its <> as sent. */
  instance!: string | null;
  /** [reg_id] RFC 5626 reg-id, 0 when absent. */
  regId!: number;
  serverId: number;
  connectionId!: number;
  keepalive: number;
  /** [last_modified] Unix seconds. */
  lastModified!: number;
  /** Unix seconds of the last keep-alive reply (nathelper), 0 = none yet. */
  lastKeepalive: number;
  /** Milliseconds of the last keep-alive round trip. */
  kaRoundtrip: number;
  /** Storage state (ContactState). */
  state: number;
  /** Position in the expiry heap (-1 = not in it). */
  heapIndex: number;

  constructor(aor: string, ruid: string, info: BindingInfo, now: number) {
    this.ruid = ruid;
    this.aor = aor;
    this.serverId = 0;
    this.keepalive = 0;
    this.lastKeepalive = 0;
    this.kaRoundtrip = 0;
    this.state = ContactState.NEW;
    this.heapIndex = -1;
    this.update(info, now);
  }

  /** Copies what a refresh may change (Kamailio update_ucontact); ruid and aor stay. */
  update(info: BindingInfo, now: number): void {
    this.contact = info.contact;
    this.received = info.received ?? null;
    this.path = info.path ?? null;
    this.expires = info.expires;
    this.q = info.q;
    this.callid = info.callid;
    this.cseq = info.cseq;
    this.flags = info.flags ?? 0;
    this.cflags = info.cflags ?? 0;
    this.userAgent = info.userAgent ?? "";
    this.socket = info.socket ?? null;
    this.methods = info.methods ?? ALL_METHODS;
    this.instance = info.instance ?? null;
    this.regId = info.regId ?? 0;
    this.serverId = info.serverId ?? this.serverId;
    this.connectionId = info.connectionId ?? -1;
    this.keepalive = info.keepalive ?? this.keepalive;
    this.lastModified = info.lastModified ?? now;
    if (this.state === ContactState.SYNC) this.state = ContactState.DIRTY;
  }

  /** Kamailio VALID_CONTACT: permanent or not yet expired. */
  isValid(now: number): boolean {
    return this.expires === 0 || this.expires > now;
  }

  /** Seconds left (0 for permanent or expired). */
  remaining(now: number): number {
    return this.expires === 0 ? 0 : Math.max(0, this.expires - now);
  }

  /** The info needed to recreate this binding elsewhere (another table, a replica). */
  toInfo(): BindingInfo {
    return {
      ruid: this.ruid,
      contact: this.contact,
      received: this.received,
      path: this.path,
      expires: this.expires,
      q: this.q,
      callid: this.callid,
      cseq: this.cseq,
      flags: this.flags,
      cflags: this.cflags,
      userAgent: this.userAgent,
      socket: this.socket,
      methods: this.methods,
      instance: this.instance,
      regId: this.regId,
      serverId: this.serverId,
      connectionId: this.connectionId,
      keepalive: this.keepalive,
      lastModified: this.lastModified,
    };
  }

  /** Name of the storage state as ul.dump prints it. */
  stateName(): string {
    return STATE_NAMES[this.state] ?? "CS_UNKNOWN";
  }
}

/** q in thousandths → the text of a `;q=` parameter ("0.5", "1"), or "" for unspecified. */
export function formatQ(q: number): string {
  if (q < 0) return "";
  if (q >= 1000) return "1";
  if (q === 0) return "0";
  return (q / 1000).toFixed(3).replace(/0+$/, "").replace(/\.$/, "");
}

/**
 * Parses a q value (RFC 3261 qvalue: "0" ["." 0*3DIGIT] / "1" ["." 0*3("0")]) into thousandths.
 * Returns null when malformed.
 */
export function parseQ(text: string): number | null {
  const t = text.trim();
  const m = /^(0(?:\.(\d{0,3}))?|1(?:\.(0{0,3}))?)$/.exec(t);
  if (!m) return null;
  if (t.startsWith("1")) return 1000;
  const frac = (m[2] ?? "").padEnd(3, "0");
  return Number(frac);
}

/** Instance ids compare without their angle brackets (Kamailio get_ucontact_by_instance). */
export function sameInstance(a: string, b: string): boolean {
  return stripAngle(a) === stripAngle(b);
}

function stripAngle(s: string): string {
  return s.length >= 2 && s.charCodeAt(0) === 60 && s.charCodeAt(s.length - 1) === 62 ? s.slice(1, -1) : s;
}
