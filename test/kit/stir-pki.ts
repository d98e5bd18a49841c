/**
 * A throw-away STIR/SHAKEN PKI for tests, made with the openssl CLI in a temp folder: an EC P-256
 * root CA (the trust anchor), an intermediate CA, a signing leaf with the TNAuthList extension
 * (RFC 8226 §9, SPC "TEST"), a TLS server certificate for 127.0.0.1 (the x5u HTTPS server), and a
 * second, untrusted root with its own leaf. Plus a loopback HTTPS server that serves files.
 *
 * @example
 *   const pki = makeStirPki();            // pki.dir, pki.leafKey, pki.chainPem (leaf + intermediate), pki.caPem
 *   const srv = await serveHttps(pki, { "/sp.pem": readFileSync(pki.chainPem) });
 *   `${srv.url}/sp.pem`;                   // https://127.0.0.1:<port>/sp.pem
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:https";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";

export interface StirPki {
  readonly dir: string;
  /** Root CA certificate (trust anchor), PEM file. */
  readonly caPem: string;
  readonly leafKey: string;
  readonly leafCert: string;
  /** Leaf then intermediate, PEM file (what x5u serves). */
  readonly chainPem: string;
  readonly tlsKey: string;
  readonly tlsCert: string;
  /** A root the verifier does not trust, and a leaf key + chain under it. */
  readonly rogueCaPem: string;
  readonly rogueKey: string;
  readonly rogueChainPem: string;
}

const ossl = (dir: string, args: string[]) => execFileSync("openssl", args, { cwd: dir, stdio: ["ignore", "pipe", "pipe"] });

function ecKey(dir: string, name: string): void {
  ossl(dir, ["genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", name]);
}

function root(dir: string, name: string, cn: string): void {
  ecKey(dir, `${name}.key`);
  ossl(dir, ["req", "-x509", "-new", "-key", `${name}.key`, "-sha256", "-days", "30", "-subj", `/CN=${cn}`, "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign", "-out", `${name}.pem`]);
}

function issue(dir: string, name: string, issuer: string, cn: string, ext: string): void {
  ecKey(dir, `${name}.key`);
  ossl(dir, ["req", "-new", "-key", `${name}.key`, "-subj", `/CN=${cn}`, "-out", `${name}.csr`]);
  writeFileSync(join(dir, `${name}.ext`), ext);
  ossl(dir, ["x509", "-req", "-in", `${name}.csr`, "-CA", `${issuer}.pem`, "-CAkey", `${issuer}.key`, "-CAcreateserial", "-days", "30", "-sha256", "-extfile", `${name}.ext`, "-out", `${name}.pem`]);
}

/** TNAuthList with one SPC "TEST": SEQUENCE { [0] EXPLICIT IA5String "TEST" }. */
const TN_AUTH_LIST = "1.3.6.1.5.5.7.1.26=DER:30:08:A0:06:16:04:54:45:53:54";

export function makeStirPki(): StirPki {
  const dir = mkdtempSync(join(tmpdir(), "olelo-stir-"));
  root(dir, "ca", "Olelo Test STI-PA Root");
  issue(dir, "int", "ca", "Olelo Test STI-CA", "basicConstraints=critical,CA:TRUE\nkeyUsage=critical,keyCertSign,cRLSign\n");
  issue(dir, "leaf", "int", "SHAKEN TEST", `basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\n${TN_AUTH_LIST}\n`);
  issue(dir, "tls", "ca", "127.0.0.1", "basicConstraints=CA:FALSE\nsubjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n");
  root(dir, "rogue-ca", "Rogue Root");
  issue(dir, "rogue", "rogue-ca", "SHAKEN ROGUE", `basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\n${TN_AUTH_LIST}\n`);
  const cat = (out: string, ...files: string[]) => writeFileSync(join(dir, out), files.map((f) => readFileSync(join(dir, f), "utf8")).join(""));
  cat("chain.pem", "leaf.pem", "int.pem");
  cat("rogue-chain.pem", "rogue.pem");
  const p = (f: string) => join(dir, f);
  return {
    dir,
    caPem: p("ca.pem"),
    leafKey: p("leaf.key"),
    leafCert: p("leaf.pem"),
    chainPem: p("chain.pem"),
    tlsKey: p("tls.key"),
    tlsCert: p("tls.pem"),
    rogueCaPem: p("rogue-ca.pem"),
    rogueKey: p("rogue.key"),
    rogueChainPem: p("rogue-chain.pem"),
  };
}

export interface HttpsFiles {
  readonly url: string;
  readonly server: Server;
  /** Paths requested so far, in order. */
  readonly hits: string[];
  close(): Promise<void>;
}

/**
 * An HTTPS server on 127.0.0.1 serving `files` (path → body) with the PKI's TLS certificate;
 * `delayMs` holds the answer of some paths back (a slow certificate repository).
 */
export async function serveHttps(pki: StirPki, files: Record<string, Buffer | string>, port = 0, delayMs: Record<string, number> = {}): Promise<HttpsFiles> {
  const hits: string[] = [];
  const server = createServer({ key: readFileSync(pki.tlsKey), cert: readFileSync(pki.tlsCert) }, (req, res) => {
    hits.push(req.url ?? "");
    const body = files[req.url ?? ""];
    if (body === undefined) {
      res.writeHead(404).end();
      return;
    }
    setTimeout(() => res.writeHead(200, { "content-type": "application/x-pem-file" }).end(body), delayMs[req.url ?? ""] ?? 0);
  });
  await new Promise<void>((resolve) => server.listen(port, "127.0.0.1", resolve));
  const addr = server.address() as AddressInfo;
  return {
    url: `https://127.0.0.1:${addr.port}`,
    server,
    hits,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
