import { createPrivateKey, X509Certificate } from "node:crypto";
import { readFileSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { makeStirPki, serveHttps, type HttpsFiles, type StirPki } from "../../../test/kit/stir-pki.js";
import { createAddressPolicy } from "./address-policy.js";
import { CertCache } from "./cert-cache.js";
import { checkChain, parsePemChain } from "./cert-chain.js";
import { formatIdentity } from "./identity-header.js";
import { signPassport } from "./passport.js";
import { verifyIdentity, type VerifyDeps } from "./verify.js";

let pki: StirPki;
let srv: HttpsFiles;
let anchors: X509Certificate[];
const ORIG = "12155550121";
const DEST = "12155550131";

beforeAll(async () => {
  pki = makeStirPki();
  srv = await serveHttps(pki, { "/sp.pem": readFileSync(pki.chainPem), "/rogue.pem": readFileSync(pki.rogueChainPem), "/junk.pem": "not a cert", "/big.pem": "x".repeat(5000) });
  anchors = [new X509Certificate(readFileSync(pki.caPem))];
});
afterAll(() => srv?.close());

const cacheFor = (allow = ["127.0.0.1/32"], over: Partial<ConstructorParameters<typeof CertCache>[0]> = {}) =>
  new CertCache({ ttlMs: 60_000, maxEntries: 10, maxBytes: 4096, timeoutMs: 2000, policy: createAddressPolicy(allow), ca: readFileSync(pki.caPem, "utf8"), ...over });

function identity(opts: { key?: string; path?: string; orig?: string; dest?: string; iat?: number } = {}): string {
  const x5u = `${srv.url}${opts.path ?? "/sp.pem"}`;
  const key = createPrivateKey(readFileSync(opts.key ?? pki.leafKey));
  const jwt = signPassport(key, { x5u }, { attest: "A", dest: { tn: [opts.dest ?? DEST] }, iat: opts.iat ?? Math.floor(Date.now() / 1000), orig: { tn: opts.orig ?? ORIG }, origid: "123e4567-e89b-12d3-a456-426655440000" });
  return formatIdentity(jwt, x5u);
}

describe("verification (RFC 8224 §6.2)", () => {
  let deps: VerifyDeps;
  beforeAll(() => {
    deps = { certs: cacheFor(), anchors, freshnessS: 60, timeoutMs: 3000 };
  });
  const run = (identities: string[], origTn: string | null = ORIG, destTns: string[] | null = [DEST]) => verifyIdentity({ identities, origTn, destTns }, deps);

  it("passes a PASSporT signed by the leaf whose chain (leaf + intermediate) leads to the anchor; the second call uses the cache", async () => {
    const before = srv.hits.length;
    const a = await run([identity()]);
    expect(a).toMatchObject({ result: "passed", code: 1, verstat: "TN-Validation-Passed", attest: "A", origTn: ORIG });
    expect((await run([identity()])).result).toBe("passed");
    expect(srv.hits.length - before).toBe(1);
  });

  it("no Identity → 428; bad signature → 438; stale iat → 403 Stale Date; wrong TNs → 438", async () => {
    expect(await run([])).toMatchObject({ result: "no_identity", sipCode: 428, verstat: "No-TN-Validation" });
    const good = identity();
    const [tok, params] = [good.slice(0, good.indexOf(";")), good.slice(good.indexOf(";"))];
    const sig = Buffer.from(tok.split(".")[2]!, "base64url");
    sig[5]! ^= 0xff;
    const forged = `${tok.split(".").slice(0, 2).join(".")}.${sig.toString("base64url")}${params}`;
    expect(await run([forged])).toMatchObject({ result: "bad_signature", sipCode: 438, sipReason: "Invalid Identity Header", verstat: "TN-Validation-Failed" });
    const stale = await run([identity({ iat: Math.floor(Date.now() / 1000) - 120 })]);
    expect(stale).toMatchObject({ result: "stale", sipCode: 403, sipReason: "Stale Date" });
    expect(await run([identity({ orig: "19995550000" })])).toMatchObject({ result: "tn_mismatch", sipCode: 438 });
    expect(await run([identity()], "19995550000")).toMatchObject({ result: "tn_mismatch" });
    expect(await run([identity({ dest: "19995550000" })])).toMatchObject({ result: "tn_mismatch" });
    expect((await run([identity({ dest: "19995550000" })], ORIG, null)).result).toBe("passed");
    expect(await run(["garbage;info=<x"])).toMatchObject({ result: "invalid", sipCode: 438 });
    expect(await run([identity().replace("ppt=shaken", "ppt=div")])).toMatchObject({ result: "unsupported", sipCode: 437 });
  });

  it("a chain under an untrusted root → 437; a non-certificate or oversized x5u → 436", async () => {
    expect(await run([identity({ key: pki.rogueKey, path: "/rogue.pem" })])).toMatchObject({ result: "untrusted", sipCode: 437, detail: "certificate chain does not lead to a trust anchor" });
    expect(await run([identity({ path: "/junk.pem" })])).toMatchObject({ result: "bad_info", sipCode: 436, sipReason: "Bad Identity Info" });
    expect(await run([identity({ path: "/big.pem" })])).toMatchObject({ result: "bad_info", detail: "x5u body larger than 4096 bytes" });
    expect(await run([identity({ path: "/missing.pem" })])).toMatchObject({ result: "bad_info", detail: "x5u answered HTTP 404" });
  });

  it("the leaf alone (intermediate missing) does not reach the anchor", () => {
    const leafOnly = parsePemChain(readFileSync(pki.leafCert));
    if (typeof leafOnly === "string") throw new Error(leafOnly);
    expect(checkChain(leafOnly, anchors, Date.now())).toBe("certificate chain does not lead to a trust anchor");
    const full = parsePemChain(readFileSync(pki.chainPem)) as X509Certificate[];
    expect(checkChain(full, anchors, Date.now())).toBeNull();
    expect(checkChain(full, anchors, Date.now() + 90 * 86_400_000)).toBe("certificate expired or not yet valid");
  });

  it("the whole verification is bounded: a server that never answers gives `timeout`", async () => {
    const { createServer } = await import("node:net");
    const silent = createServer(() => undefined);
    await new Promise<void>((r) => silent.listen(0, "127.0.0.1", r));
    const port = (silent.address() as { port: number }).port;
    const x5u = `https://127.0.0.1:${port}/sp.pem`;
    const jwt = signPassport(createPrivateKey(readFileSync(pki.leafKey)), { x5u }, { attest: "B", dest: { tn: [DEST] }, iat: Math.floor(Date.now() / 1000), orig: { tn: ORIG }, origid: "x" });
    const t0 = Date.now();
    const out = await verifyIdentity({ identities: [formatIdentity(jwt, x5u)], origTn: ORIG, destTns: [DEST] }, { ...deps, certs: cacheFor(), timeoutMs: 300 });
    expect(out.result).toBe("timeout");
    expect(Date.now() - t0).toBeLessThan(1500);
    silent.close();
  });
});

describe("x5u policy", () => {
  it("refuses http://, credentials and private / loopback addresses unless allow-listed", async () => {
    const strict = cacheFor([]);
    expect(await strict.get(`http://127.0.0.1:1/sp.pem`)).toEqual({ error: "x5u must be https" });
    expect(await strict.get(`https://u:p@cert.example.org/a.pem`)).toEqual({ error: "x5u must not carry credentials" });
    expect(await strict.get(`${srv.url}/sp.pem`)).toEqual({ error: "x5u address 127.0.0.1 is refused" });
    for (const host of ["10.1.2.3", "192.168.1.1", "172.16.0.9", "169.254.169.254", "[::1]", "[fe80::1]", "[fd00::5]", "100.64.0.1"]) {
      expect((await strict.get(`https://${host}/a.pem`)).error, host).toMatch(/is refused$/);
    }
    const r = await strict.get(`https://localhost:${srv.url.split(":")[2]}/sp.pem`);
    expect(r.error).toMatch(/refused address/);
    expect((await cacheFor(["127.0.0.1"]).get(`${srv.url}/sp.pem`)).chain?.length).toBe(2);
    expect((await cacheFor(["localhost"]).get(`https://localhost:${srv.url.split(":")[2]}/sp.pem`)).chain?.length).toBe(2);
    const p = createAddressPolicy([]);
    expect(p.addressAllowed("8.8.8.8", "x")).toBe(true);
    expect(p.addressAllowed("2001:4860:4860::8888", "x")).toBe(true);
    expect(() => createAddressPolicy(["10.0.0.0/99"])).toThrow("bad prefix length");
  });

  it("the HTTPS server certificate is checked: without the test CA the fetch fails", async () => {
    const r = await cacheFor(["127.0.0.1/32"], { ca: null }).get(`${srv.url}/sp.pem`);
    expect(r.error).toMatch(/^x5u fetch failed: /);
  });

  it("the cache is bounded and LRU, concurrent gets share one fetch, clear empties it", async () => {
    const c = cacheFor(["127.0.0.1/32"], { maxEntries: 2 });
    const before = srv.hits.length;
    await Promise.all([c.get(`${srv.url}/sp.pem`), c.get(`${srv.url}/sp.pem`), c.get(`${srv.url}/sp.pem`)]);
    expect(srv.hits.length - before).toBe(1);
    await c.get(`${srv.url}/rogue.pem`);
    await c.get(`${srv.url}/sp.pem`); // hit: now most recent
    await c.get(`${srv.url}/junk.pem`);
    expect(c.list().map((e) => e.url.split("/").pop())).toEqual(["sp.pem", "junk.pem"]);
    expect(c.clear()).toBe(2);
  });
});
