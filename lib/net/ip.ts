/**
 * IP address helpers (the one copy in the tree): byte parsing without regexes or intermediate
 * arrays for the per-packet lookups of permissions (address trie), pike and the ipban guard; literal
 * checks (isIpv4/isIpv6/looksLikeIpv6); canonical (RFC 5952) and expanded text forms.
 * IPv4-mapped IPv6 addresses (`::ffff:192.0.2.1`, what a dual-stack socket reports) are folded
 * to IPv4 by parseIpInto/canonicalIp so that one source never has two identities. Text forms follow
 * RFC 4291 §2.2; the canonical output follows RFC 5952 §4.
 */

/** 4 for IPv4, 6 for IPv6, 0 when the text is not an IP address. */
export type IpFamily = 0 | 4 | 6;

/**
 * Parses `text` into `out` (at least 16 bytes; IPv4 uses out[0..3]). Accepts `[v6]` brackets and
 * ignores an IPv6 zone id (`fe80::1%eth0`). Returns the family, or 0 for anything else.
 *
 * @example
 *   const b = new Uint8Array(16);
 *   parseIpInto("::ffff:10.0.0.1", b); // → 4, b = [10, 0, 0, 1, ...]
 */
export function parseIpInto(text: string, out: Uint8Array): IpFamily {
  let start = 0;
  let end = text.length;
  if (end === 0 || end > 64) return 0;
  if (text.charCodeAt(0) === 91 /* [ */) {
    if (text.charCodeAt(end - 1) !== 93 /* ] */) return 0;
    start = 1;
    end -= 1;
  }
  let colon = false;
  for (let i = start; i < end; i++) {
    const c = text.charCodeAt(i);
    if (c === 58 /* : */) {
      colon = true;
      break;
    }
  }
  if (!colon) {
    if (start !== 0) return 0; // brackets only around IPv6
    return parseV4(text, start, end, out, 0) ? 4 : 0;
  }
  const pct = text.indexOf("%", start);
  if (pct >= 0 && pct < end) end = pct;
  if (!parseV6(text, start, end, out)) return 0;
  // ::ffff:a.b.c.d → IPv4
  if (isV4Mapped(out)) {
    out[0] = out[12]!;
    out[1] = out[13]!;
    out[2] = out[14]!;
    out[3] = out[15]!;
    return 4;
  }
  return 6;
}

function isV4Mapped(b: Uint8Array): boolean {
  for (let i = 0; i < 10; i++) if (b[i] !== 0) return false;
  return b[10] === 0xff && b[11] === 0xff;
}

/** Dotted quad, decimal parts 0..255 with at most 3 digits each. */
function parseV4(s: string, start: number, end: number, out: Uint8Array, off: number): boolean {
  let part = 0;
  let val = 0;
  let digits = 0;
  for (let i = start; i <= end; i++) {
    const c = i < end ? s.charCodeAt(i) : 46; /* virtual trailing dot */
    if (c === 46 /* . */) {
      if (digits === 0 || part > 3) return false;
      out[off + part] = val;
      part++;
      val = 0;
      digits = 0;
    } else if (c >= 48 && c <= 57) {
      val = val * 10 + (c - 48);
      digits++;
      if (digits > 3 || val > 255) return false;
    } else {
      return false;
    }
  }
  return part === 4;
}

function hexVal(c: number): number {
  if (c >= 48 && c <= 57) return c - 48;
  if (c >= 97 && c <= 102) return c - 87;
  if (c >= 65 && c <= 70) return c - 55;
  return -1;
}

