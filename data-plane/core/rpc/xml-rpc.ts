import { RpcCode, RpcError } from "../../../lib/rpc/errors.js";
import { XmlParseError, escapeXml, parseXml, type XmlElement, type XmlLimits } from "./xml-parse.js";

/**
 * XML-RPC codec (http://xmlrpc.com/spec.md) so tools written for Kamailio's xmlrpc module can
 * call Olelo. Types: int/i4 (plus the common i8 extension), boolean, string (also untyped
 * `<value>text</value>`), double, dateTime.iso8601, base64, struct, array and nil. Faults carry
 * the RpcError code as faultCode; XML/request problems use the xmlrpc-epi interop codes, which are
 * the same numbers as JSON-RPC's (-32700 parse error, -32600 invalid request, ...).
 *
 * Decoded values: int → number, boolean → boolean, dateTime → Date (UTC when no zone is given),
 * base64 → Buffer, struct → plain object, array → array, nil → null.
 *
 * @example
 *   const { method, params } = decodeMethodCall(body);
 *   res.end(encodeMethodResponse(await registry.call(method, params, info)));
 */
export interface XmlRpcCall {
  readonly method: string;
  readonly params: unknown[];
}

const INT32_MIN = -2147483648;
const INT32_MAX = 2147483647;
const MAX_ENCODE_DEPTH = 64;

/** Parses a `<methodCall>` document; throws RpcError (-32700 for bad XML, -32600 for bad structure). */
export function decodeMethodCall(xml: string, limits?: XmlLimits): XmlRpcCall {
  const root = parseOrThrow(xml, limits);
  if (root.name !== "methodCall") throw invalid(`root element must be <methodCall>, got <${root.name}>`);
  const nameEl = only(root, "methodName", true)!;
  const method = textOf(nameEl).trim();
  if (!/^[A-Za-z0-9_.:/-]{1,128}$/.test(method)) throw invalid(`bad methodName '${method.slice(0, 64)}'`);
  const paramsEl = only(root, "params", false);
  const params: unknown[] = [];
  if (paramsEl) {
    for (const p of elements(paramsEl)) {
      if (p.name !== "param") throw invalid(`<params> may only contain <param>, got <${p.name}>`);
      params.push(decodeValue(only(p, "value", true)!));
    }
  }
  return { method, params };
}

/** Parses a `<methodResponse>`; returns the value or throws RpcError carrying the fault. */
export function decodeMethodResponse(xml: string, limits?: XmlLimits): unknown {
  const root = parseOrThrow(xml, limits);
  if (root.name !== "methodResponse") throw invalid(`root element must be <methodResponse>, got <${root.name}>`);
  const fault = only(root, "fault", false);
  if (fault) {
    const v = decodeValue(only(fault, "value", true)!) as { faultCode?: unknown; faultString?: unknown };
    throw new RpcError(typeof v?.faultCode === "number" ? v.faultCode : RpcCode.ServerError, String(v?.faultString ?? "fault"));
  }
  const params = only(root, "params", true)!;
  const param = only(params, "param", true)!;
  return decodeValue(only(param, "value", true)!);
}

/** Decodes one `<value>` element. */
export function decodeValue(el: XmlElement): unknown {
  if (el.children.every((c) => typeof c === "string")) return textOf(el); // untyped = string
  const kids = elements(el);
  if (kids.length > 1) throw invalid("<value> holds more than one typed element");
  const t = kids[0]!;
  const text = () => textOf(t);
  switch (t.name) {
    case "i4":
    case "int":
    case "i8": {
      const s = text().trim();
      if (!/^[+-]?\d{1,19}$/.test(s)) throw invalid(`bad <${t.name}> '${s.slice(0, 32)}'`);
      const n = Number(s);
      const ok = t.name === "i8" ? Number.isSafeInteger(n) : n >= INT32_MIN && n <= INT32_MAX;
      if (!ok) throw invalid(`<${t.name}> out of range: ${s}`);
      return n;
    }
    case "boolean": {
      const s = text().trim();
      if (s === "1" || s === "true") return true;
      if (s === "0" || s === "false") return false;
      throw invalid(`bad <boolean> '${s.slice(0, 32)}'`);
    }
    case "string":
      return text();
    case "double": {
      const s = text().trim();
      if (!/^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(s)) throw invalid(`bad <double> '${s.slice(0, 32)}'`);
      return Number(s);
    }
    case "dateTime.iso8601":
      return parseIsoDate(text().trim());
    case "base64": {
      const s = text().replace(/[ \t\r\n]+/g, "");
      if (!/^[A-Za-z0-9+/]*={0,2}$/.test(s) || s.length % 4 === 1) throw invalid("bad <base64>");
      return Buffer.from(s, "base64");
    }
    case "nil":
    case "ex:nil":
      return null;
    case "array": {
      const data = only(t, "data", true)!;
      return elements(data).map((v) => {
        if (v.name !== "value") throw invalid(`<data> may only contain <value>, got <${v.name}>`);
        return decodeValue(v);
      });
    }
    case "struct": {
      const out: Record<string, unknown> = {};
      for (const m of elements(t)) {
        if (m.name !== "member") throw invalid(`<struct> may only contain <member>, got <${m.name}>`);
        const name = textOf(only(m, "name", true)!);
        // defineProperty, so a member called "__proto__" is data, never a prototype switch
        Object.defineProperty(out, name, { value: decodeValue(only(m, "value", true)!), enumerable: true, writable: true, configurable: true });
      }
      return out;
    }
    default:
      throw invalid(`unknown value type <${t.name}>`);
  }
}

