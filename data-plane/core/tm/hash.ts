/** FNV-1a 32-bit over a string's char codes: cheap, stable hashes for tags and branch parts. */
export function fnv1a(s: string, h = 0x811c9dc5): number {
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

const BAR = 124; // "|"

/** FNV-1a of the parts, each followed by "|", as 8 hex digits (fixed arity: no rest-argument array on the hot path). */
export function fnvHex(a: string, b?: string, c?: string, d?: string): string {
  let h = fnv1a(a, 0x811c9dc5);
  h = Math.imul(h ^ BAR, 0x01000193) >>> 0;
  if (b !== undefined) h = Math.imul(fnv1a(b, h) ^ BAR, 0x01000193) >>> 0;
  if (c !== undefined) h = Math.imul(fnv1a(c, h) ^ BAR, 0x01000193) >>> 0;
  if (d !== undefined) h = Math.imul(fnv1a(d, h) ^ BAR, 0x01000193) >>> 0;
  return hex8(h);
}

const HEX = "0123456789abcdef";

/** 8 lowercase hex digits of a uint32 in one flat string (`toString(16)` goes through double-to-radix conversion). */
export function hex8(h: number): string {
  return String.fromCharCode(
    HEX.charCodeAt((h >>> 28) & 15),
    HEX.charCodeAt((h >>> 24) & 15),
    HEX.charCodeAt((h >>> 20) & 15),
    HEX.charCodeAt((h >>> 16) & 15),
    HEX.charCodeAt((h >>> 12) & 15),
    HEX.charCodeAt((h >>> 8) & 15),
    HEX.charCodeAt((h >>> 4) & 15),
    HEX.charCodeAt(h & 15),
  );
}

const ALNUM = "abcdefghijklmnopqrstuvwxyz0123456789";

export function randomToken(n: number): string {
  let s = "";
  for (let i = 0; i < n; i++) s += ALNUM[(Math.random() * 36) | 0];
  return s;
}
