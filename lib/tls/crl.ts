/**
 * X.509 certificate revocation lists (RFC 5280 §5) from a PEM file: parsed (a small DER reader, no
 * dependency), their signature verified against the CA that issued them, and watched so a replaced
 * file takes effect without a restart. Used by the table push on both ends: the control plane
 * refuses (and cuts off) a data plane whose client certificate serial is listed, a data plane may
 * refuse a control plane whose server certificate is (control-plane/push/README.md "Security model").
 *
 * A file may hold several CRLs (one per CA of the bundle). Each must be signed by a certificate of
 * the CA bundle, else the file is refused as a whole; on a reload the old lists stay in use.
 * A CRL past its nextUpdate still applies (its revocations stay true); `status().expired` says so.
 *
 * @example
 *   const crl = new WatchedCrl("fleet.crl", () => readFileSync("fleet-ca.pem"), { pollMs: 2000 });
 *   crl.revocation(peerCertificateDer);   // null, or "certificate serial 1A2B is revoked by the CRL of CN=fleet-ca (since …)"
 *   crl.status();                          // { file, crls: [{ issuer, thisUpdate, nextUpdate, revoked }], … }
 */
import { X509Certificate, createPublicKey, verify } from "node:crypto";
import { readFileSync } from "node:fs";
import { WatchedFiles, type ReloadResult, type WatchedFilesOptions } from "./watched-files.js";

interface Tlv {
  tag: number;
  /** first byte of the TLV */
  start: number;
  /** first byte of the value */
  value: number;
  end: number;
}

function tlv(b: Buffer, pos: number, limit = b.length): Tlv {
  if (pos + 2 > limit) throw new Error("truncated DER");
  const tag = b[pos]!;
  let len = b[pos + 1]!;
  let value = pos + 2;
  if (len & 0x80) {
    const n = len & 0x7f;
    if (n === 0 || n > 4 || value + n > limit) throw new Error("bad DER length");
    len = 0;
    for (let i = 0; i < n; i++) len = len * 256 + b[value + i]!;
    value += n;
  }
  const end = value + len;
  if (end > limit) throw new Error("truncated DER");
  return { tag, start: pos, value, end };
}

function children(b: Buffer, t: Tlv): Tlv[] {
  const out: Tlv[] = [];
  for (let p = t.value; p < t.end; ) {
    const c = tlv(b, p, t.end);
    out.push(c);
    p = c.end;
  }
  return out;
}

function oid(b: Buffer, t: Tlv): string {
  const bytes = b.subarray(t.value, t.end);
  const parts: number[] = [];
  let v = 0;
  for (const x of bytes) {
    v = v * 128 + (x & 0x7f);
    if (!(x & 0x80)) {
      if (parts.length === 0) parts.push(v < 80 ? Math.floor(v / 40) : 2, v < 80 ? v % 40 : v - 80);
      else parts.push(v);
      v = 0;
    }
  }
  return parts.join(".");
}

function time(b: Buffer, t: Tlv): Date {
  const s = b.toString("latin1", t.value, t.end);
  const m = t.tag === 0x17 ? /^(\d\d)(\d\d)(\d\d)(\d\d)(\d\d)(\d\d)Z$/.exec(s) : /^(\d{4})(\d\d)(\d\d)(\d\d)(\d\d)(\d\d)Z$/.exec(s);
  if (!m) throw new Error(`bad time '${s}'`);
  let y = Number(m[1]);
  if (t.tag === 0x17) y += y < 50 ? 2000 : 1900;
  return new Date(Date.UTC(y, Number(m[2]) - 1, Number(m[3]), Number(m[4]), Number(m[5]), Number(m[6])));
}

/** Serial number as uppercase hex without leading zeros (Node's PeerCertificate.serialNumber form). */
export function normalSerial(hex: string): string {
  return hex.toUpperCase().replace(/^0+(?=.)/, "");
}

const HASH_OF: Record<string, string | null> = {
  "1.2.840.10045.4.3.2": "sha256",
  "1.2.840.10045.4.3.3": "sha384",
  "1.2.840.10045.4.3.4": "sha512",
  "1.2.840.10045.4.1": "sha1",
  "1.2.840.113549.1.1.5": "sha1",
  "1.2.840.113549.1.1.11": "sha256",
  "1.2.840.113549.1.1.12": "sha384",
  "1.2.840.113549.1.1.13": "sha512",
  "1.3.101.112": null,
  "1.3.101.113": null,
};

