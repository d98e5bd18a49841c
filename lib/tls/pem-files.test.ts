import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { WatchedPemFiles, certificateCn, readPemFiles } from "./pem-files.js";

const dir = mkdtempSync(join(tmpdir(), "olelo-pem-"));
const f = (n: string) => join(dir, n);
function selfSigned(name: string): void {
  execFileSync("openssl", ["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", f(`${name}.key`), "-out", f(`${name}.pem`), "-days", "1", "-subj", `/CN=${name}`], { stdio: "ignore" });
}
selfSigned("one");
selfSigned("two");

describe("PEM files", () => {
  it("reads a matching pair and names the CN", () => {
    const m = readPemFiles({ cert: f("one.pem"), key: f("one.key"), ca: f("two.pem") });
    expect(certificateCn(m.cert!)).toBe("one");
    expect(m.ca).not.toBeNull();
  });
  it("names the file: missing, not PEM, key of another certificate", () => {
    expect(() => readPemFiles({ cert: f("nope.pem") })).toThrow(`cert file ${f("nope.pem")}: ENOENT`);
    writeFileSync(f("junk.pem"), "hello");
    expect(() => readPemFiles({ ca: f("junk.pem") })).toThrow(new RegExp(`^ca file ${f("junk.pem")} is not a PEM certificate`));
    expect(() => readPemFiles({ key: f("junk.pem") })).toThrow(new RegExp(`^key file ${f("junk.pem")} is not a PEM private key`));
    expect(() => readPemFiles({ cert: f("one.pem"), key: f("two.key") })).toThrow(`key file ${f("two.key")} does not belong to the certificate in ${f("one.pem")}`);
  });
  it("reload: a bad pair keeps the old material; a good one goes to the listeners", async () => {
    writeFileSync(f("cur.pem"), readFileSync(f("one.pem")));
    writeFileSync(f("cur.key"), readFileSync(f("one.key")));
    const w = new WatchedPemFiles({ cert: f("cur.pem"), key: f("cur.key") }, { pollMs: 0 });
    const seen: string[] = [];
    w.addIdentityCertificateListener((u) => seen.push(u ? certificateCn(u.certificate) : "none"));
    await new Promise((r) => setImmediate(r));
    expect(seen).toEqual(["one"]);
    writeFileSync(f("cur.pem"), readFileSync(f("two.pem")));
    const bad = w.reload();
    expect(bad.ok).toBe(false);
    expect(bad.error).toMatch(/does not belong to the certificate/);
    expect(certificateCn(w.current().cert!)).toBe("one");
    writeFileSync(f("cur.key"), readFileSync(f("two.key")));
    expect(w.reload()).toEqual({ ok: true, changed: true });
    expect(seen).toEqual(["one", "two"]);
    expect(w.status()).toMatchObject({ reloads: 1, lastError: null, subject: "CN=two" });
    w.close();
  });
});
