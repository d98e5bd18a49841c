/**
 * uac end to end against sipp carriers, with `npm start --config` (the default script; a
 * uac_replace_from script for the last part): (1) a carrier challenging INVITE with 407 (MD5 and
 * SHA-256) — Olelo answers, the call completes, the carrier sees a valid Proxy-Authorization and
 * CSeq 2 INVITE / 2 ACK / 3 BYE while the caller keeps 1 / 1 / 2; (2) a registrar challenging
 * REGISTER with 401 — uac.reg_dump shows it registered, it is refreshed before expiry, a call from
 * the carrier to the registered Contact user reaches the row's local user; a registrar that
 * always refuses shows the retry back-off; (3) uac_replace_from: the callee sees the new From, the
 * caller the original in replies, the callee's BYE reaches the caller with its own From as To.
 */
import { createHash } from "node:crypto";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { rpcResult, spawnCommand, waitForPort, waitUntil, type TestProcess } from "./helpers/processes.js";
import { runSipp, startSippServer, type SippServer } from "./helpers/sipp.js";
import { freePortBlock } from "./kit/ports.js";
import { letTimePass } from "./kit/wait.js";

const P = await freePortBlock(20);
const SIP = P;
const CTRL = P + 1;
const CARRIER_MD5 = P + 2;
const CARRIER_SHA = P + 3;
const REGISTRAR = P + 4;
const BAD_REGISTRAR = P + 5;
const PBX = P + 6;
const CALLER = P + 7;
const SIP2 = P + 10;
const CTRL2 = P + 11;
const CALLEE2 = P + 12;
const CALLER2 = P + 13;

const hash = (alg: string, s: string) => createHash(alg).update(s).digest("hex");

/** The request-digest a server computes (RFC 2617 §3.2.2.1 / RFC 7616 §3.4.1), written here independently of the module. */
function expectValidDigest(header: string, method: string, user: string, password: string, alg: "md5" | "sha256"): void {
  const p = (n: string) => new RegExp(`[ ,]${n}="?([^",]+)"?`).exec(` ${header.replace(/^Digest /, "")}`)?.[1];
  expect(p("username")).toBe(user);
  const ha1 = hash(alg, `${user}:${p("realm")}:${password}`);
  const ha2 = hash(alg, `${method}:${p("uri")}`);
  expect(p("qop")).toBe("auth");
  expect(p("response")).toBe(hash(alg, `${ha1}:${p("nonce")}:${p("nc")}:${p("cnonce")}:auth:${ha2}`));
}

/** Header values of one name in sipp's message trace (received messages only), in order. */
function tracedHeaders(file: string, name: string): string[] {
  const text = readFileSync(file, "latin1");
  const out: string[] = [];
  for (const m of text.matchAll(new RegExp(`^${name}: (.*)$`, "gim"))) out.push(m[1]!.trim());
  return out;
}

function writeConfig(dir: string, o: Record<string, unknown>): string {
  const file = join(dir, "olelo.json");
  writeFileSync(file, JSON.stringify({ log: { level: "warn" }, dataDir: join(dir, "data"), ...o }, null, 2));
  return file;
}

async function startOlelo(name: string, file: string, ctrl: number): Promise<TestProcess> {
  const proc = spawnCommand(name, "npm", ["start", "--", "--config", file]);
  await waitForPort(ctrl, "127.0.0.1", 40_000, [proc]);
  return proc;
}

const row = (o: Record<string, unknown>) => ({
  l_uuid: "",
  l_username: "",
  l_domain: "",
  r_username: "",
  r_domain: "",
  realm: "",
  auth_username: "",
  auth_password: "",
  auth_ha1: "",
  auth_proxy: "",
  expires: 0,
  flags: 0,
  reg_delay: 0,
  contact_addr: "",
  socket: "",
  ...o,
});