/** One parsed, verified CRL. */
export interface Crl {
  /** Issuer as Node prints a subject, e.g. "CN=olelo-fleet-ca". */
  issuer: string;
  thisUpdate: Date;
  nextUpdate: Date | null;
  crlNumber: string | null;
  /** serial (normalSerial) → revocation date */
  revoked: Map<string, Date>;
  /** The CA certificate that signed it. */
  ca: X509Certificate;
}

/** Subject Name's DER bytes of a certificate. */
function subjectDer(cert: X509Certificate): Buffer {
  const b = cert.raw;
  const tbs = children(b, tlv(b, 0))[0]!;
  const f = children(b, tbs);
  const i = f[0]!.tag === 0xa0 ? 1 : 0; // [0] version
  const s = f[i + 4]!; // serial, signature, issuer, validity, subject
  return b.subarray(s.start, s.end);
}

function pemBlocks(text: string, label: string): Buffer[] {
  const re = new RegExp(`-----BEGIN ${label}-----([\\s\\S]*?)-----END ${label}-----`, "g");
  return [...text.matchAll(re)].map((m) => Buffer.from(m[1]!.replace(/\s+/g, ""), "base64"));
}

/** The certificates of a PEM bundle. */
export function pemCertificates(pem: Buffer | string): X509Certificate[] {
  return pemBlocks(pem.toString(), "CERTIFICATE").map((d) => new X509Certificate(d));
}

/** Parses one DER CRL and verifies it against `cas`; throws a one-line Error. */
export function parseCrlDer(der: Buffer, cas: X509Certificate[]): Crl {
  const top = tlv(der, 0);
  const [tbs, alg, sig] = children(der, top);
  if (!tbs || !alg || !sig || sig.tag !== 0x03) throw new Error("not a CRL (CertificateList)");
  const f = children(der, tbs);
  let i = 0;
  if (f[i]?.tag === 0x02) i++; // version
  i++; // signature algorithm
  const issuerT = f[i++];
  if (!issuerT || issuerT.tag !== 0x30) throw new Error("CRL has no issuer");
  const issuerDer = der.subarray(issuerT.start, issuerT.end);
  const thisUpdate = time(der, f[i++]!);
  let nextUpdate: Date | null = null;
  if (f[i] && (f[i]!.tag === 0x17 || f[i]!.tag === 0x18)) nextUpdate = time(der, f[i++]!);
  const revoked = new Map<string, Date>();
  if (f[i]?.tag === 0x30) {
    for (const entry of children(der, f[i++]!)) {
      const [serial, when] = children(der, entry);
      if (!serial || serial.tag !== 0x02 || !when) throw new Error("bad revoked certificate entry");
      revoked.set(normalSerial(der.toString("hex", serial.value, serial.end)), time(der, when));
    }
  }
  let crlNumber: string | null = null;
  if (f[i]?.tag === 0xa0) {
    const exts = children(der, children(der, f[i]!)[0]!);
    for (const e of exts) {
      const [id, ...rest] = children(der, e);
      if (id && oid(der, id) === "2.5.29.20") {
        const octets = rest[rest.length - 1]!;
        const n = tlv(der, octets.value, octets.end);
        crlNumber = normalSerial(der.toString("hex", n.value, n.end));
      }
    }
  }
  const ca = cas.find((c) => subjectDer(c).equals(issuerDer));
  const issuerName = (x: X509Certificate) => x.subject.replace(/\n/g, ", ");
  if (!ca) throw new Error(`CRL issuer is none of the CA certificates (${cas.map(issuerName).join("; ") || "no CA"})`);
  const algOid = oid(der, children(der, alg)[0]!);
  if (!(algOid in HASH_OF)) throw new Error(`CRL signature algorithm ${algOid} is not supported`);
  const signature = der.subarray(sig.value + 1, sig.end);
  const ok = verify(HASH_OF[algOid] ?? null, der.subarray(tbs.start, tbs.end), createPublicKey(ca.publicKey.export({ type: "spki", format: "pem" })), signature);
  if (!ok) throw new Error(`CRL signature does not verify with the key of ${issuerName(ca)}`);
  return { issuer: issuerName(ca), thisUpdate, nextUpdate, crlNumber, revoked, ca };
}

