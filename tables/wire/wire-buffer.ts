/**
 * Minimal protobuf wire primitives over a Node `Buffer` for the bulk table path: a growable
 * writer and a cursor reader. protobuf-es's reflective `toBinary` spends about 6 µs per small
 * row; a million prefix rows need a writer that never allocates per field (protobuf wire
 * format: https://protobuf.dev/programming-guides/encoding/).
 *
 * @example
 *   const w = new WireWriter(1024); w.tag(1, WIRE_LEN); w.string("abc", 3, true);
 *   const r = new WireReader(w.finish()); const tag = r.varint32();
 */

/** Wire type of varint fields (int32, uint32, bool, enum). */
export const WIRE_VARINT = 0;
/** Wire type of 64-bit fixed fields (double). */
export const WIRE_I64 = 1;
/** Wire type of length-delimited fields (string, bytes, messages, packed). */
export const WIRE_LEN = 2;
/** Wire type of 32-bit fixed fields (float). */
export const WIRE_I32 = 5;

/** Bytes a non-negative 32-bit varint takes. Negative int32 values always take 10 bytes. */
export function varintSize(v: number): number {
  if (v < 0) return 10;
  if (v < 0x80) return 1;
  if (v < 0x4000) return 2;
  if (v < 0x200000) return 3;
  if (v < 0x10000000) return 4;
  return 5;
}

/**
 * UTF-8 byte length of a string plus whether it is pure ASCII, packed as
 * `bytes * 2 + (ascii ? 1 : 0)` so the hot loop allocates nothing. Short strings (the 5–30
 * character values routing tables are made of) are scanned in JS, which beats a native call.
 */
export function utf8SizePacked(s: string): number {
  const n = s.length;
  if (n <= 64) {
    let i = 0;
    while (i < n && s.charCodeAt(i) < 0x80) i++;
    if (i === n) return n * 2 + 1;
  }
  return Buffer.byteLength(s, "utf8") * 2;
}

/** Growable write buffer; `pos` is the number of bytes written. */
export class WireWriter {
  buf: Buffer;
  pos = 0;

  constructor(capacity: number) {
    this.buf = Buffer.allocUnsafe(Math.max(64, capacity));
  }

  /** Makes room for `n` more bytes. */
  ensure(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    let cap = this.buf.length * 2;
    while (cap < this.pos + n) cap *= 2;
    const next = Buffer.allocUnsafe(cap);
    this.buf.copy(next, 0, 0, this.pos);
    this.buf = next;
  }

  /** Writes a 32-bit value as varint; negative values are sign-extended to 64 bits (int32 rule). */
  varint(v: number): void {
    const b = this.buf;
    let p = this.pos;
    if (v >= 0) {
      while (v > 0x7f) {
        b[p++] = (v & 0x7f) | 0x80;
        v = v >>> 7;
      }
      b[p++] = v;
    } else {
      let lo = v >>> 0;
      let hi = 0xffffffff;
      for (let i = 0; i < 9; i++) {
        b[p++] = (lo & 0x7f) | 0x80;
        lo = (lo >>> 7) | ((hi & 0x7f) << 25);
        hi = hi >>> 7;
      }
      b[p++] = 1;
    }
    this.pos = p;
  }

  /** Writes a field tag. */
  tag(fieldNo: number, wireType: number): void {
    this.varint(((fieldNo << 3) | wireType) >>> 0);
  }

  /** Writes a length-prefixed string whose byte length (and ASCII-ness) was measured already. */
  string(s: string, bytes: number, ascii: boolean): void {
    this.varint(bytes);
    const b = this.buf;
    let p = this.pos;
    if (ascii) {
      for (let i = 0; i < bytes; i++) b[p++] = s.charCodeAt(i);
    } else {
      p += b.write(s, p, bytes, "utf8");
    }
    this.pos = p;
  }

  /** Writes a little-endian IEEE 754 double. */
  double(v: number): void {
    this.buf.writeDoubleLE(v, this.pos);
    this.pos += 8;
  }

  /** Copies raw bytes. */
  raw(bytes: Uint8Array): void {
    this.ensure(bytes.length);
    this.buf.set(bytes, this.pos);
    this.pos += bytes.length;
  }

  /** Returns a copy of the written bytes (the writer can then be reset and reused). */
  finish(): Buffer {
    return Buffer.from(this.buf.subarray(0, this.pos));
  }

  reset(): void {
    this.pos = 0;
  }
}

/** Error raised for bytes that are not valid protobuf; the caller turns it into a NACK or cache miss. */
export class WireFormatError extends Error {
  override readonly name = "WireFormatError";
}

/** Cursor over a buffer; methods advance `pos`. */
export class WireReader {
  pos: number;

  constructor(
    readonly buf: Buffer,
    start = 0,
    readonly end = buf.length,
  ) {
    this.pos = start;
  }

  /** Reads a varint and returns its low 32 bits as an unsigned number. */
  varint32(): number {
    const b = this.buf;
    let p = this.pos;
    let r = 0;
    let shift = 0;
    let byte: number;
    do {
      if (p >= this.end) throw new WireFormatError("truncated varint");
      byte = b[p++]!;
      if (shift < 32) r |= (byte & 0x7f) << shift;
      shift += 7;
    } while (byte & 0x80 && shift < 70);
    if (byte & 0x80) throw new WireFormatError("varint longer than 10 bytes");
    this.pos = p;
    return r >>> 0;
  }

  /** Reads a varint that may exceed 32 bits (int64 / uint64) as a JS number (exact up to 2^53). */
  varint64(): number {
    const b = this.buf;
    let p = this.pos;
    let r = 0;
    let mul = 1;
    let byte: number;
    let i = 0;
    do {
      if (p >= this.end) throw new WireFormatError("truncated varint");
      byte = b[p++]!;
      if (i < 9) r += (byte & 0x7f) * mul;
      mul *= 128;
      i++;
    } while (byte & 0x80 && i < 10);
    this.pos = p;
    // Ten-byte varints are negative int64 values (two's complement).
    return i === 10 ? r - 2 ** 63 * 2 : r;
  }

  /** Reads a length prefix and checks it fits. */
  length(): number {
    const n = this.varint32();
    if (this.pos + n > this.end) throw new WireFormatError(`length ${n} runs past the end`);
    return n;
  }

  double(): number {
    if (this.pos + 8 > this.end) throw new WireFormatError("truncated double");
    const v = this.buf.readDoubleLE(this.pos);
    this.pos += 8;
    return v;
  }

  /** Reads a length-prefixed UTF-8 string. */
  string(): string {
    const n = this.length();
    if (n === 0) return "";
    const s = this.buf.toString("utf8", this.pos, this.pos + n);
    this.pos += n;
    return s;
  }

  /** Skips one field value of the given wire type (unknown fields: forward compatibility). */
  skip(wireType: number): void {
    switch (wireType) {
      case WIRE_VARINT:
        this.varint32();
        return;
      case WIRE_I64:
        this.pos += 8;
        break;
      case WIRE_LEN:
        this.pos += this.length();
        return;
      case WIRE_I32:
        this.pos += 4;
        break;
      default:
        throw new WireFormatError(`unsupported wire type ${wireType}`);
    }
    if (this.pos > this.end) throw new WireFormatError("truncated field");
  }
}
