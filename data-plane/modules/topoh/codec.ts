import { createHash, createHmac } from "node:crypto";

/**
 * Reversible masking of header values (Kamailio topoh's th_mask): the text is XORed with a key
 * stream derived from the mask key (SHA-256 in counter mode) and written in base64url, behind a
 * 4-byte HMAC tag so a value not made with this key (a forged or foreign one) is refused on
 * decode. Deterministic: the same text gives the same mask, so retransmissions and every node
 * with the same key agree, and nothing is stored.
 *
 * @example
 *   const c = new MaskCodec("secret");
 *   c.decode(c.encode("SIP/2.0/UDP 10.0.0.1:5060;branch=z9hG4bK1")); // the Via back
 */
export class MaskCodec {
  private readonly key: Buffer;
  private stream: Buffer = Buffer.alloc(0);

  constructor(key: string) {
    this.key = Buffer.from(key, "utf8");
  }

  private keyStream(n: number): Buffer {
    if (this.stream.length >= n) return this.stream;
    const blocks: Buffer[] = [this.stream];
    for (let i = this.stream.length / 32; i * 32 < n; i++) {
      blocks.push(createHash("sha256").update(this.key).update(String(i)).digest());
    }
    this.stream = Buffer.concat(blocks);
    return this.stream;
  }

  private tag(data: Buffer): Buffer {
    return createHmac("sha256", this.key).update(data).digest().subarray(0, 4);
  }

  /** Masks a value; the result holds only base64url characters (safe in URI and Via params). */
  encode(text: string): string {
    const data = Buffer.from(text, "latin1");
    const ks = this.keyStream(data.length);
    const out = Buffer.allocUnsafe(4 + data.length);
    this.tag(data).copy(out, 0);
    for (let i = 0; i < data.length; i++) out[4 + i] = data[i]! ^ ks[i]!;
    return out.toString("base64url");
  }

  /** The value back, or null when it was not masked with this key (or is damaged). */
  decode(masked: string): string | null {
    if (masked.length < 7 || !/^[A-Za-z0-9_-]+$/.test(masked)) return null;
    const raw = Buffer.from(masked, "base64url");
    if (raw.length < 5) return null;
    const data = Buffer.allocUnsafe(raw.length - 4);
    const ks = this.keyStream(data.length);
    for (let i = 0; i < data.length; i++) data[i] = raw[4 + i]! ^ ks[i]!;
    if (!this.tag(data).equals(raw.subarray(0, 4))) return null;
    return data.toString("latin1");
  }
}
