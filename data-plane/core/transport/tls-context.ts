import { readFileSync } from "node:fs";
import tls from "node:tls";
import type { TlsClientProfile, TlsIdentity, TlsServerSettings } from "./gateway-config.js";

/** PEM material read from a TlsIdentity's files. */
interface Pem {
  cert?: Buffer;
  key?: Buffer;
  ca?: Buffer;
  passphrase?: string;
}

function readPem(id: TlsIdentity, what: string): Pem {
  const read = (p: string, k: string): Buffer => {
    try {
      return readFileSync(p);
    } catch (e) {
      throw new Error(`${what}: cannot read ${k} file ${p}: ${(e as Error).message}`);
    }
  };
  const out: Pem = {};
  if (id.cert) out.cert = read(id.cert, "cert");
  if (id.key) out.key = read(id.key, "key");
  if (id.ca) out.ca = read(id.ca, "ca");
  if (id.passphrase) out.passphrase = id.passphrase;
  return out;
}

/** Every file an identity reads (for the file watch). */
export function identityFiles(id: TlsIdentity): string[] {
  return [id.cert, id.key, id.ca].filter((x): x is string => x !== null);
}

/**
 * The certificates of one TLS listener: a default context plus one per SNI name (Kamailio's
 * tls.cfg `server_name`). `load()` builds everything to one side and swaps on success, so a bad
 * file during a reload leaves the running certificates in place.
 */
export class TlsServerContexts {
  /** Options of the default context (given to tls.Server#setSecureContext). */
  defaultOptions: tls.SecureContextOptions = {};
  private exact = new Map<string, tls.SecureContext>();
  private wildcard: Array<[string, tls.SecureContext]> = [];
  loadedAt = 0;

  constructor(
    readonly settings: TlsServerSettings,
    private readonly what: string,
  ) {}

  /** Reads every file; throws (naming the file) and keeps the old contexts on error. */
  load(): void {
    const s = this.settings;
    const base = readPem(s, this.what);
    const common = { minVersion: s.minVersion, ...(s.ciphers ? { ciphers: s.ciphers } : {}) } as const;
    const defaultOptions: tls.SecureContextOptions = { ...common, ...base };
    tls.createSecureContext(defaultOptions); // validates cert/key pairing now
    const exact = new Map<string, tls.SecureContext>();
    const wildcard: Array<[string, tls.SecureContext]> = [];
    for (const [name, id] of Object.entries(s.sni)) {
      const pem = readPem(id, `${this.what} sni ${name}`);
      const ctx = tls.createSecureContext({ ...common, ca: base.ca, ...pem });
      if (name.startsWith("*.")) wildcard.push([name.slice(1), ctx]);
      else exact.set(name, ctx);
    }
    this.defaultOptions = defaultOptions;
    this.exact = exact;
    this.wildcard = wildcard;
    this.loadedAt = Date.now();
  }

  /** The context for an SNI name (exact, then `*.suffix`), or null for the default. */
  select(serverName: string | undefined): tls.SecureContext | null {
    if (!serverName) return null;
    const n = serverName.toLowerCase();
    const e = this.exact.get(n);
    if (e) return e;
    for (const [suffix, ctx] of this.wildcard) if (n.endsWith(suffix) && n.indexOf(".") < n.length - suffix.length) return ctx;
    return null;
  }

  files(): string[] {
    const out = identityFiles(this.settings);
    for (const id of Object.values(this.settings.sni)) out.push(...identityFiles(id));
    return out;
  }
}

/**
 * Client-side TLS profiles (Kamailio `[client:ip:port]`): the default one and per-destination
 * overrides matched by `ip:port`, `host:port` or `host`. Contexts are built once per load.
 */
export class TlsClientContexts {
  private contexts = new Map<TlsClientProfile, tls.SecureContext>();
  loadedAt = 0;

  constructor(
    readonly defaults: TlsClientProfile,
    readonly destinations: readonly TlsClientProfile[],
  ) {}

  load(): void {
    const next = new Map<TlsClientProfile, tls.SecureContext>();
    for (const p of [this.defaults, ...this.destinations]) {
      const pem = readPem(p, p.match ? `tls client profile ${p.match}` : "tls client profile");
      next.set(p, tls.createSecureContext({ minVersion: p.minVersion, ...pem }));
    }
    this.contexts = next;
    this.loadedAt = Date.now();
  }

  /** The profile for a destination: `ip:port`, then `name:port`, then `name`, else the default. */
  profileFor(address: string, port: number, name: string | null): TlsClientProfile {
    const host = address.indexOf(":") >= 0 ? `[${address}]` : address;
    const keys = [`${host}:${port}`, address];
    if (name) keys.unshift(`${name.toLowerCase()}:${port}`, name.toLowerCase());
    for (const k of keys) {
      const p = this.destinations.find((d) => d.match === k);
      if (p) return p;
    }
    return this.defaults;
  }

  context(p: TlsClientProfile): tls.SecureContext {
    let c = this.contexts.get(p);
    if (!c) {
      this.load();
      c = this.contexts.get(p)!;
    }
    return c;
  }

  files(): string[] {
    return [this.defaults, ...this.destinations].flatMap(identityFiles);
  }
}
