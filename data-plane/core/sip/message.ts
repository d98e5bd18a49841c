import type { CSeq, NameAddr, SipUri, Via } from "../../../lib/sip/types.js";
import { parseUri } from "../../../lib/sip/uri.js";
import type { SipMessageView } from "./view.js";
import { canonicalName } from "./header-names.js";
import { parseCSeq, parseNameAddr, parseUint, parseVia, splitList } from "./header-values.js";

/**
 * The SIP message (RFC 3261 §7): one latin1 string of the bytes as received plus an index of the
 * header lines, built in one pass. Header values are parsed only when asked for and cached.
 * Changes (new Via, Record-Route, removed Route, rewritten R-URI, body) are recorded as patches
 * (Kamailio's lumps) and applied by `serialize`, so everything else passes through byte-exact.
 */

/** One header line (or folded lines) in the raw message. */
export class HeaderField {
  constructor(
    /** lower-cased full name */
    public readonly name: string,
    /** offset of the first character of the field */
    public readonly start: number,
    public readonly valueStart: number,
    public valueEnd: number,
    /** offset just past the field's final line terminator */
    public end: number,
    public folded: boolean,
  ) {}
}

/** A change applied when the message is serialized: replace raw[start, end) by text. */
export class Patch {
  constructor(
    public readonly start: number,
    public readonly end: number,
    /** rewritable: a second setHeader of the same header replaces its text (script/request-context.ts) */
    public text: string,
  ) {}
}

const EMPTY_IDX: number[] = [];
const EMPTY_NAMES: string[] = [];

/** Numbers per header field in `SipMessage.idx`. */
export const FIELD_STRIDE = 5;

export class SipMessage implements SipMessageView {
  isRequest = false;
  method = "";
  requestUri = "";
  ruriStart = 0;
  ruriEnd = 0;
  version = "";
  status = 0;
  reason = "";
  startLineEnd = 0;
  /**
   * The header index, flat: per field FIELD_STRIDE numbers [start, valueStart, valueEnd, end,
   * folded] (see HeaderField), and its canonical name in `names`. No object per header: a
   * HeaderField is built only when someone asks for one (`fields`, `field`).
   */
  idx: number[] = EMPTY_IDX;
  names: string[] = EMPTY_NAMES;
  private _fieldObjs: HeaderField[] | null = null;
  private _allFields = false;
  headersEnd = 0;
  bodyStart = 0;
  bodyEnd = 0;
  /** Edits applied on serialize. */
  patches: Patch[] | null = null;
  /** Cache of the top Via with received/rport (proxy/builders.ts viaWithReceived). */
  viaReceived: { value: string; changed: boolean } | null = null;
  /** Cache of the server transaction key for the request's own method (tm/transaction.ts serverKey). */
  serverKey: string | null = null;

  private _callId: string | undefined = undefined;
  private _cseq: CSeq | null | undefined = undefined;
  private _from: NameAddr | null | undefined = undefined;
  private _to: NameAddr | null | undefined = undefined;
  private _topVia: Via | null | undefined = undefined;
  private _vias: Via[] | null | undefined = undefined;
  private _maxFwd: number | null | undefined = undefined;
  private _contacts: NameAddr[] | "*" | null | undefined = undefined;
  private _ruri: SipUri | null | undefined = undefined;

  /** The bytes the message was parsed from, when it came from the network (same offsets as `raw`). */
  buf: Buffer | null = null;

  constructor(public readonly raw: string) {}

  // ---------------------------------------------------------------- header access

  /** Every header field in order (HeaderField objects, built on the first call and kept). */
  get fields(): readonly HeaderField[] {
    const n = this.names.length;
    const objs = (this._fieldObjs ??= new Array<HeaderField>(n));
    if (!this._allFields) {
      for (let i = 0; i < n; i++) if (objs[i] === undefined) objs[i] = this.makeField(i);
      this._allFields = true;
    }
    return objs;
  }

  /** The HeaderField of index i (the same object `fields` holds). */
  fieldObj(i: number): HeaderField {
    const objs = (this._fieldObjs ??= new Array<HeaderField>(this.names.length));
    return (objs[i] ??= this.makeField(i));
  }

