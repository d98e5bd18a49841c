/**
 * The `attrs` column (`k=v;k=v`, Kamailio reference §1.5). Known keys are checked and typed;
 * any other key is kept as an opaque string for the routing script (Kamailio's
 * `$xavp(_dsdst_=>attrs)`).
 */

export interface DestAttrs {
  /** The attrs text as given (trailing ';' removed) — Kamailio ATTRS.BODY. */
  readonly body: string;
  /** Destination unique id (alg 10 call load, dispatcher.set_duid_state). */
  readonly duid: string;
  /** Maximum active calls for alg 10; 0 = unlimited. */
  readonly maxload: number;
  /** Alg 9 percentage / alg 15 SRV weight / alg 11 cc base, 1..100 (0 = unset). */
  readonly weight: number;
  /** Alg 11 relative weight, 1..100 (0 = unset). */
  readonly rweight: number;
  /** Congestion control for alg 11/13 (cc=1). */
  readonly cc: number;
  /** Send socket `proto:ip:port`. */
  readonly socket: string;
  /** Send socket by name (wins over socket). */
  readonly sockname: string;
  /** From URI for keepalives to this destination. */
  readonly pingFrom: string;
  /** Outbound proxy for keepalives. */
  readonly obproxy: string;
  /** Initial latency estimate in ms (seeds the estimator), or null. */
  readonly latency: number | null;
  /** Overload control bounds and initial rate (alg 64), each 0..100. */
  readonly ocmin: number;
  readonly ocmax: number;
  readonly ocrate: number;
  /** Every other key, as written (names lower-cased). */
  readonly extra: Readonly<Record<string, string>>;
}

export const EMPTY_ATTRS: DestAttrs = Object.freeze({
  body: "",
  duid: "",
  maxload: 0,
  weight: 0,
  rweight: 0,
  cc: 0,
  socket: "",
  sockname: "",
  pingFrom: "",
  obproxy: "",
  latency: null,
  ocmin: 0,
  ocmax: 100,
  ocrate: 0,
  extra: Object.freeze({}),
});

const SOCKET_RE = /^(udp|tcp|tls|sctp|ws|wss):(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+)(:\d{1,5})?$/i;

function int(name: string, v: string, min: number, max: number): number {
  if (!/^[-+]?\d+$/.test(v.trim())) throw new Error(`attrs: ${name}='${v}' is not an integer`);
  const n = Number(v.trim());
  if (n < min || n > max) throw new Error(`attrs: ${name}=${n} out of range ${min}..${max}`);
  return n;
}

/**
 * Parses an attrs string. Throws an Error whose message names the bad key; the caller wraps it
 * in a TableError naming the row.
 *
 * @example parseAttrs("duid=gw1;maxload=20;weight=50").maxload === 20
 */
export function parseAttrs(text: string): DestAttrs {
  let body = text.trim();
  while (body.endsWith(";")) body = body.slice(0, -1);
  if (body === "") return EMPTY_ATTRS;
  // the defaults of EMPTY_ATTRS, in its key order (extra is replaced at the end)
  const a: { -readonly [K in keyof DestAttrs]: DestAttrs[K] } = { ...EMPTY_ATTRS, body };
  const extra: Record<string, string> = {};
  const seen = new Set<string>();
  for (const part of body.split(";")) {
    if (part.trim() === "") continue;
    const eq = part.indexOf("=");
    const key = (eq >= 0 ? part.slice(0, eq) : part).trim().toLowerCase();
    const val = eq >= 0 ? part.slice(eq + 1).trim() : "";
    if (key === "") throw new Error(`attrs: empty key in '${part}'`);
    if (seen.has(key)) throw new Error(`attrs: key '${key}' given twice`);
    seen.add(key);
    switch (key) {
      case "duid":
        if (val === "") throw new Error("attrs: duid is empty");
        a.duid = val;
        break;
      case "maxload":
        a.maxload = int(key, val, 0, 2 ** 31 - 1);
        break;
      case "weight":
        a.weight = int(key, val, 1, 100);
        break;
      case "rweight":
        a.rweight = int(key, val, 1, 100);
        break;
      case "cc":
        a.cc = int(key, val, 0, 1);
        break;
      case "socket":
        if (!SOCKET_RE.test(val)) throw new Error(`attrs: socket='${val}' is not proto:ip:port`);
        a.socket = val;
        break;
      case "sockname":
        if (val === "") throw new Error("attrs: sockname is empty");
        a.sockname = val;
        break;
      case "ping_from":
        if (!/^sips?:/i.test(val)) throw new Error(`attrs: ping_from='${val}' is not a SIP URI`);
        a.pingFrom = val;
        break;
      case "obproxy":
        if (!/^sips?:/i.test(val)) throw new Error(`attrs: obproxy='${val}' is not a SIP URI`);
        a.obproxy = val;
        break;
      case "latency":
        a.latency = int(key, val, 0, 600_000);
        break;
      case "ocmin":
        a.ocmin = int(key, val, 0, 100);
        break;
      case "ocmax":
        a.ocmax = int(key, val, 0, 100);
        break;
      case "ocrate":
        a.ocrate = int(key, val, 0, 100);
        break;
      default:
        extra[key] = val;
    }
  }
  // Same normalisation as Kamailio's ds_set_attrs for the overload-control trio.
  if (a.ocmax === 0) a.ocmax = 100;
  if (a.ocmin > a.ocmax) a.ocmin = 0;
  if (a.ocrate < a.ocmin) a.ocrate = a.ocmin;
  if (a.ocrate > a.ocmax) a.ocrate = a.ocmax;
  return Object.freeze({ ...a, extra: Object.freeze(extra) });
}

/** The ATTRS structure of `dispatcher.list` (Kamailio key names), plus the opaque keys. */
export function attrsToRpc(a: DestAttrs, probingCount: number, rweight: number): Record<string, unknown> {
  return {
    BODY: a.body,
    DUID: a.duid,
    PROBING_COUNT: probingCount,
    MAXLOAD: a.maxload,
    WEIGHT: a.weight,
    RWEIGHT: rweight,
    SOCKET: a.socket,
    SOCKNAME: a.sockname,
    OBPROXY: a.obproxy,
    OCMIN: a.ocmin,
    OCMAX: a.ocmax,
    ...Object.fromEntries(Object.entries(a.extra).map(([k, v]) => [k.toUpperCase(), v])),
  };
}