/** RFC 4291 §2.2 text forms: full, `::`-compressed, and a trailing dotted IPv4 part. */
function parseV6(s: string, start: number, end: number, out: Uint8Array): boolean {
  // groups collected before and after "::"
  const groups = scratchGroups;
  let n = 0;
  let gap = -1; // index in groups where "::" sits
  let i = start;
  if (end - start < 2) return false;
  if (s.charCodeAt(i) === 58) {
    if (s.charCodeAt(i + 1) !== 58) return false;
    gap = 0;
    i += 2;
    if (i === end) {
      out.fill(0, 0, 16);
      return true;
    }
  }
  while (i < end) {
    // one group: hex digits, or a dotted IPv4 tail
    let j = i;
    let v = 0;
    let digits = 0;
    while (j < end) {
      const h = hexVal(s.charCodeAt(j));
      if (h < 0) break;
      v = (v << 4) | h;
      digits++;
      if (digits > 4) break;
      j++;
    }
    if (j < end && s.charCodeAt(j) === 46 /* . */) {
      // IPv4 tail: must be the last element and fit in two groups
      if (n > 6) return false;
      if (!parseV4(s, i, end, v4Tail, 0)) return false;
      groups[n++] = (v4Tail[0]! << 8) | v4Tail[1]!;
      groups[n++] = (v4Tail[2]! << 8) | v4Tail[3]!;
      i = end;
      break;
    }
    if (digits === 0 || digits > 4) return false;
    if (n >= 8) return false;
    groups[n++] = v;
    i = j;
    if (i === end) break;
    if (s.charCodeAt(i) !== 58) return false;
    i++;
    if (i < end && s.charCodeAt(i) === 58) {
      if (gap >= 0) return false; // second "::"
      gap = n;
      i++;
      if (i === end) break;
    } else if (i === end) {
      return false; // trailing single ':'
    }
  }
  if (gap < 0) {
    if (n !== 8) return false;
    for (let k = 0; k < 8; k++) {
      out[2 * k] = groups[k]! >> 8;
      out[2 * k + 1] = groups[k]! & 0xff;
    }
    return true;
  }
  if (n > 7) return false;
  const zeros = 8 - n;
  let o = 0;
  for (let k = 0; k < gap; k++, o++) {
    out[2 * o] = groups[k]! >> 8;
    out[2 * o + 1] = groups[k]! & 0xff;
  }
  for (let k = 0; k < zeros; k++, o++) {
    out[2 * o] = 0;
    out[2 * o + 1] = 0;
  }
  for (let k = gap; k < n; k++, o++) {
    out[2 * o] = groups[k]! >> 8;
    out[2 * o + 1] = groups[k]! & 0xff;
  }
  return true;
}

const scratchGroups = new Array<number>(10).fill(0);
const v4Tail = new Uint8Array(4);

/** IPv4 bytes as an unsigned 32-bit number (a cheap Map key). */
export function v4ToNumber(b: Uint8Array): number {
  return ((b[0]! << 24) | (b[1]! << 16) | (b[2]! << 8) | b[3]!) >>> 0;
}

/** Formats parsed bytes: dotted quad, or RFC 5952 canonical IPv6 (lower case, longest zero run compressed). */
export function formatIp(family: 4 | 6, b: Uint8Array): string {
  if (family === 4) return `${b[0]}.${b[1]}.${b[2]}.${b[3]}`;
  let bestStart = -1;
  let bestLen = 0;
  let curStart = -1;
  for (let g = 0; g < 8; g++) {
    const zero = b[2 * g] === 0 && b[2 * g + 1] === 0;
    if (zero) {
      if (curStart < 0) curStart = g;
      const len = g - curStart + 1;
      if (len > bestLen) {
        bestLen = len;
        bestStart = curStart;
      }
    } else {
      curStart = -1;
    }
  }
  if (bestLen < 2) bestStart = -1;
  let s = "";
  for (let g = 0; g < 8; g++) {
    if (g === bestStart) {
      s += g === 0 ? "::" : ":";
      g += bestLen - 1;
      continue;
    }
    s += ((b[2 * g]! << 8) | b[2 * g + 1]!).toString(16);
    if (g < 7) s += ":";
  }
  return s;
}

const canonBuf = new Uint8Array(16);

/**
 * Canonical text of an IP address (`2001:DB8:0::1` → `2001:db8::1`, `::ffff:10.0.0.1` → `10.0.0.1`),
 * or null when `text` is not an IP address.
 */
export function canonicalIp(text: string): string | null {
  const fam = parseIpInto(text, canonBuf);
  return fam === 0 ? null : formatIp(fam, canonBuf);
}

