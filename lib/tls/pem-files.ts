/**
 * PEM files (CA bundle, certificate chain, private key) read from disk, checked, and watched so a
 * replaced file takes effect without a restart. A `WatchedPemFiles` also satisfies grpc-js'
 * CertificateProvider interface (structurally: add/remove CA and identity listeners), so a gRPC
 * server built on it picks up new certificates for new connections at once.
 *
 * A file that is missing or does not parse is an error naming the file at start; on a reload the
 * old material stays in use and the error is returned (and kept in `lastError`).
 *
 * @example
 *   const pem = new WatchedPemFiles({ ca: "ca.pem", cert: "cp.pem", key: "cp-key.pem" }, { pollMs: 1000 });
 *   pem.current().cert;        // Buffer
 *   pem.reload();              // { ok: true, changed: false }
 *   pem.close();
 */
import { X509Certificate, createPrivateKey, createPublicKey } from "node:crypto";
import { readFileSync } from "node:fs";
import { WatchedFiles, type ReloadResult, type WatchedFilesOptions } from "./watched-files.js";

export interface PemFileNames {
  ca?: string | null;
  cert?: string | null;
  key?: string | null;
}

export interface PemMaterial {
  ca: Buffer | null;
  cert: Buffer | null;
  key: Buffer | null;
}

/** Subject CN of the first certificate of a PEM chain ("" when none). */
export function certificateCn(pem: Buffer | string): string {
  const x = new X509Certificate(pem);
  const m = /(?:^|\n)CN=([^\n]*)/.exec(x.subject);
  return m ? m[1]!.trim() : "";
}

function readOne(file: string, what: "ca" | "cert" | "key"): Buffer {
  let data: Buffer;
  try {
    data = readFileSync(file);
  } catch (e) {
    throw new Error(`${what} file ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  try {
    if (what === "key") createPrivateKey(data);
    else new X509Certificate(data);
  } catch (e) {
    throw new Error(`${what} file ${file} is not a PEM ${what === "key" ? "private key" : "certificate"}: ${(e as Error).message}`);
  }
  return data;
}

/** Reads and checks the named files; throws an Error naming the bad file. Never includes key bytes in messages. */
export function readPemFiles(f: PemFileNames): PemMaterial {
  const m: PemMaterial = {
    ca: f.ca ? readOne(f.ca, "ca") : null,
    cert: f.cert ? readOne(f.cert, "cert") : null,
    key: f.key ? readOne(f.key, "key") : null,
  };
  if (m.cert && m.key) {
    const pub = new X509Certificate(m.cert).publicKey;
    const priv = createPrivateKey(m.key);
    const a = pub.export({ type: "spki", format: "der" });
    const b = createPublicKey(priv).export({ type: "spki", format: "der" });
    if (!a.equals(b)) throw new Error(`key file ${f.key} does not belong to the certificate in ${f.cert}`);
  }
  return m;
}


type CaListener = (u: { caCertificate: Buffer } | null) => void;
type IdListener = (u: { certificate: Buffer; privateKey: Buffer } | null) => void;

/** pollMs: how often the files' mtimes are checked (default 2000; 0 = reload() only); onReload: after a reload that changed the material, or failed. */
export type WatchOptions = WatchedFilesOptions;

/** PEM files kept current: polled for changes and reloadable on demand. */
export class WatchedPemFiles extends WatchedFiles {
  private mat: PemMaterial;
  private readonly caListeners = new Set<CaListener>();
  private readonly idListeners = new Set<IdListener>();

  constructor(
    readonly files: PemFileNames,
    opts: WatchOptions = {},
  ) {
    super(opts);
    this.mat = readPemFiles(files);
    for (const f of [files.ca, files.cert, files.key]) if (f) this.watch(f);
  }

  current(): PemMaterial {
    return this.mat;
  }

  /** Re-reads the files; on an error the old material stays. */
  reload(): ReloadResult {
    let next: PemMaterial;
    try {
      next = readPemFiles(this.files);
    } catch (e) {
      return this.failed(e);
    }
    this.succeeded();
    const same = (a: Buffer | null, b: Buffer | null) => (a === null ? b === null : b !== null && a.equals(b));
    const changed = !same(this.mat.ca, next.ca) || !same(this.mat.cert, next.cert) || !same(this.mat.key, next.key);
    this.mat = next;
    if (changed) {
      this.reloads++;
      this.emit();
    }
    const r = { ok: true, changed };
    if (changed) this.opts.onReload?.(r);
    return r;
  }

  private emit(): void {
    for (const l of this.caListeners) l(this.mat.ca ? { caCertificate: this.mat.ca } : null);
    for (const l of this.idListeners) l(this.mat.cert && this.mat.key ? { certificate: this.mat.cert, privateKey: this.mat.key } : null);
  }

  // grpc-js CertificateProvider
  // The current material goes to a new listener on the next tick: grpc-js registers its own
  // watcher only after adding the listener, and would miss a synchronous first update.
  addCaCertificateListener(l: CaListener): void {
    this.caListeners.add(l);
    setImmediate(() => {
      if (this.caListeners.has(l)) l(this.mat.ca ? { caCertificate: this.mat.ca } : null);
    });
  }
  removeCaCertificateListener(l: CaListener): void {
    this.caListeners.delete(l);
  }
  addIdentityCertificateListener(l: IdListener): void {
    this.idListeners.add(l);
    setImmediate(() => {
      if (this.idListeners.has(l)) l(this.mat.cert && this.mat.key ? { certificate: this.mat.cert, privateKey: this.mat.key } : null);
    });
  }
  removeIdentityCertificateListener(l: IdListener): void {
    this.idListeners.delete(l);
  }

  /** Status for the management API (file names, never contents). */
  status(): { files: PemFileNames; reloads: number; lastReloadAt: string | null; lastError: string | null; subject: string | null; notAfter: string | null } {
    let subject: string | null = null;
    let notAfter: string | null = null;
    if (this.mat.cert) {
      const x = new X509Certificate(this.mat.cert);
      subject = x.subject.replace(/\n/g, ", ");
      notAfter = new Date(x.validTo).toISOString();
    }
    return { files: { ...this.files }, reloads: this.reloads, lastReloadAt: this.lastReloadAt, lastError: this.lastError, subject, notAfter };
  }

  close(): void {
    this.unwatch();
    this.caListeners.clear();
    this.idListeners.clear();
  }
}
