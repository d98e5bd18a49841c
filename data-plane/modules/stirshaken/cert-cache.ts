/**
 * Fetches and caches the certificate chains that x5u URLs name. One request per URL at a time
 * (concurrent verifications share it), HTTPS only, addresses checked after DNS resolution (the
 * connection goes to the address that was checked, so a rebinding name cannot slip past), a byte
 * bound on the body, a timeout on the whole fetch, and a bounded cache with a TTL (capped by the
 * response's Cache-Control max-age). Failures are cached for a short time so a flood of calls with
 * a dead x5u does not turn into a flood of fetches.
 *
 * @example
 *   const cache = new CertCache({ ttlMs: 3600_000, maxEntries: 1000, maxBytes: 65536, timeoutMs: 2000, policy, ca: null });
 *   const r = await cache.get("https://cert.example.org/sp.pem"); // { chain } or { error }
 */
import { lookup as dnsLookup, type LookupAddress } from "node:dns";
import { request } from "node:https";
import type { X509Certificate } from "node:crypto";
import { isIP, type LookupFunction } from "node:net";
import type { AddressPolicy } from "./address-policy.js";
import { parsePemChain } from "./cert-chain.js";

export interface CertCacheOptions {
  readonly ttlMs: number;
  readonly maxEntries: number;
  readonly maxBytes: number;
  readonly timeoutMs: number;
  /** How long a failed fetch is remembered (ms). */
  readonly failTtlMs?: number;
  readonly policy: AddressPolicy;
  /** CA bundle (PEM) for the HTTPS server's certificate; null = Node's default roots. */
  readonly ca: string | null;
}

/** What a fetch gave: the chain, or why there is none. */
export type CertResult = { readonly chain: readonly X509Certificate[]; readonly error?: undefined } | { readonly chain?: undefined; readonly error: string };

interface Entry {
  readonly result: CertResult;
  readonly expires: number;
}

export class CertCache {
  private readonly entries = new Map<string, Entry>();
  private readonly pending = new Map<string, Promise<CertResult>>();
  fetches = 0;
  hits = 0;

  constructor(private opts: CertCacheOptions) {}

  /** Replaces options (reload); keeps the entries. */
  setOptions(opts: CertCacheOptions): void {
    this.opts = opts;
  }

  clear(): number {
    const n = this.entries.size;
    this.entries.clear();
    return n;
  }

  /** The cached URLs with expiry and state (RPC). */
  list(): Array<{ url: string; expires: string; ok: boolean; error?: string; subject?: string }> {
    return [...this.entries].map(([url, e]) => ({
      url,
      expires: new Date(e.expires).toISOString(),
      ok: !e.result.error,
      ...(e.result.error ? { error: e.result.error } : { subject: e.result.chain![0]!.subject.replace(/\n/g, ", ") }),
    }));
  }

  get(url: string): Promise<CertResult> {
    const now = Date.now();
    const e = this.entries.get(url);
    if (e && e.expires > now) {
      this.hits++;
      // refresh its place in the LRU order
      this.entries.delete(url);
      this.entries.set(url, e);
      return Promise.resolve(e.result);
    }
    const bad = this.opts.policy.checkUrl(url);
    if (bad) return Promise.resolve({ error: bad });
    let p = this.pending.get(url);
    if (!p) {
      p = this.fetch(url).then(
        (r) => this.store(url, r.result, r.maxAgeMs),
        (err: unknown) => this.store(url, { error: `x5u fetch failed: ${(err as Error).message}` }, null),
      );
      this.pending.set(url, p);
      void p.finally(() => this.pending.delete(url));
    }
    return p;
  }

  private store(url: string, result: CertResult, maxAgeMs: number | null): CertResult {
    const ttl = result.error ? (this.opts.failTtlMs ?? 30_000) : Math.min(this.opts.ttlMs, maxAgeMs ?? Infinity);
    if (ttl > 0) {
      this.entries.delete(url);
      this.entries.set(url, { result, expires: Date.now() + ttl });
      while (this.entries.size > this.opts.maxEntries) this.entries.delete(this.entries.keys().next().value as string);
    }
    return result;
  }

  private fetch(url: string): Promise<{ result: CertResult; maxAgeMs: number | null }> {
    this.fetches++;
    const { policy, maxBytes, timeoutMs, ca } = this.opts;
    const u = new URL(url);
    const host = u.hostname.replace(/^\[|\]$/g, "");
    // a literal address in the URL never goes through lookup
    if (isIP(host) !== 0 && !policy.addressAllowed(host, host)) return Promise.resolve({ result: { error: `x5u address ${host} is refused` }, maxAgeMs: null });
    const lookup: LookupFunction = (hostname, options, cb) => {
      dnsLookup(hostname, { ...options, all: true }, (err, addrs: LookupAddress[]) => {
        if (err) return cb(err, "", 0);
        const ok = addrs.find((a) => policy.addressAllowed(a.address, host));
        if (!ok) return cb(Object.assign(new Error(`x5u host ${host} resolves to a refused address`), { code: "EREFUSED_ADDRESS" }), "", 0);
        if ((options as { all?: boolean }).all) (cb as unknown as (e: null, a: LookupAddress[]) => void)(null, [ok]);
        else cb(null, ok.address, ok.family);
      });
    };
    return new Promise((resolve, reject) => {
      const req = request(url, { method: "GET", lookup, ca: ca ?? undefined, timeout: timeoutMs, headers: { accept: "application/pkix-cert, application/x-pem-file, */*" }, signal: AbortSignal.timeout(timeoutMs) }, (res) => {
        const status = res.statusCode ?? 0;
        if (status !== 200) {
          res.resume();
          resolve({ result: { error: `x5u answered HTTP ${status}` }, maxAgeMs: null });
          return;
        }
        const declared = Number(res.headers["content-length"] ?? "0");
        if (declared > maxBytes) {
          res.destroy();
          resolve({ result: { error: `x5u body larger than ${maxBytes} bytes` }, maxAgeMs: null });
          return;
        }
        const parts: Buffer[] = [];
        let size = 0;
        res.on("data", (d: Buffer) => {
          size += d.length;
          if (size > maxBytes) {
            res.destroy();
            resolve({ result: { error: `x5u body larger than ${maxBytes} bytes` }, maxAgeMs: null });
            return;
          }
          parts.push(d);
        });
        res.on("error", reject);
        res.on("end", () => {
          const chain = parsePemChain(Buffer.concat(parts));
          const m = /max-age=(\d+)/i.exec(String(res.headers["cache-control"] ?? ""));
          resolve({ result: typeof chain === "string" ? { error: chain } : { chain }, maxAgeMs: m ? Number(m[1]) * 1000 : null });
        });
      });
      req.on("timeout", () => req.destroy(new Error("x5u fetch timed out")));
      req.on("error", reject);
      req.end();
    });
  }
}
