import { X509Certificate } from "node:crypto";
import { readFileSync, writeFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { makeFleetPki } from "./kit/fleet-pki.js";
import { WatchedCrl, parseCrlPem, pemCertificates } from "../lib/tls/crl.js";

const pki = makeFleetPki();
pki.ca("fleet-ca");
pki.ca("other-ca");
for (const n of ["edge-1", "edge-2"]) pki.cert("fleet-ca", n, n, false);
pki.cert("other-ca", "edge-1", "edge-1-other", false);
const ca = () => readFileSync(pki.f("fleet-ca.pem"));
const cert = (n: string) => new X509Certificate(readFileSync(pki.f(`${n}.pem`)));

describe("CRL (openssl ca -gencrl)", () => {
  it("parses issuer, dates, CRL number and serials, and verifies the signature", () => {
    pki.crl("fleet-ca", "empty.crl");
    pki.revoke("fleet-ca", "edge-1");
    pki.crl("fleet-ca", "one.crl", 3);
    const [empty] = parseCrlPem(readFileSync(pki.f("empty.crl")), pemCertificates(ca()));
    expect(empty!.issuer).toBe("CN=fleet-ca");
    expect(empty!.revoked.size).toBe(0);
    const [one] = parseCrlPem(readFileSync(pki.f("one.crl")), pemCertificates(ca()));
    expect([...one!.revoked.keys()]).toEqual([pki.serial("edge-1")]);
    expect(one!.crlNumber).toBe("1001");
    expect(one!.nextUpdate!.getTime() - one!.thisUpdate.getTime()).toBe(3 * 86400_000);
    // signed by another CA than the one trusted / tampered
    expect(() => parseCrlPem(readFileSync(pki.f("one.crl")), pemCertificates(readFileSync(pki.f("other-ca.pem"))))).toThrow(/^CRL issuer is none of the CA certificates \(CN=other-ca\)$/);
    expect(() => parseCrlPem("junk", [])).toThrow("no '-----BEGIN X509 CRL-----' block");
  });

  it("WatchedCrl: revocation by serial and issuer, reload keeps the old list on a bad file", () => {
    pki.crl("fleet-ca", "w.crl");
    const w = new WatchedCrl(pki.f("w.crl"), ca, { pollMs: 0 });
    expect(w.revocation(cert("edge-1"))).toMatch(/^certificate serial [0-9A-F]+ is revoked by the CRL of CN=fleet-ca \(since 20\d\d-/);
    expect(w.revocation(cert("edge-2"))).toBeNull();
    // same serial from another CA: not this CRL's business (and not trusted anyway)
    expect(w.revocation(cert("edge-1-other"))).toBeNull();
    let changes = 0;
    w.onChange(() => changes++);
    pki.revoke("fleet-ca", "edge-2");
    pki.crl("fleet-ca", "w.crl");
    expect(w.reload()).toEqual({ ok: true, changed: true });
    expect(changes).toBe(1);
    expect(w.revocation(cert("edge-2"))).not.toBeNull();
    expect(w.status()).toMatchObject({ revoked: 2, expired: false, crls: [{ issuer: "CN=fleet-ca", revoked: 2 }] });
    const der = Buffer.from(readFileSync(pki.f("w.crl"), "latin1").replace(/-----[^-]+-----|\s/g, ""), "base64");
    der[der.length - 8] ^= 0x01; // inside the signature
    writeFileSync(pki.f("w.crl"), `-----BEGIN X509 CRL-----\n${der.toString("base64")}\n-----END X509 CRL-----\n`);
    const bad = w.reload();
    expect(bad.ok).toBe(false);
    expect(bad.error).toMatch(/^crl file .*w\.crl: CRL signature does not verify with the key of CN=fleet-ca$/);
    expect(w.revocation(cert("edge-2"))).not.toBeNull();
    w.close();
  });
});