/** Every CRL of a PEM file's text ("X509 CRL" blocks); throws a one-line Error. */
export function parseCrlPem(pem: Buffer | string, cas: X509Certificate[]): Crl[] {
  const blocks = pemBlocks(pem.toString(), "X509 CRL");
  if (blocks.length === 0) throw new Error("no '-----BEGIN X509 CRL-----' block");
  return blocks.map((d, n) => {
    try {
      return parseCrlDer(d, cas);
    } catch (e) {
      throw new Error(`${blocks.length > 1 ? `CRL ${n + 1}: ` : ""}${(e as Error).message}`);
    }
  });
}

/** Why `cert` is revoked by one of `crls`, or null. */
export function revocationOf(crls: readonly Crl[], cert: X509Certificate): string | null {
  const serial = normalSerial(cert.serialNumber);
  for (const c of crls) {
    const since = c.revoked.get(serial);
    if (since && cert.checkIssued(c.ca)) return `certificate serial ${serial} is revoked by the CRL of ${c.issuer} (since ${since.toISOString()})`;
  }
  return null;
}

/** pollMs: mtime poll interval (default 2000; 0 = reload() only); onReload: after a reload that changed the lists, or failed. */
export type WatchedCrlOptions = WatchedFilesOptions;

/** A CRL file kept current (polled, reloadable), checked against the CA bundle `caPem()` returns. */
export class WatchedCrl extends WatchedFiles {
  private crls: Crl[];
  private text: string;
  private readonly listeners = new Set<() => void>();

  constructor(
    readonly file: string,
    private readonly caPem: () => Buffer | null,
    opts: WatchedCrlOptions = {},
  ) {
    super(opts);
    const r = this.read();
    this.crls = r.crls;
    this.text = r.text;
    this.watch(file);
  }

  private read(): { crls: Crl[]; text: string } {
    let text: string;
    try {
      text = readFileSync(this.file, "latin1");
    } catch (e) {
      throw new Error(`crl file ${this.file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
    }
    const ca = this.caPem();
    try {
      return { crls: parseCrlPem(text, ca ? pemCertificates(ca) : []), text };
    } catch (e) {
      throw new Error(`crl file ${this.file}: ${(e as Error).message}`);
    }
  }

  /** Re-reads the file; on an error the old lists stay. Listeners run when the lists changed. */
  reload(): ReloadResult {
    let next: { crls: Crl[]; text: string };
    try {
      next = this.read();
    } catch (e) {
      return this.failed(e);
    }
    this.succeeded();
    const changed = next.text !== this.text;
    this.crls = next.crls;
    this.text = next.text;
    if (changed) {
      this.reloads++;
      this.opts.onReload?.({ ok: true, changed });
      for (const l of [...this.listeners]) l();
    }
    return { ok: true, changed };
  }

  onChange(fn: () => void): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  /** null when `der` (a certificate, DER or X509Certificate) is not listed, else the reason. */
  revocation(cert: Buffer | X509Certificate): string | null {
    return revocationOf(this.crls, cert instanceof X509Certificate ? cert : new X509Certificate(cert));
  }

  /** For the management API / sync_status: issuers, dates, counts (never the list itself). */
  status(now = new Date()): { file: string; crls: Array<{ issuer: string; thisUpdate: string; nextUpdate: string | null; crlNumber: string | null; revoked: number; expired: boolean }>; revoked: number; expired: boolean; reloads: number; lastReloadAt: string | null; lastError: string | null } {
    const crls = this.crls.map((c) => ({
      issuer: c.issuer,
      thisUpdate: c.thisUpdate.toISOString(),
      nextUpdate: c.nextUpdate?.toISOString() ?? null,
      crlNumber: c.crlNumber,
      revoked: c.revoked.size,
      expired: c.nextUpdate !== null && c.nextUpdate < now,
    }));
    return {
      file: this.file,
      crls,
      revoked: crls.reduce((n, c) => n + c.revoked, 0),
      expired: crls.some((c) => c.expired),
      reloads: this.reloads,
      lastReloadAt: this.lastReloadAt,
      lastError: this.lastError,
    };
  }

  close(): void {
    this.unwatch();
    this.listeners.clear();
  }
}