  private makeField(i: number): HeaderField {
    const x = this.idx;
    const o = i * FIELD_STRIDE;
    return new HeaderField(this.names[i]!, x[o]!, x[o + 1]!, x[o + 2]!, x[o + 3]!, x[o + 4] === 1);
  }

  /** Number of header fields. */
  get fieldCount(): number {
    return this.names.length;
  }

  /** Index of the first field with this canonical name at or after `from`, or -1. */
  indexOf(name: string, from = 0): number {
    const ns = this.names;
    for (let i = from; i < ns.length; i++) if (ns[i] === name) return i;
    return -1;
  }

  /** Offsets of field i: start, value start/end, end (past its line terminator). */
  startAt(i: number): number {
    return this.idx[i * FIELD_STRIDE]!;
  }
  valueStartAt(i: number): number {
    return this.idx[i * FIELD_STRIDE + 1]!;
  }
  valueEndAt(i: number): number {
    return this.idx[i * FIELD_STRIDE + 2]!;
  }
  endAt(i: number): number {
    return this.idx[i * FIELD_STRIDE + 3]!;
  }
  foldedAt(i: number): boolean {
    return this.idx[i * FIELD_STRIDE + 4] === 1;
  }

  /** Value of field i (folded lines joined by one space). */
  valueAt(i: number): string {
    const x = this.idx;
    const o = i * FIELD_STRIDE;
    const v = this.raw.slice(x[o + 1]!, x[o + 2]!);
    return x[o + 4] === 1 ? v.replace(/\r?\n[ \t]+/g, " ") : v;
  }

  /** Finds the first field with this (canonical, lower-case) name. */
  field(name: string): HeaderField | undefined {
    const i = this.indexOf(name);
    return i < 0 ? undefined : this.fieldObj(i);
  }

  /** The n-th (0-based) field with this canonical name, or undefined. */
  fieldAt(name: string, index: number): HeaderField | undefined {
    const ns = this.names;
    let k = 0;
    for (let i = 0; i < ns.length; i++) if (ns[i] === name && k++ === index) return this.fieldObj(i);
    return undefined;
  }

  fieldsNamed(name: string): HeaderField[] {
    const out: HeaderField[] = [];
    const ns = this.names;
    for (let i = 0; i < ns.length; i++) if (ns[i] === name) out.push(this.fieldObj(i));
    return out;
  }

  countOf(name: string): number {
    const ns = this.names;
    let n = 0;
    for (let i = 0; i < ns.length; i++) if (ns[i] === name) n++;
    return n;
  }

  valueOf(f: HeaderField): string {
    const v = this.raw.slice(f.valueStart, f.valueEnd);
    return f.folded ? v.replace(/\r?\n[ \t]+/g, " ") : v;
  }

  /** Value of the first field with this canonical name, or null. */
  valueNamed(name: string): string | null {
    const i = this.indexOf(name);
    return i < 0 ? null : this.valueAt(i);
  }

  header(name: string): string | null {
    return this.valueNamed(canonicalName(name));
  }

  headerAll(name: string): string[] {
    const c = canonicalName(name);
    const out: string[] = [];
    const ns = this.names;
    for (let i = 0; i < ns.length; i++) if (ns[i] === c) out.push(this.valueAt(i));
    return out;
  }

  headerValues(name: string): string[] {
    const out: string[] = [];
    for (const v of this.headerAll(name)) for (const p of splitList(v)) if (p.length) out.push(p);
    return out;
  }

  hasHeader(name: string): boolean {
    return this.indexOf(canonicalName(name)) >= 0;
  }

  // ---------------------------------------------------------------- parsed headers (lazy)

  /** The Request-URI as received, parsed (null when not a SIP/SIPS/TEL URI). */
  get ruriParsed(): SipUri | null {
    if (this._ruri === undefined) this._ruri = this.isRequest ? parseUri(this.requestUri) : null;
    return this._ruri;
  }

  get callId(): string {
    if (this._callId === undefined) {
      const v = this.valueNamed("call-id");
      this._callId = v !== null ? v.trim() : "";
    }
    return this._callId;
  }

