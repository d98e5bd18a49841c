/**
 * Bencode (the BitTorrent encoding rtpengine's ng protocol uses): byte strings `<len>:<bytes>`,
 * integers `i<n>e`, lists `l…e` and dictionaries `d…e` with keys sorted as raw bytes.
 * Strings decode to JS strings through latin1, so every byte survives (SDP is 8-bit clean).
 */

export type BValue = string | number | BValue[] | { [key: string]: BValue };

/** Encodes a value; `undefined` / `null` entries of a dictionary are left out. */
export function bencode(v: BValue): Buffer {
  const parts: string[] = [];
  enc(v, parts);
  return Buffer.from(parts.join(""), "latin1");
}

function enc(v: BValue | null | undefined, out: string[]): void {
  if (typeof v === "string") {
    out.push(`${Buffer.byteLength(v, "latin1")}:`, v);
  } else if (typeof v === "number") {
    if (!Number.isInteger(v)) throw new TypeError(`bencode: ${v} is not an integer`);
    out.push(`i${v}e`);
  } else if (typeof v === "boolean") {
    out.push(v ? "i1e" : "i0e");
  } else if (Array.isArray(v)) {
    out.push("l");
    for (const x of v) enc(x, out);
    out.push("e");
  } else if (v && typeof v === "object") {
    out.push("d");
    for (const k of Object.keys(v).sort()) {
      const x = v[k];
      if (x === undefined || x === null) continue;
      enc(k, out);
      enc(x, out);
    }
    out.push("e");
  } else {
    throw new TypeError("bencode: unsupported value");
  }
}

export class BencodeError extends Error {}

/** Decodes one value spanning the whole buffer (or string); throws BencodeError on bad input. */
export function bdecode(input: Buffer | string): BValue {
  const s = typeof input === "string" ? input : input.toString("latin1");
  const [v, end] = dec(s, 0, 0);
  if (end !== s.length) throw new BencodeError(`bencode: trailing data at ${end}`);
  return v;
}

const MAX_DEPTH = 32;

function dec(s: string, i: number, depth: number): [BValue, number] {
  if (depth > MAX_DEPTH) throw new BencodeError("bencode: nested too deep");
  const c = s.charCodeAt(i);
  if (c >= 48 && c <= 57) {
    const colon = s.indexOf(":", i);
    if (colon < 0) throw new BencodeError(`bencode: string length without ':' at ${i}`);
    const lenText = s.slice(i, colon);
    if (!/^(0|[1-9]\d*)$/.test(lenText)) throw new BencodeError(`bencode: bad string length at ${i}`);
    const len = Number(lenText);
    const end = colon + 1 + len;
    if (end > s.length) throw new BencodeError(`bencode: string at ${i} runs past the end`);
    return [s.slice(colon + 1, end), end];
  }
  if (c === 105 /* i */) {
    const e = s.indexOf("e", i);
    if (e < 0) throw new BencodeError(`bencode: unterminated integer at ${i}`);
    const t = s.slice(i + 1, e);
    if (!/^(0|-?[1-9]\d*)$/.test(t)) throw new BencodeError(`bencode: bad integer '${t}' at ${i}`);
    return [Number(t), e + 1];
  }
  if (c === 108 /* l */) {
    const out: BValue[] = [];
    let j = i + 1;
    while (s.charCodeAt(j) !== 101) {
      if (j >= s.length) throw new BencodeError("bencode: unterminated list");
      const [v, n] = dec(s, j, depth + 1);
      out.push(v);
      j = n;
    }
    return [out, j + 1];
  }
  if (c === 100 /* d */) {
    const out: { [k: string]: BValue } = Object.create(null);
    let j = i + 1;
    while (s.charCodeAt(j) !== 101) {
      if (j >= s.length) throw new BencodeError("bencode: unterminated dictionary");
      const [k, n] = dec(s, j, depth + 1);
      if (typeof k !== "string") throw new BencodeError(`bencode: dictionary key at ${j} is not a string`);
      const [v, m] = dec(s, n, depth + 1);
      out[k] = v;
      j = m;
    }
    return [out, j + 1];
  }
  throw new BencodeError(`bencode: unexpected ${Number.isNaN(c) ? "end" : `'${s[i]}'`} at ${i}`);
}
