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
    public readonly text: string,
  ) {}
}

const EMPTY: readonly HeaderField[] = [];

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
  fields: HeaderField[] = [];
  headersEnd = 0;
  bodyStart = 0;
  bodyEnd = 0;
  /** Edits applied on serialize. */
  patches: Patch[] | null = null;
  /** Cache of the top Via with received/rport (proxy/builders.ts viaWithReceived). */
  viaReceived: { value: string; changed: boolean } | null = null;

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

  /** Finds the first field with this (canonical, lower-case) name. */
  field(name: string): HeaderField | undefined {
    const f = this.fields;
    for (let i = 0; i < f.length; i++) if (f[i]!.name === name) return f[i];
    return undefined;
  }

  /** The n-th (0-based) field with this canonical name, or undefined. */
  fieldAt(name: string, index: number): HeaderField | undefined {
    let i = 0;
    for (const f of this.fields) if (f.name === name && i++ === index) return f;
    return undefined;
  }

  fieldsNamed(name: string): HeaderField[] {
    const out: HeaderField[] = [];
    for (const f of this.fields) if (f.name === name) out.push(f);
    return out;
  }

  countOf(name: string): number {
    let n = 0;
    for (const f of this.fields) if (f.name === name) n++;
    return n;
  }

  valueOf(f: HeaderField): string {
    const v = this.raw.slice(f.valueStart, f.valueEnd);
    return f.folded ? v.replace(/\r?\n[ \t]+/g, " ") : v;
  }

  header(name: string): string | null {
    const f = this.field(canonicalName(name));
    return f ? this.valueOf(f) : null;
  }

  headerAll(name: string): string[] {
    const c = canonicalName(name);
    const out: string[] = [];
    for (const f of this.fields) if (f.name === c) out.push(this.valueOf(f));
    return out;
  }

  headerValues(name: string): string[] {
    const out: string[] = [];
    for (const v of this.headerAll(name)) for (const p of splitList(v)) if (p.length) out.push(p);
    return out;
  }

  hasHeader(name: string): boolean {
    return this.field(canonicalName(name)) !== undefined;
  }

  // ---------------------------------------------------------------- parsed headers (lazy)

  /** The Request-URI as received, parsed (null when not a SIP/SIPS/TEL URI). */
  get ruriParsed(): SipUri | null {
    if (this._ruri === undefined) this._ruri = this.isRequest ? parseUri(this.requestUri) : null;
    return this._ruri;
  }

  get callId(): string {
    if (this._callId === undefined) {
      const f = this.field("call-id");
      this._callId = f ? this.valueOf(f).trim() : "";
    }
    return this._callId;
  }

  /** Parsed CSeq or null when absent/malformed. */
  get cseqOrNull(): CSeq | null {
    if (this._cseq === undefined) {
      const f = this.field("cseq");
      this._cseq = f ? parseCSeq(this.valueOf(f)) : null;
    }
    return this._cseq;
  }

  get cseq(): CSeq {
    return this.cseqOrNull ?? { seq: 0, method: "" };
  }

  get fromOrNull(): NameAddr | null {
    if (this._from === undefined) {
      const f = this.field("from");
      this._from = f ? parseNameAddr(this.valueOf(f)) : null;
    }
    return this._from;
  }

  get toOrNull(): NameAddr | null {
    if (this._to === undefined) {
      const f = this.field("to");
      this._to = f ? parseNameAddr(this.valueOf(f)) : null;
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
      const f = this.field("via");
      if (!f) this._topVia = null;
      else {
        const v = this.valueOf(f);
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
      for (const f of this.fields) {
        if (f.name !== "via") continue;
        for (const part of splitList(this.valueOf(f))) {
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
      const f = this.field("max-forwards");
      this._maxFwd = f ? parseUint(this.valueOf(f), 255) : null;
    }
    return this._maxFwd;
  }

  /** Contacts; null when any Contact value is malformed. */
  contactsOrNull(): NameAddr[] | "*" | null {
    if (this._contacts === undefined) {
      const fs = this.fieldsNamed("contact");
      if (fs.length === 1 && this.valueOf(fs[0]!).trim() === "*") this._contacts = "*";
      else {
        const out: NameAddr[] = [];
        let bad = false;
        for (const f of fs) {
          for (const part of splitList(this.valueOf(f))) {
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
    return this.header("content-type");
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
    if (ensureContentLength && !this.field("content-length")) {
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
  if (ensureContentLength && !m.field("content-length")) {
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