  /** Parsed CSeq or null when absent/malformed. */
  get cseqOrNull(): CSeq | null {
    if (this._cseq === undefined) {
      const v = this.valueNamed("cseq");
      this._cseq = v !== null ? parseCSeq(v) : null;
    }
    return this._cseq;
  }

  get cseq(): CSeq {
    return this.cseqOrNull ?? { seq: 0, method: "" };
  }

  get fromOrNull(): NameAddr | null {
    if (this._from === undefined) {
      const v = this.valueNamed("from");
      this._from = v !== null ? parseNameAddr(v) : null;
    }
    return this._from;
  }

  get toOrNull(): NameAddr | null {
    if (this._to === undefined) {
      const v = this.valueNamed("to");
      this._to = v !== null ? parseNameAddr(v) : null;
    }
    return this._to;
  }

  get from(): NameAddr {
    return this.fromOrNull ?? NULL_ADDR;
  }

  get to(): NameAddr {
    return this.toOrNull ?? NULL_ADDR;
  }

  get fromTag(): string | null {
    return this.fromOrNull?.tag ?? null;
  }

  get toTag(): string | null {
    return this.toOrNull?.tag ?? null;
  }

  /** Top Via or null when absent/malformed. */
  get topViaOrNull(): Via | null {
    if (this._topVia === undefined) {
      const v = this.valueNamed("via");
      if (v === null) this._topVia = null;
      else {
        const comma = firstListComma(v);
        this._topVia = parseVia(comma < 0 ? v : v.slice(0, comma));
      }
    }
    return this._topVia;
  }

  get topVia(): Via {
    return this.topViaOrNull ?? NULL_VIA;
  }

  /** All Via values, top first; null if any is malformed. */
  get viasOrNull(): Via[] | null {
    if (this._vias === undefined) {
      const out: Via[] = [];
      let bad = false;
      const ns = this.names;
      for (let fi = 0; fi < ns.length; fi++) {
        if (ns[fi] !== "via") continue;
        for (const part of splitList(this.valueAt(fi))) {
          const v = parseVia(part);
          if (!v) {
            bad = true;
            break;
          }
          out.push(v);
        }
        if (bad) break;
      }
      this._vias = bad ? null : out;
    }
    return this._vias;
  }

  get vias(): readonly Via[] {
    return this.viasOrNull ?? [];
  }

  get maxForwards(): number | null {
    if (this._maxFwd === undefined) {
      const v = this.valueNamed("max-forwards");
      this._maxFwd = v !== null ? parseUint(v, 255) : null;
    }
    return this._maxFwd;
  }

  /** Contacts; null when any Contact value is malformed. */
  contactsOrNull(): NameAddr[] | "*" | null {
    if (this._contacts === undefined) {
      const fs: string[] = [];
      for (let i = 0; i < this.names.length; i++) if (this.names[i] === "contact") fs.push(this.valueAt(i));
      if (fs.length === 1 && fs[0]!.trim() === "*") this._contacts = "*";
      else {
        const out: NameAddr[] = [];
        let bad = false;
        for (const fv of fs) {
          for (const part of splitList(fv)) {
            const na = part === "*" ? null : parseNameAddr(part);
            if (!na) {
              bad = true;
              break;
            }
            out.push(na);
          }
          if (bad) break;
        }
        this._contacts = bad ? null : out;
      }
    }
    return this._contacts;
  }

  contacts(): readonly NameAddr[] | "*" {
    return this.contactsOrNull() ?? [];
  }

  get body(): string {
    return this.raw.slice(this.bodyStart, this.bodyEnd);
  }

  get contentType(): string | null {
    return this.valueNamed("content-type");
  }

  get size(): number {
    return this.raw.length;
  }

  // ---------------------------------------------------------------- edits

  addPatch(start: number, end: number, text: string): void {
    (this.patches ??= []).push(new Patch(start, end, text));
  }

