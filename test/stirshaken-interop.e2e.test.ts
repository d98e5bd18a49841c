/**
 * STIR/SHAKEN interop with Kamailio's secsipid module (issue 16), with certificates the test
 * makes (test/kit/stir-pki.ts: EC P-256 root → intermediate → leaf with TNAuthList) served over
 * HTTPS on loopback as the x5u. Olelo runs as `npm start` with the stirshaken module, its policy
 * table olelo_stir_attest from a standalone table file, and test/scripts/stirshaken-interop.ts.
 *
 *   A: sipp → Olelo (stirshaken_add_identity) → Kamailio :K1 (secsipid_check_identity("")) → sipp UAS A
 *   B: sipp → Kamailio :K2 (secsipid_add_identity) → Olelo (stirshaken_check_identity, reject) → sipp UAS B (checks verstat)
 *
 * Ports: a block of 16 from test/kit/ports.ts (freePortBlock).
 */
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ROOT, rpcResult, spawnCommand, waitUntil, type TestProcess } from "./helpers/processes.js";
import { runSipp, startSippServer, type SippServer } from "./helpers/sipp.js";
import { freePortBlock } from "./kit/ports.js";
import { waitUntil as until } from "./kit/wait.js";
import { makeStirPki, serveHttps, type HttpsFiles, type StirPki } from "./kit/stir-pki.js";

const P = await freePortBlock(16);
const CTL = P + 1;
const K1 = P + 2; // Kamailio: verifies
const K2 = P + 3; // Kamailio: signs
const UAS_A = P + 4;
const UAS_B = P + 5;
const HTTPS = P + 6;
let uacPort = P + 8;

const SIGNED = "12155550121"; // has an olelo_stir_attest row (account → A)
const UNSIGNED = "12155550177"; // no row, default_attest '' → Olelo does not sign
const ROGUE = "12155550199"; // Kamailio signs it with a key under an untrusted root
const SLOW = "12155550122"; // Kamailio's x5u for it answers after 1.2 s
const DEST = "12155550131";

function call(remote: number, from: string, code: number) {
  return runSipp({
    scenario: "stir_uac.xml",
    port: uacPort++,
    remote: `127.0.0.1:${remote}`,
    calls: 1,
    service: DEST,
    timeoutS: 15,
    // ack_uri first: its text may hold a placeholder sipp fills
    templ: { ack_uri: code === 200 ? "[next_url]" : `sip:${DEST}@127.0.0.1:${remote}`, from, code: String(code) },
  });
}

function kamailioCfg(pki: StirPki, x5u: string, rogueX5u: string, slowX5u: string, olelo: number): string {
  return [
    "#!KAMAILIO",
    "debug=2",
    "log_stderror=yes",
    "children=1",
    `listen=udp:127.0.0.1:${K1}`,
    `listen=udp:127.0.0.1:${K2}`,
    'mpath="/usr/lib/x86_64-linux-gnu/kamailio/modules/"',
    ...["tm", "sl", "pv", "xlog", "textops", "siputils", "maxfwd", "secsipid"].map((m) => `loadmodule "${m}.so"`),
    'modparam("secsipid", "expire", 60)',
    'modparam("secsipid", "timeout", 3)',
    "request_route {",
    "  if (!mf_process_maxfwd_header(10)) { sl_send_reply(\"483\", \"Too Many Hops\"); exit; }",
    "  if (has_totag()) { t_relay(); exit; }",
    "  if (is_method(\"ACK|CANCEL\")) { if (t_check_trans()) t_relay(); exit; }",
    `  if ($Rp == ${K1}) {`,
    '    if (!is_present_hf("Identity")) { sl_send_reply("428", "Use Identity Header"); exit; }',
    '    if (!secsipid_check_identity("")) { xlog("L_NOTICE", "secsipid: check failed for $fU\\n"); sl_send_reply("438", "Invalid Identity Header"); exit; }',
    '    xlog("L_NOTICE", "secsipid: verified $fU\\n");',
    '    append_hf("X-Kamailio-Verified: secsipid\\r\\n");',
    `    $du = "sip:127.0.0.1:${UAS_A}";`,
    "    t_relay(); exit;",
    "  }",
    `  $var(x5u) = "${x5u}"; $var(key) = "${pki.leafKey}";`,
    `  if ($fU == "${ROGUE}") { $var(x5u) = "${rogueX5u}"; $var(key) = "${pki.rogueKey}"; }`,
    `  if ($fU == "${SLOW}") { $var(x5u) = "${slowX5u}"; }`,
    '  if (!secsipid_add_identity("$fU", "$tU", "A", "", "$var(x5u)", "$var(key)")) { sl_send_reply("500", "Signing Failed"); exit; }',
    `  $du = "sip:127.0.0.1:${olelo}";`,
    "  t_relay();",
    "}",
    "",
  ].join("\n");
}