/** Encodes a successful result as a `<methodResponse>` document. */
export function encodeMethodResponse(value: unknown): string {
  return `<?xml version="1.0"?>\n<methodResponse><params><param>${encodeValue(value)}</param></params></methodResponse>\n`;
}

/** Encodes a fault response. */
export function encodeFault(code: number, message: string): string {
  const v = encodeValue({ faultCode: Math.trunc(code), faultString: message });
  return `<?xml version="1.0"?>\n<methodResponse><fault>${v}</fault></methodResponse>\n`;
}

/** Encodes a `<methodCall>` document (clients and tests). */
export function encodeMethodCall(method: string, params: readonly unknown[]): string {
  const ps = params.map((p) => `<param>${encodeValue(p)}</param>`).join("");
  return `<?xml version="1.0"?>\n<methodCall><methodName>${escapeXml(method)}</methodName><params>${ps}</params></methodCall>\n`;
}

/** Encodes one JS value as `<value>…</value>`. */
export function encodeValue(v: unknown, depth = 0): string {
  if (depth > MAX_ENCODE_DEPTH) throw new RpcError(RpcCode.InternalError, `result nested deeper than ${MAX_ENCODE_DEPTH}`);
  if (v === null || v === undefined) return "<value><nil/></value>";
  switch (typeof v) {
    case "boolean":
      return `<value><boolean>${v ? 1 : 0}</boolean></value>`;
    case "number":
      if (Number.isInteger(v) && v >= INT32_MIN && v <= INT32_MAX) return `<value><int>${v}</int></value>`;
      if (Number.isSafeInteger(v)) return `<value><i8>${v}</i8></value>`;
      if (Number.isFinite(v)) return `<value><double>${v}</double></value>`;
      return `<value><string>${String(v)}</string></value>`;
    case "bigint":
      return `<value><i8>${v}</i8></value>`;
    case "string":
      return `<value><string>${escapeXml(v)}</string></value>`;
    case "object":
      break;
    default:
      return `<value><string>${escapeXml(String(v))}</string></value>`;
  }
  if (v instanceof Date) return `<value><dateTime.iso8601>${formatIsoDate(v)}</dateTime.iso8601></value>`;
  if (v instanceof Uint8Array) return `<value><base64>${Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString("base64")}</base64></value>`;
  if (Array.isArray(v)) return `<value><array><data>${v.map((x) => encodeValue(x, depth + 1)).join("")}</data></array></value>`;
  let members = "";
  for (const [k, x] of Object.entries(v as Record<string, unknown>)) {
    members += `<member><name>${escapeXml(k)}</name>${encodeValue(x, depth + 1)}</member>`;
  }
  return `<value><struct>${members}</struct></value>`;
}

/** XML-RPC's dateTime form, "19980717T14:08:55", always in UTC. */
export function formatIsoDate(d: Date): string {
  const p = (n: number) => String(n).padStart(2, "0");
  return `${d.getUTCFullYear()}${p(d.getUTCMonth() + 1)}${p(d.getUTCDate())}T${p(d.getUTCHours())}:${p(d.getUTCMinutes())}:${p(d.getUTCSeconds())}`;
}

function parseIsoDate(s: string): Date {
  const m = /^(\d{4})-?(\d{2})-?(\d{2})T(\d{2}):?(\d{2}):?(\d{2})(\.\d+)?(Z|[+-]\d{2}:?\d{2})?$/.exec(s);
  if (!m) throw invalid(`bad <dateTime.iso8601> '${s.slice(0, 40)}'`);
  const [, y, mo, d, h, mi, sec, frac, tz] = m;
  let ms = Date.UTC(+y!, +mo! - 1, +d!, +h!, +mi!, +sec!, frac ? Math.round(Number(frac) * 1000) : 0);
  if (tz && tz !== "Z") {
    const sign = tz[0] === "-" ? -1 : 1;
    const digits = tz.slice(1).replace(":", "");
    ms -= sign * (Number(digits.slice(0, 2)) * 60 + Number(digits.slice(2))) * 60_000;
  }
  const date = new Date(ms);
  if (Number.isNaN(date.getTime()) || +mo! < 1 || +mo! > 12 || +d! < 1 || +d! > 31 || +h! > 23 || +mi! > 59 || +sec! > 60) {
    throw invalid(`bad <dateTime.iso8601> '${s}'`);
  }
  return date;
}

function parseOrThrow(xml: string, limits?: XmlLimits): XmlElement {
  try {
    return parseXml(xml, limits);
  } catch (e) {
    if (e instanceof XmlParseError) throw new RpcError(RpcCode.ParseError, `XML parse error: ${e.message}`);
    throw e;
  }
}

function elements(el: XmlElement): XmlElement[] {
  const out: XmlElement[] = [];
  for (const c of el.children) {
    if (typeof c !== "string") out.push(c);
    else if (c.trim() !== "") throw invalid(`unexpected text inside <${el.name}>`);
  }
  return out;
}

function only(el: XmlElement, name: string, required: boolean): XmlElement | undefined {
  const found = elements(el).filter((c) => c.name === name);
  if (found.length > 1) throw invalid(`<${el.name}> has more than one <${name}>`);
  if (required && found.length === 0) throw invalid(`<${el.name}> lacks <${name}>`);
  return found[0];
}

function textOf(el: XmlElement): string {
  let s = "";
  for (const c of el.children) {
    if (typeof c === "string") s += c;
    else throw invalid(`<${el.name}> must hold text, found <${c.name}>`);
  }
  return s;
}

function invalid(msg: string): RpcError {
  return new RpcError(RpcCode.InvalidRequest, `invalid XML-RPC: ${msg}`);
}
