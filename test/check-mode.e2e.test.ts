/**
 * `npm start -- --check` as an operator runs it (issue 20 §6): the real command, no socket bound.
 * A good example configuration exits 0; a bad module parameter, an unknown script.settings key, a
 * script with a type error and broken JSON each exit 1 with `file:line:col: message`.
 * No ports: nothing listens (the check binds no socket).
 */
import { describe, expect, it } from "vitest";
import { spawn } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { createDatabase } from "../control-plane/db/connect.js";
import { migrateDatabase } from "../control-plane/db/migrate.js";
import { dropE2eDatabase, freshE2eDatabase } from "./helpers/processes.js";

const ROOT = resolve(import.meta.dirname, "..");
const API = join(ROOT, "data-plane/core/script/context.js");

function check(args: string[], script = "start"): Promise<{ code: number | null; out: string; err: string }> {
  return new Promise((res) => {
    const p = spawn("npm", ["run", "--silent", script, "--", "--check", ...args], { cwd: ROOT, stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    let err = "";
    p.stdout.on("data", (d) => (out += d));
    p.stderr.on("data", (d) => (err += d));
    p.on("close", (code) => res({ code, out, err }));
  });
}

describe("npm start -- --check", () => {
  const dir = mkdtempSync(join(tmpdir(), "olelo-ops-check-"));
  const cfg = (name: string, body: object) => {
    const f = join(dir, name);
    writeFileSync(f, JSON.stringify(body, null, 2) + "\n");
    return f;
  };

  it("accepts the load-balancer example and binds nothing (exit 0)", async () => {
    const r = await check(["--config", "etc/examples/load-balancer.json"]);
    expect(r.out).toMatch(/olelo --check: etc\/examples\/load-balancer\.json OK/);
    expect(r.code).toBe(0);
    expect(r.out).not.toContain("data plane running");
  }, 60_000);

  it("reports a bad module parameter and an unknown settings key with file:line:col (exit 1)", async () => {
    const f = cfg("bad.json", {
      node: "chk",
      script: { settings: { dispatcherSet: 1, nextHopp: "sip:127.0.0.1:5070" } },
      modules: { dispatcher: { ping_interval: "often" } },
    });
    const r = await check(["--config", f]);
    expect(r.code).toBe(1);
    expect(r.out).toMatch(new RegExp(`^${f}:11:7: modules\\.dispatcher: .*ping_interval`, "m"));
    const ok = cfg("settings.json", { node: "chk", script: { settings: { dispatcherSet: 1, nextHopp: "sip:127.0.0.1:5070" } } });
    const s = await check(["--config", ok]);
    expect(s.code).toBe(1);
    expect(s.out).toMatch(new RegExp(`^${ok}:6:7: script\\.settings\\.nextHopp: unknown setting; .*reads: .*nextHop`, "m"));
    expect(s.out).not.toMatch(/dispatcherSet: unknown/);
  }, 60_000);

  it("type-checks the routing script against the script API", async () => {
    const script = join(dir, "s.ts");
    writeFileSync(script, `import { defineScript } from ${JSON.stringify(API)};\nexport default defineScript(() => ({\n  request(req) {\n    req.reply("200", 42);\n  },\n}));\n`);
    const f = cfg("typed.json", { node: "chk", script: { file: script } });
    const r = await check(["--config", f]);
    expect(r.code).toBe(1);
    expect(r.out).toMatch(new RegExp(`^${script}:4:15: Argument of type 'string' is not assignable`, "m"));
  }, 60_000);

  it("names the position of broken JSON", async () => {
    const f = join(dir, "broken.json");
    writeFileSync(f, `{\n  "node": "chk",\n  "listen": [udp]\n}\n`);
    const r = await check(["--config", f]);
    expect(r.code).toBe(1);
    expect(r.out).toMatch(new RegExp(`^${f}:3:\\d+: invalid JSON`, "m"));
  }, 60_000);
});

describe("npm run start:cp -- --check", () => {
  const DB = "olelo_test_e2e_ops_check";
  it("checks the database and that every kind compiles; names the bad row; binds and changes nothing", async () => {
    const admin = await freshE2eDatabase(DB);
    const url = `mysql://root@127.0.0.1:3306/${DB}`;
    try {
      const database = createDatabase(url);
      await migrateDatabase(database.db, database.pool);
      await database.close();
      const ok = await check(["--db-url", url, "--push-insecure-loopback"], "start:cp");
      expect(ok.out).toMatch(/olelo-cp --check: OK \(\d+ table kinds/);
      expect(ok.code).toBe(0);
      await admin.query("INSERT INTO dispatcher (setid, destination, flags, priority, attrs, description) VALUES (1, 'sip:127.0.0.1:99999', 0, 0, '', 'bad port')");
      const bad = await check(["--db-url", url, "--push-insecure-loopback"], "start:cp");
      expect(bad.code).toBe(1);
      expect(bad.out).toMatch(/^dispatcher: table dispatcher row \d+: .*99999/m);
      const [snaps] = (await admin.query("SELECT COUNT(*) AS n FROM olelo_snapshots")) as unknown as [Array<{ n: number }>];
      expect(Number(snaps[0]!.n)).toBe(0); // nothing written
      const none = await check(["--db-url", `mysql://root@127.0.0.1:3306/${DB}_missing`, "--push-insecure-loopback"], "start:cp");
      expect(none.code).toBe(1);
      expect(none.out).toMatch(/database: Unknown database/);
    } finally {
      await dropE2eDatabase(admin, DB);
      await admin.end();
    }
  }, 90_000);
});