describe("STIR/SHAKEN interop with Kamailio secsipid", () => {
  let pki: StirPki;
  let https: HttpsFiles;
  let kam: TestProcess;
  let olelo: TestProcess;
  let uasA: SippServer;
  let uasB: SippServer;
  const rpc = (method: string, params?: unknown) => rpcResult(`http://127.0.0.1:${CTL}/RPC`, method, params);

  beforeAll(async () => {
    pki = makeStirPki();
    const chain = readFileSync(pki.chainPem);
    https = await serveHttps(pki, { "/sp.pem": chain, "/slow.pem": chain, "/rogue.pem": readFileSync(pki.rogueChainPem) }, HTTPS, { "/slow.pem": 1200 });
    const x5u = `${https.url}/sp.pem`;
    const dir = mkdtempSync(join(tmpdir(), "olelo-stir-e2e-"));
    writeFileSync(join(dir, "kamailio.cfg"), kamailioCfg(pki, x5u, `${https.url}/rogue.pem`, `${https.url}/slow.pem`, P));
    // Go (libsecsipid) takes the HTTPS server's CA from SSL_CERT_FILE
    kam = spawnCommand("kamailio secsipid", "kamailio", ["-DD", "-E", "-f", join(dir, "kamailio.cfg"), "-m", "64", "-M", "8", "-Y", dir], { SSL_CERT_FILE: pki.caPem });
    await waitUntil("kamailio", () => kam.log().includes("SO_RCVBUF is finally"), 15_000, [kam]);
    writeFileSync(join(dir, "stir-attest.json"), JSON.stringify({ olelo_stir_attest: [{ id: 1, match_type: "account", match_value: SIGNED, attest: "A", origid: "", credential: "", description: "test caller" }] }));
    uasB = await startSippServer({ scenario: "stir_uas.xml", port: UAS_B, templ: { check_hdr: "P-Asserted-Identity:", check_re: ";verstat=TN-Validation-Passed@" } });
    writeFileSync(
      join(dir, "olelo.json"),
      JSON.stringify({
        node: "stir-e2e",
        listen: [`udp:127.0.0.1:${P}`],
        script: { file: join(ROOT, "test/scripts/stirshaken-interop.ts"), settings: { signedNextHop: `sip:127.0.0.1:${K1}`, verifiedNextHop: `sip:127.0.0.1:${UAS_B}` } },
        control: { listen: `127.0.0.1:${CTL}` },
        modules: {
          stirshaken: {
            key_file: pki.leafKey,
            x5u,
            cert_file: pki.leafCert,
            ca_file: pki.caPem,
            x5u_tls_ca_file: pki.caPem,
            x5u_allow: ["127.0.0.1/32"],
            on_failure: "reject",
          },
        },
        tables: { stir_attest: join(dir, "stir-attest.json") },
        dataDir: join(dir, "data"),
      }),
    );
    olelo = spawnCommand("npm start (stirshaken)", "npm", ["start", "--", "--config", join(dir, "olelo.json")]);
    await waitUntil("npm start", () => olelo.log().includes("olelo data plane running"), 30_000, [olelo]);
    uasA = await startSippServer({ scenario: "stir_uas.xml", port: UAS_A, templ: { check_hdr: "X-Kamailio-Verified:", check_re: "secsipid" } });
  }, 60_000);

  afterAll(async () => {
    await uasA?.stop();
    await uasB?.stop();
    await olelo?.stop();
    await kam?.stop();
    await https?.close();
  });

  it("A: a call signed by Olelo verifies in Kamailio (secsipid_check_identity) and reaches the callee", async () => {
    const r = await call(P, SIGNED, 200);
    expect(r.successful, r.errors || kam.log().slice(-2000)).toBe(1);
    expect(kam.log()).toContain(`secsipid: verified ${SIGNED}`);
    await until(() => uasA.stats().successful === 1, { timeoutMs: 8000, what: "UAS A counted the call (Identity and X-Kamailio-Verified present)" });
    expect((await rpc("stirshaken.status")).stats.signed).toBe(1);
  });

  it("A: a caller without an attestation row is not signed, and Kamailio answers 428", async () => {
    const r = await call(P, UNSIGNED, 428);
    expect(r.successful, r.errors).toBe(1);
    expect((await rpc("stirshaken.status")).stats.sign_failed).toBe(1);
  });

  it("B: a call signed by Kamailio (secsipid_add_identity) verifies in Olelo, fetched once over HTTPS, and reaches the callee with verstat", async () => {
    const before = https.hits.filter((h) => h === "/sp.pem").length;
    for (let i = 0; i < 2; i++) {
      const r = await call(K2, SIGNED, 200);
      expect(r.successful, r.errors || olelo.log().slice(-2000)).toBe(1);
    }
    await until(() => uasB.stats().successful === 2, { timeoutMs: 8000, what: "UAS B counted both calls (verstat=TN-Validation-Passed on P-Asserted-Identity)" });
    const st = await rpc("stirshaken.status");
    expect(st.stats.passed).toBe(2);
    expect(st.stats.x5u_cache_hits).toBeGreaterThanOrEqual(1);
    expect(https.hits.filter((h) => h === "/sp.pem").length - before).toBe(1);
    expect((await rpc("stirshaken.cache_list")).map((e: { url: string }) => e.url)).toContain(`${https.url}/sp.pem`);
  });

  it("B: while Olelo waits 1.2 s for a slow x5u the INVITE transaction stays suspended, then the call passes, verified once", async () => {
    const passed = (await rpc("stirshaken.status")).stats.passed as number;
    const t0 = Date.now();
    const r = await call(K2, SLOW, 200);
    expect(r.successful, r.errors || olelo.log().slice(-2000)).toBe(1);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(1100);
    expect(https.hits.filter((h) => h === "/slow.pem")).toHaveLength(1);
    await until(() => uasB.stats().successful === 3, { timeoutMs: 8000, what: "UAS B counted the slow call" });
    expect((await rpc("stirshaken.status")).stats.passed).toBe(passed + 1);
  });

  it("B: Kamailio signing with a key under an untrusted root is refused by Olelo with 437", async () => {
    const r = await call(K2, ROGUE, 437);
    expect(r.successful, r.errors).toBe(1);
    const st = await rpc("stirshaken.status");
    expect(st.stats.untrusted).toBe(1);
    expect(st.stats.rejected).toBe(1);
  });

  it("stirshaken.reload re-reads keys and anchors (and refuses x5u checks outside the policy)", async () => {
    const r = await rpc("stirshaken.reload");
    expect(r.credentials).toEqual([{ name: "default", x5u: `${https.url}/sp.pem` }]);
    expect(r.anchors).toHaveLength(1);
    await expect(rpc("stirshaken.check", { url: `http://127.0.0.1:${HTTPS}/sp.pem` })).rejects.toThrow("x5u must be https");
    expect(await rpc("stirshaken.check", { url: `${https.url}/sp.pem` })).toMatchObject({ chain_length: 2, trusted: true, subject: "CN=SHAKEN TEST" });
    expect(await rpc("stirshaken.check", { url: `${https.url}/rogue.pem` })).toMatchObject({ trusted: false, reason: "certificate chain does not lead to a trust anchor" });
  });
});
