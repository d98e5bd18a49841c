/**
 * Certificate chains of PASSporT signers (RFC 8226, ATIS-1000080): the leaf first, then the
 * intermediates, as the x5u resource holds them; checked up to a configured trust anchor with
 * node:crypto's X509Certificate (signature, issuer name, validity period, CA flag).
 *
 * @example
 *   const chain = parsePemChain(body);           // X509Certificate[] or an error text
 *   checkChain(chain, anchors, Date.now());      // null when it leads to an anchor, else why not
 */
import { X509Certificate } from "node:crypto";

const PEM_CERT = /-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g;

/** Parses every PEM certificate in `text` (or one DER certificate); returns an error text on failure. */
export function parsePemChain(body: Buffer): X509Certificate[] | string {
  const text = body.toString("latin1");
  const pems = text.match(PEM_CERT);
  try {
    if (!pems) return [new X509Certificate(body)];
    return pems.map((p) => new X509Certificate(p));
  } catch {
    return "x5u resource is not an X.509 certificate";
  }
}

const MAX_DEPTH = 6;

function inValidity(c: X509Certificate, now: number): boolean {
  return Date.parse(c.validFrom) <= now && now <= Date.parse(c.validTo);
}

/** Checks that the leaf (chain[0]) leads to one of `anchors`; returns null or the reason it does not. */
export function checkChain(chain: readonly X509Certificate[], anchors: readonly X509Certificate[], now: number): string | null {
  const leaf = chain[0];
  if (!leaf) return "no certificate";
  if (!inValidity(leaf, now)) return "certificate expired or not yet valid";
  let cur = leaf;
  const used = new Set<X509Certificate>([leaf]);
  for (let depth = 0; depth < MAX_DEPTH; depth++) {
    if (anchors.some((a) => a.fingerprint256 === cur.fingerprint256)) return null;
    const anchor = anchors.find((a) => cur.checkIssued(a) && cur.verify(a.publicKey));
    if (anchor) return inValidity(anchor, now) ? null : "trust anchor expired";
    const next = chain.find((c) => !used.has(c) && c.ca && cur.checkIssued(c) && cur.verify(c.publicKey));
    if (!next) return "certificate chain does not lead to a trust anchor";
    if (!inValidity(next, now)) return "intermediate certificate expired";
    used.add(next);
    cur = next;
  }
  return "certificate chain too long";
}

/** Loads trust anchors from PEM text (a bundle); throws when the text holds none. */
export function parseAnchors(text: string, where: string): X509Certificate[] {
  const pems = text.match(PEM_CERT);
  if (!pems) throw new Error(`stirshaken: ${where} holds no PEM certificate`);
  return pems.map((p) => new X509Certificate(p));
}
