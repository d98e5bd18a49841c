/**
 * Multi-domain subscribers end to end (Kamailio WITH_MULTIDOMAIN): `npm start -- --config <file>`
 * with the default script, auth (use_domain: credentials by username and subscriber.domain =
 * realm), usrloc/registrar (use_domain: AoR user@domain) and the domain module, tables from local
 * JSON files. Two domains of the domain table hold a user "alice" each with its own password;
 * sipp REGISTERs with digest authentication: each alice registers with her own domain's password
 * and not with the other's; a REGISTER for a domain outside the table gets 403 without a
 * challenge. Ports: a block of 6 from test/kit/ports.ts.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { spawnCommand, waitUntil, type TestProcess } from "./helpers/processes.js";
import { runSipp } from "./helpers/sipp.js";
import { rpc, writeTableFile } from "./scripts/routing-support.js";
import { freePortBlock } from "./kit/ports.js";

const P = await freePortBlock(6);
const SIP = P;
const CONTROL = P + 1;
const UAC = P + 2;

describe("multi-domain subscribers: auth + registrar with the domain table (npm start)", () => {
  const dir = mkdtempSync(join(tmpdir(), "olelo-multidom-"));
  let proc: TestProcess;

  const register = (dom: string, pass: string, final: number) =>
    runSipp({ scenario: "dom_auth_register.xml", port: UAC, remote: `127.0.0.1:${SIP}`, calls: 1, timeoutS: 10, templ: { dom, user: "alice", pass, final: String(final) } });

  beforeAll(async () => {
    const subs = join(dir, "subscriber.json");
    const doms = join(dir, "domain.json");
    writeTableFile(subs, {
      subscriber: [
        { id: 1, username: "alice", domain: "a.example.test", password: "alice-a", ha1: "", ha1b: "" },
        { id: 2, username: "alice", domain: "b.example.test", password: "alice-b", ha1: "", ha1b: "" },
      ],
    });
    writeTableFile(doms, {
      domain: [
        { id: 1, domain: "a.example.test", did: null },
        { id: 2, domain: "b.example.test", did: null },
      ],
      domain_attrs: [],
    });
    const cfg = join(dir, "olelo.json");
    writeFileSync(
      cfg,
      JSON.stringify({
        node: "multidom",
        listen: [`udp:127.0.0.1:${SIP}`],
        control: { listen: `127.0.0.1:${CONTROL}` },
        script: { settings: {} },
        modules: { auth: { secret: "multi-domain-test", use_domain: true }, usrloc: { db_mode: 0, use_domain: true }, registrar: {}, domain: {} },
        tables: { subscriber: subs, domain: doms },
        dataDir: join(dir, "data"),
        log: { level: "info" },
      }),
    );
    proc = spawnCommand("npm start (multi-domain)", "npm", ["start", "--", "--config", cfg]);
    await waitUntil("npm start", () => proc.log().includes("olelo data plane running"), 30_000, [proc]);
  }, 60_000);
  afterAll(async () => {
    await proc?.stop();
  });

  it("each domain's alice registers with her own password, not with the other domain's", async () => {
    const a = await register("a.example.test", "alice-a", 200);
    expect(a.successful, a.stderr + a.errors).toBe(1);
    const b = await register("b.example.test", "alice-b", 200);
    expect(b.successful, b.stderr + b.errors).toBe(1);
    const wrong = await register("a.example.test", "alice-b", 401);
    expect(wrong.successful, wrong.stderr + wrong.errors).toBe(1);
    const dump = JSON.stringify((await rpc(CONTROL, "ul.dump")).result);
    expect(dump).toContain("alice@a.example.test");
    expect(dump).toContain("alice@b.example.test");
  }, 40_000);

  it("a REGISTER for a domain not in the domain table is 403 without a challenge", async () => {
    const r = await runSipp({ scenario: "dom_register.xml", port: UAC, remote: `127.0.0.1:${SIP}`, calls: 1, timeoutS: 10, templ: { dom: "c.example.test", user: "alice", code: "403" } });
    expect(r.successful, r.stderr + r.errors).toBe(1);
  });
});