  /**
   * Writes the message with its patches (and any extra per-branch patches) applied.
   * `ensureContentLength` adds a Content-Length header when the message has none (streams need it).
   */
  serialize(extra?: readonly Patch[] | null, ensureContentLength = false): string {
    let ps: Patch[] | null = this.patches;
    if (extra && extra.length) ps = ps ? ps.concat(extra) : extra.slice();
    if (ensureContentLength && this.indexOf("content-length") < 0) {
      const p = new Patch(this.headersEnd, this.headersEnd, `Content-Length: ${this.bodyEnd - this.bodyStart}\r\n`);
      ps = ps ? ps.concat([p]) : [p];
    }
    const raw = this.raw;
    if (!ps || ps.length === 0) {
      return this.bodyEnd === raw.length ? raw : raw.slice(0, this.bodyEnd);
    }
    if (ps.length > 1) ps = stableSortPatches(ps);
    let out = "";
    let pos = 0;
    for (let i = 0; i < ps.length; i++) {
      const p = ps[i]!;
      if (p.start < pos) continue; // overlaps an earlier edit: first edit wins
      out += raw.slice(pos, p.start) + p.text;
      pos = p.end;
    }
    return out + raw.slice(pos, this.bodyEnd);
  }
}

/**
 * Byte-level serialization: copies unchanged byte ranges straight from the received buffer and
 * writes only the patch texts, so unchanged bytes are never re-encoded (latin1 offsets equal byte
 * offsets). Falls back to the string path for messages built from strings.
 */
export function serializeBuffer(m: SipMessage, extra?: readonly Patch[] | null, ensureContentLength = false): Buffer {
  const src = m.buf;
  if (!src) return Buffer.from(m.serialize(extra, ensureContentLength), "latin1");
  let ps: Patch[] | null = m.patches;
  if (extra && extra.length) ps = ps ? ps.concat(extra) : extra.slice();
  if (ensureContentLength && m.indexOf("content-length") < 0) {
    const p = new Patch(m.headersEnd, m.headersEnd, `Content-Length: ${m.bodyEnd - m.bodyStart}\r\n`);
    ps = ps ? ps.concat([p]) : [p];
  }
  const end = m.bodyEnd;
  if (!ps || ps.length === 0) return end === src.length ? src : src.subarray(0, end);
  if (ps.length > 1) ps = stableSortPatches(ps);
  let total = 0;
  let pos = 0;
  for (let i = 0; i < ps.length; i++) {
    const p = ps[i]!;
    if (p.start < pos) continue;
    total += p.start - pos + p.text.length;
    pos = p.end;
  }
  total += end - pos;
  const out = Buffer.allocUnsafe(total);
  let o = 0;
  pos = 0;
  for (let i = 0; i < ps.length; i++) {
    const p = ps[i]!;
    if (p.start < pos) continue;
    o += src.copy(out, o, pos, p.start);
    if (p.text.length) o += out.write(p.text, o, "latin1");
    pos = p.end;
  }
  src.copy(out, o, pos, end);
  return out;
}

/** Copy of the patches in offset order, insertion order kept for equal offsets (few patches: insertion sort). */
function stableSortPatches(ps: Patch[]): Patch[] {
  const out = ps.slice();
  for (let i = 1; i < out.length; i++) {
    const p = out[i]!;
    let j = i - 1;
    while (j >= 0 && out[j]!.start > p.start) {
      out[j + 1] = out[j]!;
      j--;
    }
    out[j + 1] = p;
  }
  return out;
}

/** Index of the first comma outside quotes/angle brackets, or -1. */
export function firstListComma(v: string): number {
  if (v.indexOf(",") < 0) return -1;
  let q = false;
  let a = false;
  for (let i = 0; i < v.length; i++) {
    const c = v.charCodeAt(i);
    if (q) {
      if (c === 92) i++;
      else if (c === 34) q = false;
    } else if (c === 34) q = true;
    else if (c === 60) a = true;
    else if (c === 62) a = false;
    else if (c === 44 && !a) return i;
  }
  return -1;
}

const NULL_ADDR: NameAddr = {
  displayName: null,
  uriText: "",
  uri: null,
  params: new Map(),
  tag: null,
  angle: false,
  raw: "",
};
const NULL_VIA: Via = {
  protocol: "",
  transport: "",
  host: "",
  ipv6: false,
  port: null,
  branch: null,
  received: null,
  rport: null,
  params: new Map(),
  raw: "",
};
