import { seededRandom } from "../../lib/random/seeded.js";
export { seededRandom };
/**
 * The hash the dispatcher uses for algorithms 0, 1, 2, 3, 5 and 7 and for `dispatcher.hash`.
 *
 * We use Kamailio's own dispatcher hash (ds_get_hash in dispatch.c), re-implemented here, rather
 * than CRC32: the same key then picks the same index as a Kamailio box with the same list, so a
 * migration keeps calls sticky, and `dispatcher.hash` answers the same numbers kamcmd users know.
 * The function works on the key's bytes (latin1, as the message arrived). Bytes above 0x7f are
 * taken as signed, as `char` is on x86 Linux builds of Kamailio.
 *
 * @example dsHash("a84b4c76e66710", null) % 3  // same slot as Kamailio for that Call-ID
 */

function signedByte(s: string, i: number): number {
  const b = s.charCodeAt(i) & 0xff;
  return b > 127 ? b - 256 : b;
}

function mix(h: number, s: string): number {
  const len = s.length;
  let i = 0;
  let v: number;
  if (len >= 4) {
    for (; i <= len - 4; i += 4) {
      v =
        ((signedByte(s, i) << 24) + (signedByte(s, i + 1) << 16) + (signedByte(s, i + 2) << 8) + signedByte(s, i + 3)) >>> 0;
      h = (h + ((v ^ (v >>> 3)) >>> 0)) >>> 0;
    }
  }
  v = 0;
  for (; i < len; i++) {
    v = ((v << 8) + signedByte(s, i)) >>> 0;
  }
  return (h + ((v ^ (v >>> 3)) >>> 0)) >>> 0;
}

/**
 * Kamailio's ds_get_hash(x, y): an unsigned 32-bit value, never 0. A null or empty part adds
 * nothing, as in Kamailio.
 */
export function dsHash(x: string | null, y: string | null): number {
  if (x === null && y === null) return 0;
  let h = 0;
  if (x !== null) h = mix(h, x);
  if (y !== null) h = mix(h, y);
  h = (h + (h >>> 11) + ((h >>> 13) + (h >>> 23))) >>> 0;
  return h === 0 ? 1 : h;
}


/** Fisher–Yates shuffle in place with the given random source (Kamailio shuffle_uint100array). */
export function shuffleInPlace(arr: Uint16Array | Uint8Array, rnd: () => number): void {
  for (let j = 0; j < arr.length; j++) {
    const k = j + Math.floor(rnd() * (arr.length - j));
    const t = arr[j]!;
    arr[j] = arr[k]!;
    arr[k] = t;
  }
}