/** Zeroes every bit after `prefixLen` (network address of a subnet). */
export function maskBytes(b: Uint8Array, family: 4 | 6, prefixLen: number): void {
  const total = family === 4 ? 4 : 16;
  for (let i = 0; i < total; i++) {
    const bitsHere = prefixLen - i * 8;
    if (bitsHere >= 8) continue;
    b[i] = bitsHere <= 0 ? 0 : b[i]! & (0xff << (8 - bitsHere)) & 0xff;
  }
}

/** True when the string is a literal IPv4 address (dotted quad, no leading zeros). */
export function isIpv4(s: string): boolean {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(s);
  return m !== null && m.slice(1).every((p) => Number(p) <= 255 && (p.length === 1 || p[0] !== "0"));
}

/** True when the string is a literal IPv6 address (brackets allowed). */
export function isIpv6(s: string): boolean {
  const a = s.startsWith("[") && s.endsWith("]") ? s.slice(1, -1) : s;
  if (!a.includes(":")) return false;
  return expandIpv6(a) !== null;
}

/**
 * Loose IPv6 syntax check of RFC 3261's IPv6reference contents (hex groups, one "::", optional
 * trailing IPv4), what the SIP message parser accepts inside brackets; no brackets here.
 */
export function looksLikeIpv6(h: string): boolean {
  if (h.length < 2 || h.length > 45) return false;
  let colons = 0;
  for (let i = 0; i < h.length; i++) {
    const c = h.charCodeAt(i);
    if (c === 58) colons++;
    else if (!((c >= 48 && c <= 57) || (c >= 65 && c <= 70) || (c >= 97 && c <= 102)) && c !== 46) return false;
  }
  if (colons < 2) return false;
  const dbl = h.indexOf("::");
  if (dbl >= 0 && h.indexOf("::", dbl + 1) >= 0) return false;
  return true;
}

/**
 * Expanded text of an IP address for comparisons where Kamailio prints eight groups (lcr,
 * drouting): IPv4 as is, IPv6 as eight lower-case 4-digit groups (so "2001:db8::1" and
 * "[2001:DB8:0::1]" compare equal; IPv4-mapped addresses stay IPv6); null when the text is not
 * an IP literal. `canonicalIp` is the RFC 5952 form.
 */
export function expandIp(s: string): string | null {
  if (isIpv4(s)) return s;
  const a = s.startsWith("[") && s.endsWith("]") ? s.slice(1, -1) : s;
  return expandIpv6(a);
}

function expandIpv6(a: string): string | null {
  let text = a.toLowerCase();
  const lastColon = text.lastIndexOf(":");
  if (lastColon < 0) return null;
  const last = text.slice(lastColon + 1);
  if (last.includes(".")) {
    // an embedded IPv4 tail (::ffff:192.0.2.1) becomes two hex groups
    if (!isIpv4(last)) return null;
    const p = last.split(".").map(Number);
    text = text.slice(0, lastColon + 1) + ((p[0]! << 8) | p[1]!).toString(16) + ":" + ((p[2]! << 8) | p[3]!).toString(16);
  }
  const dbl = text.split("::");
  if (dbl.length > 2) return null;
  const head = dbl[0] === "" ? [] : dbl[0]!.split(":");
  let groups: string[];
  if (dbl.length === 2) {
    const rest = dbl[1] === "" ? [] : dbl[1]!.split(":");
    const fill = 8 - head.length - rest.length;
    if (fill < 1) return null;
    groups = [...head, ...Array<string>(fill).fill("0"), ...rest];
  } else {
    groups = head;
  }
  if (groups.length !== 8) return null;
  for (const g of groups) if (!/^[0-9a-f]{1,4}$/.test(g)) return null;
  return groups.map((g) => g.padStart(4, "0")).join(":");
}

/**
 * Whether a listen or dial host only reaches this machine: localhost, 127.0.0.0/8, ::1 (also in
 * brackets and as ::ffff:127.x). Used to allow plaintext (table push, sync client) only there.
 */
export function isLoopbackAddress(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, "").toLowerCase();
  if (h === "localhost" || h === "::1" || h === "0:0:0:0:0:0:0:1") return true;
  if (isIpv4(h)) return h.startsWith("127.");
  if (h.startsWith("::ffff:")) return isIpv4(h.slice(7)) && h.slice(7).startsWith("127.");
  return false;
}
