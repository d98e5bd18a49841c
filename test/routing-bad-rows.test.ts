/**
 * Bad routing rows are refused with the row named, never half-applied:
 * - at start: a table file with a bad prefix, an unknown gateway id, a bad time recurrence or a
 *   bad regex stops the data plane with a message naming the file, the table and the row (in
 *   process, and a real `data-plane/main.ts` process that exits 1);
 * - on `lcr.reload` / `drouting.reload` after the file changed: the RPC error names the row, the
 *   old tables stay, and calls running meanwhile keep being routed by them (sipp, 0 failed); a
 *   good file afterwards is taken.
 * Ports: a block of 100 from test/kit/ports.ts (freePortBlock), P + offset.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { spawn } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import type { DataPlane } from "../data-plane/node.js";
import { TEST_SCRIPTS, startProxy } from "./helpers/proxy.js";
import { rpc, runCalls, startGateway, tableDir, writeTableFile, type Gateway } from "./scripts/routing-support.js";
import { freePortBlock } from "./kit/ports.js";
import { letTimePass } from "./kit/wait.js";

const P = await freePortBlock(100);

const ROOT = resolve(import.meta.dirname, "..");

const lcrGood = (port: number) => ({
  lcr_gw: [{ id: 1, lcr_id: 1, gw_name: "a", ip_addr: "127.0.0.1", port }],
  lcr_rule: [{ id: 1, lcr_id: 1, prefix: "49" }],
  lcr_rule_target: [{ id: 1, lcr_id: 1, rule_id: 1, gw_id: 1, priority: 0 }],
});
const drGood = (port: number) => ({
  dr_gateways: [{ gwid: 1, address: `127.0.0.1:${port}` }],
  dr_rules: [{ ruleid: 1, groupid: "1", prefix: "49", priority: 0, timerec: "", gwlist: "1" }],
});

describe("a bad row in a table file stops the start, naming file, table and row", () => {
  const dir = tableDir("bad-start");
  const cases: Array<{ what: string; kind: string; modules: Record<string, unknown>; tables: Record<string, unknown>; error: RegExp }> = [
    {
      what: "bad prefix (prefix_route)",
      kind: "prefix_route",
      modules: { prefix_route: {} },
      tables: { prefix_route: [{ prefix: "49", route: "A" }, { prefix: "49a1", route: "B" }] },
      error: /prefix_route row #2: prefix '49a1': invalid character 'a' at position 2 \(digits only\)$/,
    },
    {
      what: "unknown gateway id (lcr)",
      kind: "lcr",
      modules: { lcr: {} },
      tables: { ...lcrGood(5060), lcr_rule_target: [...lcrGood(5060).lcr_rule_target, { id: 3, lcr_id: 1, rule_id: 1, gw_id: 9, priority: 1 }] },
      error: /lcr_rule_target row 3: gw_id 9 is not in lcr_gw$/,
    },
    {
      what: "unknown gateway id (drouting)",
      kind: "drouting",
      modules: { drouting: {} },
      tables: { ...drGood(5060), dr_rules: [...drGood(5060).dr_rules, { ruleid: 4, groupid: "1", prefix: "44", gwlist: "1,9" }] },
      error: /dr_rules row 4: gwlist '1,9': gateway 9 is not in dr_gateways$/,
    },
    {
      what: "bad time recurrence (drouting)",
      kind: "drouting",
      modules: { drouting: {} },
      tables: { ...drGood(5060), dr_rules: [...drGood(5060).dr_rules, { ruleid: 5, groupid: "1", prefix: "44", timerec: "20240101T250000|1H|daily", gwlist: "1" }] },
      error: /dr_rules row 5: timerec .+/,
    },
    {
      what: "bad regex (lcr from_uri)",
      kind: "lcr",
      modules: { lcr: {} },
      tables: { ...lcrGood(5060), lcr_rule: [...lcrGood(5060).lcr_rule, { id: 2, lcr_id: 1, prefix: "44", from_uri: "^sip:[a-" }] },
      error: /lcr_rule row 2: from_uri '\^sip:\[a-' is not a usable PCRE pattern: missing terminating \] for character class at offset 5$/,
    },
    {
      what: "bad prefix (mtree)",
      kind: "mtree",
      modules: { mtree: {} },
      tables: { mtrees: [{ id: 7, tname: "did", tprefix: "49x", tvalue: "acme" }] },
      error: /mtrees row 7: tprefix '49x': invalid character 'x' at position 2/,
    },
  ];

  for (const c of cases) {
    it(`in process: ${c.what}`, async () => {
      const file = join(dir, `${c.kind}-${cases.indexOf(c)}.json`);
      writeTableFile(file, c.tables);
      const err = await startProxy({ listen: [`udp:127.0.0.1:${P}`], modules: c.modules, tables: { [c.kind]: file } }).then(
        async (dp) => {
          await dp.stop();
          return null;
        },
        (e: unknown) => e as Error,
      );
      expect(err, "the data plane must refuse to start").not.toBeNull();
      expect(err!.message.startsWith(`table file ${file} (${c.kind}): `), err!.message).toBe(true);
      expect(err!.message).toMatch(c.error);
    });
  }

  it("a real data-plane process exits 1 with the message on stderr", async () => {
    const file = join(dir, "lcr-process.json");
    writeTableFile(file, cases[1]!.tables);
    const cfg = join(dir, "olelo.json");
    writeFileSync(cfg, JSON.stringify({ listen: [`udp:127.0.0.1:${P + 1}`], control: null, dataDir: join(dir, "data"), modules: { lcr: {} }, tables: { lcr: file } }));
    const p = spawn(process.execPath, ["--import", "tsx", "data-plane/main.ts", "--config", cfg], { cwd: ROOT, stdio: ["ignore", "pipe", "pipe"] });
    let stderr = "";
    p.stderr.on("data", (d) => (stderr += d));
    const killer = setTimeout(() => p.kill("SIGKILL"), 30_000);
    const code = await new Promise<number | null>((r) => p.on("close", r));
    clearTimeout(killer);
    expect(code).toBe(1);
    expect(stderr).toContain(`olelo: table file ${file} (lcr): lcr_rule_target row 3: gw_id 9 is not in lcr_gw`);
  }, 40_000);
});

describe("a bad row pushed by lcr.reload / drouting.reload is refused while calls keep routing", () => {
  const LCR_PROXY = P + 10;
  const LCR_CONTROL = P + 11;
  const DR_PROXY = P + 12;
  const DR_CONTROL = P + 13;
  const [A, B] = [P + 20, P + 21];
  let lcrDp: DataPlane;
  let drDp: DataPlane;
  let a: Gateway;
  let b: Gateway;
  const dir = tableDir("bad-reload");
  const lcrFile = join(dir, "lcr.json");
  const drFile = join(dir, "drouting.json");

  beforeAll(async () => {
    a = await startGateway(A);
    b = await startGateway(B);
    writeTableFile(lcrFile, lcrGood(A));
    writeTableFile(drFile, drGood(A));
    lcrDp = await startProxy({
      listen: [`udp:127.0.0.1:${LCR_PROXY}`],
      control: { listen: `127.0.0.1:${LCR_CONTROL}` },
      script: { settings: { lcrId: 1 } },
      modules: { lcr: {} },
      tables: { lcr: lcrFile },
    });
    drDp = await startProxy({
      listen: [`udp:127.0.0.1:${DR_PROXY}`],
      control: { listen: `127.0.0.1:${DR_CONTROL}` },
      script: { file: join(TEST_SCRIPTS, "routing-drouting.ts"), settings: { group: 1 } },
      modules: { drouting: {} },
      tables: { drouting: drFile },
    });
  }, 30_000);

  afterAll(async () => {
    await lcrDp?.stop();
    await drDp?.stop();
    await a?.stop();
    await b?.stop();
  });

  /** The applied version of a kind, when, and the last rejected one with its error. */
  const status = async (control: number, kind: string) =>
    ((await rpc(control, "core.config_status", [kind])).result as Array<{ version: string; appliedAt: string; lastError: string | null }>)[0]!;

  it("lcr.reload: the error names the row, the old tables stay, calls go on; a good file is then taken", async () => {
    const before = await status(LCR_CONTROL, "lcr");
    // the operator adds a target for a gateway that does not exist, and reloads while calls run
    writeTableFile(lcrFile, { ...lcrGood(B), lcr_rule_target: [...lcrGood(B).lcr_rule_target, { id: 9, lcr_id: 1, rule_id: 1, gw_id: 77, priority: 1 }] });
    const calls = Array.from({ length: 30 }, (_, i) => `4910${String(i).padStart(2, "0")}`);
    const running = runCalls({ port: P + 30, proxy: LCR_PROXY, calls, rate: 30 });
    await letTimePass(300, "calls are running when the reload comes");
    const res = await rpc(LCR_CONTROL, "lcr.reload");
    expect(res.error?.code).toBe(500);
    expect(res.error?.message).toBe(`LCR Module Reload Failed: file:${lcrFile}: lcr_rule_target row 9: gw_id 77 is not in lcr_gw`);
    const r = await running;
    expect(r.failed, r.errors + r.stderr).toBe(0);
    expect(r.successful).toBe(30);
    // every call went by the old table (gateway A); the new one (B) saw nothing
    expect(a.invitedUsers().filter((u) => u.startsWith("4910")).sort()).toEqual(calls);
    expect(b.invitedUsers()).toEqual([]);
    const after = await status(LCR_CONTROL, "lcr");
    expect([after.version, after.appliedAt]).toEqual([before.version, before.appliedAt]);
    expect(after.lastError).toBe("lcr_rule_target row 9: gw_id 77 is not in lcr_gw");

    // a file that is not JSON: the error says so, the tables stay
    writeFileSync(lcrFile, '{"lcr_gw": [ {"id": 1,');
    const broken = await rpc(LCR_CONTROL, "lcr.reload");
    expect(broken.error?.message).toMatch(new RegExp(`^LCR Module Reload Failed: ${lcrFile.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&")}: invalid JSON: `));
    expect((await status(LCR_CONTROL, "lcr")).version).toBe(before.version);

    // fixed file: taken, calls move to B
    writeTableFile(lcrFile, lcrGood(B));
    expect(await rpc(LCR_CONTROL, "lcr.reload")).toMatchObject({ result: null });
    const r2 = await runCalls({ port: P + 31, proxy: LCR_PROXY, calls: ["491100", "491101"], rate: 10 });
    expect(r2.failed, r2.errors).toBe(0);
    expect(b.invitedUsers().sort()).toEqual(["491100", "491101"]);
  }, 60_000);

  it("drouting.reload: a bad time recurrence is refused by row, routing stays", async () => {
    writeTableFile(drFile, { ...drGood(B), dr_rules: [...drGood(B).dr_rules, { ruleid: 12, groupid: "1", prefix: "44", timerec: "20240101T083000|10H|weekly|||XX", gwlist: "1" }] });
    const calls = Array.from({ length: 20 }, (_, i) => `4920${String(i).padStart(2, "0")}`);
    const running = runCalls({ port: P + 32, proxy: DR_PROXY, calls, rate: 25 });
    await letTimePass(200, "calls are running when the reload comes");
    const res = await rpc(DR_CONTROL, "drouting.reload");
    expect(res.error?.code).toBe(500);
    expect(res.error?.message).toMatch(new RegExp(`^failed to load routing data: file:${drFile.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&")}: dr_rules row 12: timerec .*XX`));
    const r = await running;
    expect(r.failed, r.errors + r.stderr).toBe(0);
    expect(a.invitedUsers().filter((u) => u.startsWith("4920")).sort()).toEqual(calls);
    expect(b.invitedUsers().filter((u) => u.startsWith("4920"))).toEqual([]);
    expect((await status(DR_CONTROL, "drouting")).lastError).toMatch(/^dr_rules row 12: timerec /);
  }, 60_000);
});
