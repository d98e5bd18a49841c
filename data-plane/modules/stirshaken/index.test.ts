import { copyFileSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { RequestContext } from "../../core/api.js";
import { fakeHost, type FakeHost } from "../../testing/fake-host.js";
import { testRequest } from "../../testing/sip-harness.js";
import { makeStirPki, serveHttps, type HttpsFiles, type StirPki } from "../../../test/kit/stir-pki.js";
import stirshaken, { type StirshakenApi } from "./index.js";

const info = { transport: "internal" } as const;

/**
 * The real request context (data-plane/testing/sip-harness.ts) of an INVITE to 12155550131 with
 * these header fields, from `source`. What the module adds or replaces goes through the real
 * context and is mirrored in `h` (lower-case name → values); `replies` are [code, reason].
 */
function request(headers: Record<string, string[]>, source = "192.0.2.10") {
  const h = new Map(Object.entries(headers).map(([k, v]) => [k.toLowerCase(), [...v]]));
  const wire = [
    "INVITE sip:12155550131@b.example SIP/2.0",
    `Via: SIP/2.0/UDP ${source}:5060;branch=z9hG4bK-stir`,
    "Call-ID: c1@test",
    "CSeq: 1 INVITE",
    "Max-Forwards: 70",
    ...Object.entries(headers).flatMap(([n, vs]) => vs.map((v) => `${n}: ${v}`)),
  ].join("\r\n");
  const { req } = testRequest(`${wire}\r\n`, { source: { proto: "udp", address: source, port: 5060 } });
  const replies: Array<[number, string]> = [];
  const reply = req.reply.bind(req);
  req.reply = (code, reason, opts) => {
    replies.push([code, reason]);
    return reply(code, reason, opts);
  };
  const addHeader = req.addHeader.bind(req);
  req.addHeader = (n, v, opts) => {
    h.set(n.toLowerCase(), [...(h.get(n.toLowerCase()) ?? []), v]);
    addHeader(n, v, opts);
  };
  const replaceHeader = req.replaceHeader.bind(req);
  req.replaceHeader = (n, i, v) => {
    const l = h.get(n.toLowerCase());
    if (l && i < l.length) l[i] = v;
    return replaceHeader(n, i, v);
  };
  return { req: req as RequestContext, h, replies };
}

let pki: StirPki;
let srv: HttpsFiles;
let host: FakeHost;
let api: StirshakenApi;

beforeAll(async () => {
  pki = makeStirPki();
  srv = await serveHttps(pki, { "/sp.pem": readFileSync(pki.chainPem) });
  host = fakeHost("stirshaken", {
    key_file: pki.leafKey,
    x5u: `${srv.url}/sp.pem`,
    cert_file: pki.leafCert,
    ca_file: [pki.caPem],
    x5u_tls_ca_file: pki.caPem,
    x5u_allow: ["127.0.0.1"],
    on_failure: "reject",
  });
  api = (await stirshaken.init(host)) as StirshakenApi;
  const r = host.tables.load("stir_attest", { olelo_stir_attest: [{ id: 1, match_type: "source", match_value: "192.0.2.0/24", attest: "B", origid: "", credential: "" }] }, "v1", "test");
  if (!r.ok) throw r.error;
});
afterAll(() => srv?.close());

const caller = { From: ["<sip:12155550121@a.example>;tag=1"], To: ["<sip:12155550131@b.example>"], "P-Asserted-Identity": ["<sip:+12155550121@a.example;user=phone>"] };

describe("stirshaken module", () => {
  it("signs with the policy row's attestation and verifies its own Identity, marking P-Asserted-Identity", async () => {
    const a = request(caller);
    expect(api.stirshaken_add_identity(a.req)).toBe(1);
    const identity = a.h.get("identity")![0]!;
    expect(JSON.parse(Buffer.from(identity.split(".")[1]!, "base64url").toString())).toMatchObject({ attest: "B", orig: { tn: "12155550121" }, dest: { tn: ["12155550131"] } });
    const b = request({ ...caller, Identity: [identity] });
    expect(await api.stirshaken_check_identity(b.req)).toBe(1);
    expect(b.h.get("p-asserted-identity")![0]).toBe("<sip:+12155550121;verstat=TN-Validation-Passed@a.example;user=phone>");
    expect(api.result(b.req)).toMatchObject({ result: "passed", attest: "B" });
  });

  it("no row and no default_attest: not signed (-2); a name that is not a number: -1", () => {
    expect(api.stirshaken_add_identity(request(caller, "198.51.100.1").req)).toBe(-2);
    expect(api.stirshaken_add_identity(request({ From: ["<sip:alice@a.example>;tag=1"], To: ["<sip:bob@b.example>"] }).req)).toBe(-1);
    expect(api.stirshaken_add_identity(request(caller, "198.51.100.1").req, { attest: "C", credential: "nope", origid: "x" })).toBe(-3);
    // a malformed escape in the From user is bad input, not a crash
    expect(api.stirshaken_add_identity(request({ ...caller, From: ["<sip:%zz@a.example>;tag=1"] }, "198.51.100.1").req)).toBe(-2);
  });

  it("reject policy answers RFC 8224's code and returns -10; a missing Identity only marks (require_identity off)", async () => {
    const a = request(caller);
    api.stirshaken_add_identity(a.req);
    const forged = a.h.get("identity")![0]!.replace(/\.([A-Za-z0-9_-]{10})/, ".AAAAAAAAAA");
    const b = request({ ...caller, From: ["<sip:12155550199@a.example>;tag=1"], "P-Asserted-Identity": ["<sip:+12155550199@a.example>"], Identity: [a.h.get("identity")![0]!] });
    expect(await api.stirshaken_check_identity(b.req)).toBe(-10);
    expect(b.replies).toEqual([[438, "Invalid Identity Header"]]);
    expect(api.result(b.req)?.result).toBe("tn_mismatch");
    const c = request({ ...caller, Identity: [forged] });
    expect(await api.stirshaken_check_identity(c.req, { onFailure: "mark" })).toBeLessThan(0);
    expect(c.replies).toEqual([]);
    expect(c.h.get("p-asserted-identity")![0]).toContain(";verstat=TN-Validation-Failed@");
    const d = request(caller);
    expect(await api.stirshaken_check_identity(d.req)).toBe(-1);
    expect(d.replies).toEqual([]);
    expect(d.h.get("p-asserted-identity")![0]).toContain(";verstat=No-TN-Validation@");
    const st = (await host.rpc.call("stirshaken.status", [], info)) as { stats: Record<string, number> };
    expect(st.stats).toMatchObject({ passed: 1, tn_mismatch: 1, rejected: 1, no_identity: 1 });
  });

  it("reload answers after the new files are live; a bad key file is an error naming it and the old set stays", async () => {
    const dir = pki.dir;
    const h2 = fakeHost("stirshaken", { key_file: join(dir, "reload.key"), x5u: "https://cert.example.org/a.pem", ca_file: pki.caPem });
    copyFileSync(pki.leafKey, join(dir, "reload.key"));
    const api2 = (await stirshaken.init(h2)) as StirshakenApi;
    writeFileSync(join(dir, "reload.key"), "garbage");
    await expect(h2.rpc.call("stirshaken.reload", [], info)).rejects.toThrow(`key_file ${join(dir, "reload.key")} is not a PEM private key`);
    expect(api2.stirshaken_add_identity(request(caller).req, { attest: "A" })).toBe(1);
    copyFileSync(pki.rogueKey, join(dir, "reload.key"));
    expect(await h2.rpc.call("stirshaken.reload", [], info)).toMatchObject({ credentials: [{ name: "default", x5u: "https://cert.example.org/a.pem" }], anchors: [{ subject: "CN=Olelo Test STI-PA Root" }] });
    await expect(stirshaken.init(fakeHost("stirshaken", { key_file: pki.leafKey, x5u: "https://a.example/x", cert_file: pki.rogueChainPem }))).rejects.toThrow("does not belong to key_file");
    await expect(stirshaken.init(fakeHost("stirshaken", { key_file: pki.leafKey }))).rejects.toThrow("key_file and x5u go together");
  });

  it("the README documents every parameter, script function, RPC and counter", () => {
    const readme = readFileSync(new URL("./README.md", import.meta.url), "utf8");
    for (const m of host.rpc.list().map((x) => x.name).filter((n) => !n.startsWith("system."))) expect(readme, m).toContain(`\`${m}\``);
    for (const [k, v] of Object.entries(api)) if (typeof v === "function") expect(readme, k).toContain(`\`${k}(`);
    for (const p of stirshaken.params!.docs()) expect(readme, p.name).toContain(`\`${p.name}\``);
    for (const c of stirshaken.stats!.counters) expect(readme, c).toContain(`\`${c}\``);
  });
});
