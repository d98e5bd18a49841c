/**
 * CRC-32 (IEEE 802.3, polynomial 0xEDB88320, reflected, init and final XOR 0xFFFFFFFF), the hash
 * Kamailio's carrierroute uses (core/crc.c crc32_uint) to spread calls over a prefix's targets.
 * Strings are hashed as their UTF-8 bytes (for the ASCII of SIP headers that is the wire form).
 *
 * @example
 *   crc32("123456789"); // 0xcbf43926
 */
const TABLE = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();

const encoder = new TextEncoder();

/** Unsigned 32-bit CRC of the string's UTF-8 bytes. */
export function crc32(s: string): number {
  let crc = 0xffffffff;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x80) {
      crc = TABLE[(crc ^ c) & 0xff]! ^ (crc >>> 8);
    } else {
      for (const b of encoder.encode(s.slice(i))) crc = TABLE[(crc ^ b) & 0xff]! ^ (crc >>> 8);
      break;
    }
  }
  return (crc ^ 0xffffffff) >>> 0;
}