describe("uac with the default script (npm start)", () => {
  const dir = mkdtempSync(join(tmpdir(), "olelo-uac-"));
  const rpc = `http://127.0.0.1:${CTRL}/RPC`;
  let olelo: TestProcess;
  const servers: Record<string, SippServer> = {};
  const trace = (n: string) => join(dir, `${n}.msg`);

  beforeAll(async () => {
    writeFileSync(
      join(dir, "uacreg.json"),
      JSON.stringify({
        uacreg: [
          row({ id: 1, l_uuid: "carrier1", r_domain: "127.0.0.1", realm: "carrier.test", auth_username: "olelo-trunk", auth_password: "trunk-secret" }),
          row({ id: 2, l_uuid: "trunk7788", l_username: "pbxuser", l_domain: `127.0.0.1:${PBX}`, r_username: "acct7788", r_domain: `127.0.0.1:${REGISTRAR}`, realm: "registrar.test", auth_username: "acct7788", auth_password: "reg-secret", expires: 4 }),
          row({ id: 3, l_uuid: "badtrunk", l_username: "bad", l_domain: "127.0.0.1", r_username: "bad", r_domain: `127.0.0.1:${BAD_REGISTRAR}`, auth_username: "bad", auth_password: "x", expires: 60 }),
        ],
      }),
    );
    const uas = (n: string, scenario: string, port: number, templ: Record<string, string>) =>
      startSippServer({ scenario, port, templ, extra: ["-trace_msg", "-message_file", trace(n)] }).then((s) => (servers[n] = s));
    await Promise.all([
      uas("md5", "uac_carrier_407.xml", CARRIER_MD5, { alg: "MD5" }),
      uas("sha", "uac_carrier_407.xml", CARRIER_SHA, { alg: "SHA-256" }),
      uas("reg", "uac_registrar_401.xml", REGISTRAR, { uuid: "trunk7788", expires: "4" }),
      uas("bad", "uac_registrar_403.xml", BAD_REGISTRAR, {}),
      uas("pbx", "uac_pbx_answer.xml", PBX, { ruri: `sip:pbxuser@127.0.0.1:${PBX}` }),
    ]);
    const file = writeConfig(dir, {
      node: "uac-1",
      listen: [`udp:127.0.0.1:${SIP}`],
      control: { listen: `127.0.0.1:${CTRL}` },
      modules: { uac: { reg_timer_interval: 1, reg_retry_interval: 1, reg_retry_max: 4, reg_timeout_ms: 2000 } },
      tables: { uacreg: "uacreg.json" },
    });
    olelo = await startOlelo("npm start uac", file, CTRL);
  }, 60_000);

  afterAll(async () => {
    await olelo?.stop();
    for (const s of Object.values(servers)) await s.stop();
  });

  it.each([
    ["MD5", "md5", CARRIER_MD5],
    ["SHA-256", "sha", CARRIER_SHA],
  ] as const)("answers a carrier's 407 (%s): the call completes, CSeq stays consistent on both sides", async (_alg, name, port) => {
    const r = await runSipp({ scenario: "uac_caller.xml", port: CALLER, remote: `127.0.0.1:${SIP}`, calls: 1, timeoutS: 10, templ: { callee: "bob", target: `127.0.0.1:${port}` } });
    expect(r.failed, r.errors + r.stdout.slice(-2000)).toBe(0);
    expect(r.successful).toBe(1);
    await waitUntil("carrier saw the BYE", () => servers[name]!.stats().successful >= 1, 5000);
    const pa = tracedHeaders(trace(name), "Proxy-Authorization");
    expect(pa.length).toBeGreaterThanOrEqual(1);
    expectValidDigest(pa[0]!, "INVITE", "olelo-trunk", "trunk-secret", name === "md5" ? "md5" : "sha256");
    expect(pa[0]).toContain(`uri="sip:bob@127.0.0.1:${port}"`);
    expect(pa[0]).toContain('opaque="op4que"');
    const st = await rpcResult<Record<string, number>>(rpc, "stats.get_statistics", ["uac:"]).catch(() => null);
    if (st) expect(JSON.stringify(st)).toMatch(/auth_sent/);
  });

  it("registers to a challenging registrar, refreshes before expiry, maps an incoming call to its row", async () => {
    await waitUntil("trunk7788 registered", async () => (await rpcResult(rpc, "uac.reg_info", ["l_uuid", "trunk7788"])).state === "registered", 10_000, [olelo]);
    const dump = await rpcResult<Array<Record<string, unknown>>>(rpc, "uac.reg_dump");
    const t = dump.find((d) => d.l_uuid === "trunk7788")!;
    expect(t).toMatchObject({ state: "registered", last_code: 200, r_username: "acct7788", auth_password: "********", granted: 4 });
    expect(Number(t.flags) & 4).toBe(4);
    expect(dump.find((d) => d.l_uuid === "carrier1")).toMatchObject({ state: "credentials", expires: 0 });
    // refreshed reg_timer_interval (1 s) before the 4 s run out
    await waitUntil("refreshed", async () => Number((await rpcResult(rpc, "uac.reg_info", ["l_uuid", "trunk7788"])).registrations) >= 2, 8000, [olelo]);
    await waitUntil("registrar saw two registrations", () => servers.reg!.stats().successful >= 2, 3000);
    const auths = tracedHeaders(trace("reg"), "Authorization");
    expect(auths.length).toBeGreaterThanOrEqual(2);
    expectValidDigest(auths[0]!, "REGISTER", "acct7788", "reg-secret", "md5");
    const contacts = tracedHeaders(trace("reg"), "Contact");
    expect(contacts[0]).toBe(`<sip:trunk7788@127.0.0.1:${SIP}>`);
    // the carrier calls the registered Contact user: the call reaches sip:pbxuser@<l_domain>
    const r = await runSipp({ scenario: "uac_caller.xml", port: CALLER, remote: `127.0.0.1:${SIP}`, calls: 1, timeoutS: 10, templ: { callee: "trunk7788", target: `127.0.0.1:${SIP}` } });
    expect(r.failed, r.errors + r.stdout.slice(-2000)).toBe(0);
    expect(r.successful).toBe(1);
    await waitUntil("pbx got the call", () => servers.pbx!.stats().successful >= 1, 5000);
  }, 30_000);

  it("backs off a registrar that keeps refusing; uac.reg_disable / reg_enable take effect before answering", async () => {
    await waitUntil("badtrunk failed", async () => Number((await rpcResult(rpc, "uac.reg_info", ["l_uuid", "badtrunk"])).failures) >= 1, 5000, [olelo]);
    expect(await rpcResult(rpc, "uac.reg_disable", ["l_uuid", "badtrunk"])).toEqual({ disabled: 1 });
    expect(await rpcResult(rpc, "uac.reg_info", ["l_uuid", "badtrunk"])).toMatchObject({ state: "disabled", next_register_in: 0, last_code: 403 });
    await letTimePass(1200, "sipp writes its statistics once a second");
    const before = servers.bad!.stats().successful + servers.bad!.stats().failed;
    await letTimePass(2500, "a REGISTER would reach the disabled trunk's registrar within this");
    expect(servers.bad!.stats().successful + servers.bad!.stats().failed).toBe(before);
    // enabling starts afresh: failures at about 0, 1, 3 and 7 s (retry 1 s doubled, capped at 4 s)
    expect(await rpcResult(rpc, "uac.reg_enable", ["l_uuid", "badtrunk"])).toEqual({ enabled: 1 });
    const seen = new Map<number, number>();
    await waitUntil(
      "four failures",
      async () => {
        const n = Number((await rpcResult(rpc, "uac.reg_info", ["l_uuid", "badtrunk"])).failures);
        if (!seen.has(n)) seen.set(n, Date.now());
        return n >= 4;
      },
      15_000,
      [olelo],
    );
    const g1 = seen.get(2)! - seen.get(1)!;
    const g2 = seen.get(3)! - seen.get(2)!;
    const g3 = seen.get(4)! - seen.get(3)!;
    expect(g1).toBeGreaterThan(700);
    expect(g2).toBeGreaterThan(g1 * 1.5);
    expect(g3).toBeGreaterThan(3300);
    expect(await rpcResult(rpc, "uac.reg_info", ["l_uuid", "badtrunk"])).toMatchObject({ state: "unregistered", last_code: 403 });
    const missing = await fetch(rpc, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "uac.reg_info", params: ["l_uuid", "nope"] }) }).then((x) => x.json() as Promise<{ error?: unknown }>);
    expect(missing.error).toMatchObject({ code: 404, message: "no uacreg record with l_uuid 'nope'" });
  }, 30_000);
});

