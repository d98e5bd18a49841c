/**
 * A throw-away fleet PKI for push-channel tests, made with the openssl CLI in a temp folder: CAs
 * (EC P-256), server certificates (SAN 127.0.0.1, localhost) and client certificates (CN = node id),
 * and CRLs made the way an operator makes them: `openssl ca -revoke` into the CA's index, then
 * `openssl ca -gencrl`.
 *
 * @example
 *   const pki = makeFleetPki();
 *   pki.ca("fleet-ca"); pki.cert("fleet-ca", "edge-1", "edge-1", false);
 *   pki.revoke("fleet-ca", "edge-1"); pki.crl("fleet-ca", "fleet.crl");   // PEM CRL listing edge-1
 *   pki.f("edge-1.pem"); pki.serial("edge-1");                              // file path, "1A2B…"
 */
import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

export interface FleetPki {
  readonly dir: string;
  f(name: string): string;
  /** Self-signed CA `<name>.pem` / `<name>.key`, with its own `openssl ca` database. */
  ca(name: string): void;
  /** `<out>.pem` / `<out>.key` for `cn`, signed by `ca`; a random 64-bit serial. */
  cert(ca: string, cn: string, out: string, server: boolean): void;
  /** Adds `<out>.pem` to `ca`'s revoked list (its index.txt). */
  revoke(ca: string, out: string): void;
  /** Writes `ca`'s current CRL (PEM) to `file` (a path in dir); valid `days` (default 1). */
  crl(ca: string, file: string, days?: number): string;
  /** Serial of `<out>.pem` as uppercase hex without leading zeros. */
  serial(out: string): string;
}

export function makeFleetPki(dir = mkdtempSync(join(tmpdir(), "olelo-fleet-pki-"))): FleetPki {
  const f = (n: string) => join(dir, n);
  const openssl = (args: string[]) => execFileSync("openssl", args, { cwd: dir, stdio: ["ignore", "pipe", "pipe"] });
  const cnf = (ca: string) => {
    const db = f(`${ca}.db`);
    const file = join(db, "openssl.cnf");
    writeFileSync(
      file,
      [
        "[ca]", "default_ca = fleet", "[fleet]", `dir = ${db}`, "database = $dir/index.txt", "crlnumber = $dir/crlnumber",
        `certificate = ${f(`${ca}.pem`)}`, `private_key = ${f(`${ca}.key`)}`, "default_md = sha256", "default_crl_days = 1",
        "new_certs_dir = $dir", "policy = any", "[any]", "commonName = supplied", "",
      ].join("\n"),
    );
    return file;
  };
  return {
    dir,
    f,
    ca(name) {
      openssl(["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", f(`${name}.key`), "-out", f(`${name}.pem`), "-days", "2",
        "-subj", `/CN=${name}`, "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign"]);
      mkdirSync(f(`${name}.db`), { recursive: true });
      writeFileSync(join(f(`${name}.db`), "index.txt"), "");
      writeFileSync(join(f(`${name}.db`), "crlnumber"), "1000\n");
    },
    cert(ca, cn, out, server) {
      openssl(["req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", f(`${out}.key`), "-out", f(`${out}.csr`), "-subj", `/CN=${cn}`]);
      writeFileSync(f(`${out}.ext`), server ? "subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n" : "extendedKeyUsage=clientAuth\n");
      openssl(["x509", "-req", "-in", f(`${out}.csr`), "-CA", f(`${ca}.pem`), "-CAkey", f(`${ca}.key`), "-set_serial", `0x${randomBytes(8).toString("hex")}`,
        "-out", f(`${out}.pem`), "-days", "2", "-extfile", f(`${out}.ext`)]);
    },
    revoke(ca, out) {
      openssl(["ca", "-config", cnf(ca), "-revoke", f(`${out}.pem`)]);
    },
    crl(ca, file, days = 1) {
      openssl(["ca", "-config", cnf(ca), "-gencrl", "-crldays", String(days), "-out", f(file)]);
      return f(file);
    },
    serial(out) {
      const s = execFileSync("openssl", ["x509", "-in", f(`${out}.pem`), "-noout", "-serial"], { encoding: "utf8" }).trim().split("=")[1]!;
      return s.toUpperCase().replace(/^0+(?=.)/, "");
    },
  };
}

/** Reads a file of the PKI (convenience for tests that copy certificates around). */
export const readPki = (pki: FleetPki, name: string): Buffer => readFileSync(pki.f(name));
