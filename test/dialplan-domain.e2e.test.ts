/**
 * dialplan and domain end to end, standalone: `npm start -- --config <file>` with the default
 * script, the dialplan and domain modules and their tables from local JSON table files (no
 * control plane). sipp callers dial numbers toward a sipp gateway; the R-URI user the gateway
 * receives is the translation (setting dialplanId 1): equal, regex with back-references, fnmatch
 * with match_len, by priority. dialplan.translate / dialplan.dump / dialplan.reload over the
 * control API; a reload with a bad regex row is refused naming table, row and reason and the
 * running rules stay. domain: a REGISTER for a user of a domain in the domain table gets 200, one
 * for a domain that is not local 403. Ports: a block of 10 from test/kit/ports.ts.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { spawnCommand, waitUntil, type TestProcess } from "./helpers/processes.js";
import { runSipp } from "./helpers/sipp.js";
import { rpc, startGateway, writeTableFile, type Gateway } from "./scripts/routing-support.js";
import { freePortBlock } from "./kit/ports.js";

const P = await freePortBlock(10);
const SIP = P;
const CONTROL = P + 1;
const GW = P + 2;
const UAC = P + 3;

let nextId = 0;
const rule = (pr: number, op: number, match: string, subst: string, repl: string, attrs: string, len = 0) => ({
  id: ++nextId,
  dpid: 1,
  pr,
  match_op: op,
  match_exp: match,
  match_len: len,
  subst_exp: subst,
  repl_exp: repl,
  attrs,
});
const RULES = [
  rule(1, 0, "110", "", "+49110", "police"),
  rule(2, 1, "^00[1-9]", "^00(.*)$", "+\\1", "intl"),
  rule(3, 1, "^0[1-9]", "^0(.*)$", "+49\\1", "national"),
  rule(4, 2, "555*", "^555(.*)$", "+1555\\1", "us", 7),
];

describe("dialplan + domain with npm start and local table files", () => {
  const dir = mkdtempSync(join(tmpdir(), "olelo-dp-dom-"));
  const dpFile = join(dir, "dialplan.json");
  const domFile = join(dir, "domain.json");
  let proc: TestProcess;
  let gw: Gateway;

  /** Places one sipp call per number toward the gateway; returns the R-URI users the gateway got for them. */
  async function dial(numbers: string[]): Promise<string[]> {
    const before = gw.invitedUsers().length;
    const inf = join(dir, `calls-${Date.now()}.csv`);
    writeFileSync(inf, ["SEQUENTIAL", ...numbers.map((n) => `${n};caller;`), ""].join("\n"));
    const r = await runSipp({ scenario: "dp_uac_call.xml", port: UAC, remote: `127.0.0.1:${SIP}`, calls: numbers.length, rate: 20, timeoutS: 20, templ: { gw: `127.0.0.1:${GW}` }, extra: ["-inf", inf] });
    expect(r.successful, r.stderr + r.errors).toBe(numbers.length);
    await waitUntil("the gateway trace", () => gw.invitedUsers().length >= before + numbers.length, 5000, [proc]);
    return gw.invitedUsers().slice(before);
  }

  beforeAll(async () => {
    writeTableFile(dpFile, { dialplan: RULES });
    writeTableFile(domFile, {
      domain: [
        { id: 1, domain: "example.test", did: "ex", last_modified: "2026-12-01 10:00:00" },
        { id: 2, domain: "alias.example.test", did: "ex", last_modified: "2026-12-01 10:00:00" },
      ],
      domain_attrs: [{ id: 1, did: "ex", name: "tier", type: 2, value: "gold", last_modified: "2026-12-01 10:00:00" }],
    });
    const cfg = join(dir, "olelo.json");
    writeFileSync(
      cfg,
      JSON.stringify({
        node: "dp-dom",
        listen: [`udp:127.0.0.1:${SIP}`],
        control: { listen: `127.0.0.1:${CONTROL}` },
        script: { settings: { dialplanId: 1 } },
        modules: { usrloc: { db_mode: 0 }, registrar: {}, dialplan: {}, domain: {} },
        tables: { dialplan: dpFile, domain: domFile },
        dataDir: join(dir, "data"),
        log: { level: "info" },
      }),
    );
    gw = await startGateway(GW);
    proc = spawnCommand("npm start (dialplan, domain)", "npm", ["start", "--", "--config", cfg]);
    await waitUntil("npm start", () => proc.log().includes("olelo data plane running"), 30_000, [proc]);
  }, 60_000);
  afterAll(async () => {
    await proc?.stop();
    await gw?.stop();
  });

  it("translates the dialled numbers of sipp calls: equal, regex with back-references, fnmatch + match_len, priority; others unchanged", async () => {
    const got = await dial(["110", "00441234567", "0301234567", "5551234", "55512345", "+4930123"]);
    expect(got).toEqual(["+49110", "+441234567", "+49301234567", "+15551234", "55512345", "+4930123"]);
  }, 40_000);

  it("dialplan.translate and dialplan.dump answer from the loaded rules", async () => {
    expect((await rpc(CONTROL, "dialplan.translate", [1, "0301234"])).result).toEqual({ Output: "+49301234", Attributes: "national" });
    expect((await rpc(CONTROL, "dialplan.translate", [1, "+1"])).error?.message).toBe("No translation");
    const dump = (await rpc(CONTROL, "dialplan.dump", [1])).result as Array<{ DPID: number; ENTRIES: Array<{ PRIO: number; MATCHEXP: string }> }>;
    expect(dump[0]!.DPID).toBe(1);
    expect(dump[0]!.ENTRIES.map((e) => e.MATCHEXP)).toEqual(["110", "^00[1-9]", "^0[1-9]", "555*"]);
  });

  it("dialplan.reload applies a changed file; a bad regex row is refused naming table, row and reason and the running rules stay", async () => {
    writeTableFile(dpFile, { dialplan: [...RULES.slice(0, 2), { ...RULES[2], repl_exp: "+43\\1" }, RULES[3]] });
    expect((await rpc(CONTROL, "dialplan.reload")).error).toBeUndefined();
    expect(await dial(["0301234567"])).toEqual(["+43301234567"]);
    writeTableFile(dpFile, { dialplan: [...RULES, { ...rule(0, 1, "^(0[1-9", "", "x", ""), id: 99 }] });
    const bad = await rpc(CONTROL, "dialplan.reload");
    expect(bad.error?.message).toMatch(/dialplan row 99: match_exp '\^\(0\[1-9' is not a valid regular expression/);
    expect(await dial(["0301234567"])).toEqual(["+43301234567"]);
  }, 40_000);

  it("domain: a REGISTER for a user of a local domain gets 200, for a domain not in the table 403", async () => {
    const reg = (dom: string, code: number) => runSipp({ scenario: "dom_register.xml", port: UAC, remote: `127.0.0.1:${SIP}`, calls: 1, timeoutS: 10, templ: { dom, user: "alice", code: String(code) } });
    const ok = await reg("example.test", 200);
    expect(ok.successful, ok.stderr + ok.errors).toBe(1);
    const alias = await reg("ALIAS.example.test", 200);
    expect(alias.successful, alias.stderr + alias.errors).toBe(1);
    const foreign = await reg("foreign.test", 403);
    expect(foreign.successful, foreign.stderr + foreign.errors).toBe(1);
    const dump = (await rpc(CONTROL, "domain.dump")).result;
    expect(dump).toEqual([
      { domain: "alias.example.test", did: "ex", attrs: [{ name: "tier", type: 2, value: "gold" }] },
      { domain: "example.test", did: "ex", attrs: [{ name: "tier", type: 2, value: "gold" }] },
    ]);
  }, 40_000);
});
