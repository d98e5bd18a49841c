/** FNV-1a 32-bit over a string's char codes: cheap, stable hashes for tags and branch parts. */
export function fnv1a(s: string, h = 0x811c9dc5): number {
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

export function fnvHex(...parts: string[]): string {
  let h = 0x811c9dc5;
  for (const p of parts) {
    h = fnv1a(p, h);
    h = fnv1a("|", h);
  }
  return h.toString(16).padStart(8, "0");
}

const ALNUM = "abcdefghijklmnopqrstuvwxyz0123456789";

export function randomToken(n: number): string {
  let s = "";
  for (let i = 0; i < n; i++) s += ALNUM[(Math.random() * 36) | 0];
  return s;
}