describe("uac_replace_from with restore (npm start, test script)", () => {
  const dir = mkdtempSync(join(tmpdir(), "olelo-uac-replace-"));
  let olelo: TestProcess;
  let callee: SippServer;

  beforeAll(async () => {
    callee = await startSippServer({
      scenario: "uac_callee_bye.xml",
      port: CALLEE2,
      templ: { new_from: "&quot;Trunk&quot; &lt;sip:\\+4930123@carrier\\.test&gt;" },
    });
    const file = writeConfig(dir, {
      node: "uac-2",
      listen: [`udp:127.0.0.1:${SIP2}`],
      control: { listen: `127.0.0.1:${CTRL2}` },
      modules: { uac: { restore_passwd: "fleet-secret" } },
      script: { file: join(import.meta.dirname, "scripts/uac-replace.ts"), settings: { target: `sip:127.0.0.1:${CALLEE2}`, fromDisplay: '"Trunk"', fromUri: "sip:+4930123@carrier.test" } },
    });
    olelo = await startOlelo("npm start uac replace", file, CTRL2);
  }, 60_000);

  afterAll(async () => {
    await olelo?.stop();
    await callee?.stop();
  });

  it("the callee sees the new From, the caller its own in the 200, the callee's BYE reaches the caller with the original as To", async () => {
    const r = await runSipp({ scenario: "uac_caller_wait_bye.xml", port: CALLER2, remote: `127.0.0.1:${SIP2}`, calls: 1, timeoutS: 10, templ: { callee: "bob", target: `127.0.0.1:${SIP2}` } });
    expect(r.failed, r.errors + r.stdout.slice(-2000)).toBe(0);
    expect(r.successful).toBe(1);
    // the callee's checks: new From in the INVITE, and the 200 to its BYE shows the From it knows as To
    await waitUntil("callee finished", () => callee.stats().successful >= 1, 5000);
    expect(callee.stats().failed).toBe(0);
  });
});
