import { createHmac, randomBytes, timingSafeEqual } from "node:crypto";

/**
 * Stateless nonces (Kamailio auth's approach: the nonce carries its own expiry and a keyed hash,
 * so any node holding the same secret can check it without shared state).
 *
 * Layout, base64url without padding (44 characters):
 *   version (1 byte = 1) | issued (u32, Unix s) | expires (u32, Unix s) | random (8 bytes)
 *   | HMAC-SHA256(secret, the 17 bytes before)[0..16)
 *
 * The random part makes every nonce unique (replay tracking keys on it); the HMAC binds issue
 * and expiry times to the secret, so a nonce from another secret or an edited expiry is invalid.
 */

export type NonceCheck =
  | { readonly status: "valid"; readonly issued: number; readonly expires: number }
  | { readonly status: "stale"; readonly issued: number; readonly expires: number }
  | { readonly status: "invalid"; readonly reason: string };

const VERSION = 1;
const PAYLOAD = 17;
const MAC = 16;
const TOTAL = PAYLOAD + MAC;
const B64URL = /^[A-Za-z0-9_-]{44}$/;

/** Nonce settings (Kamailio secret, nonce_expire, nonce_auth_max_drift). */
export interface NonceOptions {
  /** Shared secret (the same on every node of a cluster). */
  readonly secret: string | Buffer;
  /** Lifetime in seconds (Kamailio nonce_expire, default 300). */
  readonly expireSec: number;
  /** Tolerated clock skew in seconds for nonces issued "in the future" (nonce_auth_max_drift, default 3). */
  readonly maxDriftSec: number;
  readonly now?: () => number;
}

/** Issues and checks stateless nonces for one secret. */
export class NonceManager {
  private readonly key: Buffer;
  private readonly now: () => number;
  /** CSPRNG bytes fetched 1 KiB at a time: one randomBytes call per 128 nonces instead of one each. */
  private pool: Buffer = Buffer.alloc(0);
  private poolOff = 0;

  constructor(private readonly opts: NonceOptions) {
    this.key = Buffer.isBuffer(opts.secret) ? opts.secret : Buffer.from(opts.secret, "utf8");
    this.now = opts.now ?? (() => Date.now());
  }

  private mac(payload: Buffer): Buffer {
    return createHmac("sha256", this.key).update(payload).digest().subarray(0, MAC);
  }

  /** A fresh nonce valid for expireSec seconds. */
  issue(): string {
    const nowS = Math.floor(this.now() / 1000);
    const buf = Buffer.allocUnsafe(TOTAL);
    buf[0] = VERSION;
    buf.writeUInt32BE(nowS >>> 0, 1);
    buf.writeUInt32BE((nowS + this.opts.expireSec) >>> 0, 5);
    if (this.poolOff + 8 > this.pool.length) {
      this.pool = randomBytes(1024);
      this.poolOff = 0;
    }
    this.pool.copy(buf, 9, this.poolOff, this.poolOff + 8);
    this.poolOff += 8;
    this.mac(buf.subarray(0, PAYLOAD)).copy(buf, PAYLOAD);
    return buf.toString("base64url");
  }

  /** Checks origin and age: "valid", "stale" (genuine but expired), or "invalid". */
  check(nonce: string): NonceCheck {
    if (!B64URL.test(nonce)) return { status: "invalid", reason: "not an Olelo nonce" };
    const buf = Buffer.from(nonce, "base64url");
    if (buf.length !== TOTAL || buf[0] !== VERSION) return { status: "invalid", reason: "bad nonce version" };
    if (!timingSafeEqual(this.mac(buf.subarray(0, PAYLOAD)), buf.subarray(PAYLOAD))) {
      return { status: "invalid", reason: "nonce not issued with this secret" };
    }
    const issued = buf.readUInt32BE(1);
    const expires = buf.readUInt32BE(5);
    const nowMs = this.now();
    if (issued * 1000 > nowMs + this.opts.maxDriftSec * 1000) return { status: "invalid", reason: "nonce issued in the future" };
    if (expires < issued) return { status: "invalid", reason: "nonce expires before it was issued" };
    if (nowMs >= expires * 1000) return { status: "stale", issued, expires };
    return { status: "valid", issued, expires };
  }
}

/** A random secret for single-node setups (a cluster must configure one shared secret). */
export function randomSecret(): Buffer {
  return randomBytes(32);
}
