/**
 * Signing credentials and trust anchors, read from files and swapped in one step on reload (a
 * bad file keeps the old set live). Each credential is an EC P-256 private key and the x5u URL
 * where its certificate chain is published; an optional local copy of that chain lets the reload
 * check that the key matches the certificate.
 *
 * @example
 *   const store = await loadCredentials(params, resolvePath); // throws naming the bad file
 *   store.credential("default")?.key;
 */
import { createPrivateKey, createPublicKey, type KeyObject, type X509Certificate } from "node:crypto";
import { readFile } from "node:fs/promises";
import { parseAnchors, parsePemChain } from "./cert-chain.js";

/** One configured signing credential (the `credentials` parameter, or the `key_file` / `x5u` pair as "default"). */
export interface CredentialSpec {
  readonly name: string;
  readonly key_file: string;
  readonly x5u: string;
  readonly cert_file?: string;
}

export interface Credential {
  readonly name: string;
  readonly key: KeyObject;
  readonly x5u: string;
}

export interface CredentialStore {
  readonly credentials: ReadonlyMap<string, Credential>;
  readonly anchors: readonly X509Certificate[];
  /** CA bundle for the HTTPS fetch of x5u (PEM), or null for Node's default roots. */
  readonly fetchCa: string | null;
  readonly loadedAt: string;
}

export interface CredentialFiles {
  readonly specs: readonly CredentialSpec[];
  /** PEM bundles of trust anchors (STI-PA / STI-CA roots). */
  readonly caFiles: readonly string[];
  readonly fetchCaFile: string | null;
}

async function readText(path: string, what: string): Promise<string> {
  try {
    return await readFile(path, "utf8");
  } catch (e) {
    throw new Error(`stirshaken: cannot read ${what} ${path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
}

/** Reads every file; throws an Error naming the file and what is wrong with it. */
export async function loadCredentials(files: CredentialFiles): Promise<CredentialStore> {
  const credentials = new Map<string, Credential>();
  for (const s of files.specs) {
    if (credentials.has(s.name)) throw new Error(`stirshaken: credential '${s.name}' is defined twice`);
    let key: KeyObject;
    try {
      key = createPrivateKey(await readText(s.key_file, "key_file"));
    } catch (e) {
      if ((e as Error).message.startsWith("stirshaken:")) throw e;
      throw new Error(`stirshaken: key_file ${s.key_file} is not a PEM private key`);
    }
    if (key.asymmetricKeyType !== "ec" || key.asymmetricKeyDetails?.namedCurve !== "prime256v1") throw new Error(`stirshaken: key_file ${s.key_file} is not an EC P-256 key (ES256)`);
    if (s.cert_file) {
      const chain = parsePemChain(Buffer.from(await readText(s.cert_file, "cert_file")));
      if (typeof chain === "string") throw new Error(`stirshaken: cert_file ${s.cert_file}: ${chain}`);
      const pub = createPublicKey(key).export({ type: "spki", format: "der" });
      if (!chain[0]!.publicKey.export({ type: "spki", format: "der" }).equals(pub)) throw new Error(`stirshaken: cert_file ${s.cert_file} does not belong to key_file ${s.key_file}`);
    }
    credentials.set(s.name, { name: s.name, key, x5u: s.x5u });
  }
  const anchors: X509Certificate[] = [];
  for (const f of files.caFiles) anchors.push(...parseAnchors(await readText(f, "ca_file"), f));
  const fetchCa = files.fetchCaFile ? await readText(files.fetchCaFile, "x5u_tls_ca_file") : null;
  return { credentials, anchors, fetchCa, loadedAt: new Date().toISOString() };
}
