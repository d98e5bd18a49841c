/**
 * olectl against real processes: a control plane (`tsx control-plane/main.ts` on MariaDB database
 * olelo_test_cli1) and a data plane (`tsx data-plane/main.ts --config …` with the dispatcher module,
 * the default script with `dispatcherSet: 1`, tables from the control plane). olectl writes through
 * the management API, pushes, and reads the result back from the data plane; sipp calls are routed
 * by the destination olectl added. Ports: a block of 50 from test/kit/ports.ts (freePortBlock), P + offset.
 */
import { createHash } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type mysql from "mysql2/promise";
import type { ResultSetHeader, RowDataPacket } from "mysql2/promise";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runSipp } from "./helpers/sipp.js";
import { startTracedUas } from "./scripts/dispatcher-support.js";
import {
  dispatcherSets,
  freshDatabase,
  olectlInProcess,
  olectlProcess,
  rpcCall,
  startOleloProcess,
  waitFor,
  type OleloProcess,
} from "./scripts/cli-support.js";
import { freePortBlock } from "./kit/ports.js";

const P = await freePortBlock(50);

const DB = "olelo_test_cli1";
const CP_API = P + 1;
const CP_GRPC = P + 2;
const DP_SIP = P + 10;
const DP_CONTROL = P + 11;
const UAS = P + 20;
const REFUSED = P + 49; // nothing listens here
const NODE = "cli-dp-1";

const CP_URL = `http://127.0.0.1:${CP_API}/RPC`;
const DP_URL = `http://127.0.0.1:${DP_CONTROL}/RPC`;
const ENV = { OLELO_URL: DP_URL, OLELO_CP_URL: CP_URL };
const uas = `sip:127.0.0.1:${UAS}`;

/** olectl as its own process (exit code, stdout, stderr of the real binary). */
const olectl = (args: string[]) => olectlProcess(args, ENV);
/** olectl's main() in this process: the same code, for polling and for variants (saves process starts on a loaded machine). */
const olectlFast = async (args: string[]) => {
  const r = await olectlInProcess(args, ENV);
  return { code: r.code, out: r.out ? `${r.out}\n` : "", err: r.err ? `${r.err}\n` : "" };
};
const md5 = (s: string) => createHash("md5").update(s).digest("hex");

/** The data plane's live dispatcher sets, read through olectl (in-process: polled in tight loops). */
async function liveSets(): Promise<Record<number, string[]>> {
  const r = await olectlFast(["--json", "dispatcher", "list"]);
  if (r.code !== 0) throw new Error(r.err);
  return dispatcherSets(JSON.parse(r.out));
}

/** Polls until `pred(sets)` holds and returns how long that took, in ms. */
async function msUntilLive(pred: (sets: Record<number, string[]>) => boolean, procs: OleloProcess[]): Promise<number> {
  const t0 = Date.now();
  await waitFor("the data plane to apply the change", async () => pred(await liveSets()), 10_000, procs);
  return Date.now() - t0;
}

describe("olectl against a running control plane and data plane", () => {
  let admin: mysql.Connection;
  let cp: OleloProcess;
  let dp: OleloProcess;
  let dir: string;

  beforeAll(async () => {
    admin = await freshDatabase(DB);
    dir = mkdtempSync(join(tmpdir(), "olelo-cli-cp-"));
    cp = startOleloProcess("control-plane/main.ts", ["--api", `127.0.0.1:${CP_API}`, "--grpc", `127.0.0.1:${CP_GRPC}`, "--poll-ms", "0", "--no-cdc", "--push-insecure-loopback"], {
      OLELO_DB_URL: `mysql://root@127.0.0.1:3306/${DB}`,
    });
    await waitFor("the control plane's management API", async () => (await rpcCall(CP_URL, "status")).db.ok === true, 60_000, [cp]);
    const cfg = join(dir, "olelo.json");
    writeFileSync(
      cfg,
      JSON.stringify({
        node: NODE,
        listen: [`udp:127.0.0.1:${DP_SIP}`],
        control: { listen: `127.0.0.1:${DP_CONTROL}` },
        modules: { dispatcher: { ping_interval: 0 } },
        script: { settings: { dispatcherSet: 1 } },
        controlPlane: { url: `127.0.0.1:${CP_GRPC}`, cacheDir: join(dir, "cache") },
        dataDir: join(dir, "data"),
        log: { level: "warn" },
      }),
    );
    dp = startOleloProcess("data-plane/main.ts", ["--config", cfg]);
    await waitFor("the data plane's control API", async () => typeof (await rpcCall(DP_URL, "core.uptime")).uptime === "number", 60_000, [cp, dp]);
    await waitFor("the data plane to apply the control plane's (empty) dispatcher table", async () => {
      const st = (await rpcCall(DP_URL, "core.config_status", ["dispatcher"])) as Array<{ version: string | null }>;
      return st[0]?.version === (await rpcCall(CP_URL, "status")).kinds.find((k: { kind: string }) => k.kind === "dispatcher").version;
    }, 30_000, [cp, dp]);
  }, 120_000);

  afterAll(async () => {
    const codes = await Promise.all([dp?.stop(), cp?.stop()]);
    expect(codes).toEqual([0, 0]); // both stop cleanly on SIGTERM
    await admin?.query(`DROP DATABASE IF EXISTS \`${DB}\``);
    await admin?.end();
    if (dir) rmSync(dir, { recursive: true, force: true });
  }, 30_000);

  it("dispatcher add through the control plane, push, live on the data plane within a second; a sipp call routed by it succeeds; nodes shows the version", async () => {
    // nothing in set 1 yet: the default script answers 404
    expect(await liveSets()).toEqual({});
    const before = await runSipp({ scenario: "uac_expect.xml", port: P + 30, remote: `127.0.0.1:${DP_SIP}`, calls: 1, rate: 1, templ: { code: "404" }, timeoutS: 20 });
    expect([before.successful, before.failed]).toEqual([1, 0]);

    const add = await olectl(["dispatcher", "add", "1", uas, "--description", "cli e2e"]);
    expect(add.err).toBe("");
    expect(add.code).toBe(0);
    const m = /^dispatcher row (\d+) added; kind dispatcher is now version ([0-9a-f]{16})\n$/.exec(add.out);
    expect(m, add.out).not.toBeNull();
    const version = m![2]!;
    const [rows] = await admin.query<RowDataPacket[]>("SELECT id, setid, destination, description FROM dispatcher");
    expect(rows.map((r) => ({ ...r }))).toEqual([{ id: Number(m![1]), setid: 1, destination: uas, description: "cli e2e" }]);

    const push = await olectl(["push"]);
    expect(push.err).toBe("");
    expect(push.code).toBe(0);
    expect(push.out).toMatch(new RegExp(`\\ndispatcher\\s+${version}\\s+1\\s+(yes|no)\\s*\\n`));
    // from the end of `olectl push` to the destination being live on the data plane: under a second
    const ms = await msUntilLive((s) => s[1]?.includes(uas) ?? false, [cp, dp]);
    expect(ms).toBeLessThan(1000);

    const list = await olectl(["dispatcher", "list"]);
    expect(list).toMatchObject({ code: 0, err: "" });
    expect(list.out.split("\n")).toEqual([expect.stringMatching(/^SET\s+URI\s+FLAGS\s+PRIORITY\s+ATTRS\s+LATENCY_AVG$/), expect.stringMatching(new RegExp(`^1\\s+${uas}\\s+A\\w*\\s+0\\s+-$`)), ""]);
    const tables = await olectlFast(["tables", "dispatcher"]);
    expect(tables.out).toMatch(new RegExp(`\\ndispatcher\\s+${version}\\s+\\S+\\s+1\\s+control-plane\\s`));

    // a call routed by the new destination
    const server = await startTracedUas(UAS);
    try {
      const calls = await runSipp({ scenario: "uac_rr.xml", port: P + 31, remote: `127.0.0.1:${DP_SIP}`, calls: 5, rate: 5, service: "cli", timeoutS: 30 });
      expect([calls.successful, calls.failed], calls.errors).toEqual([5, 0]);
      // the UAS olectl added received every INVITE (and its BYE)
      expect(server.invites("cli")).toHaveLength(5);
      expect(server.requests("BYE")).toHaveLength(5);
    } finally {
      await server.stop();
    }

    // nodes: the data plane with the version it applied
    await waitFor("the control plane to see the ACK", async () => {
      const n = (await rpcCall(CP_URL, "nodes")) as Array<{ nodeId: string; tables: Array<{ kind: string; appliedVersion: string }> }>;
      return n.find((x) => x.nodeId === NODE)?.tables.find((t) => t.kind === "dispatcher")?.appliedVersion === version;
    }, 5000, [cp, dp]);
    const nodes = await olectl(["nodes"]);
    expect(nodes).toMatchObject({ code: 0, err: "" });
    expect(nodes.out).toMatch(/^NODE\s+UP\s+LABELS\s+CANARY\s+KIND\s+RUNNING\s+OFFERED\s+LAG_MS\s+PINNED\s+LAST_NACK\n/);
    expect(nodes.out).toMatch(new RegExp(`\\n${NODE}\\s+yes\\s+-\\s+-\\s+dispatcher\\s+${version}\\s+${version}\\s+\\d+\\s+no\\s+-\\s*\\n`));
    const nodesJson = JSON.parse((await olectlFast(["--json", "nodes"])).out);
    expect(nodesJson).toEqual([expect.objectContaining({ nodeId: NODE, connected: true, kinds: expect.arrayContaining(["dispatcher"]) })]);
  }, 80_000);

  it("push sends rows written by SQL: diff shows them, push makes them live within a second, diff is empty after", async () => {
    const [ins] = await admin.query<ResultSetHeader>(`INSERT INTO dispatcher (setid, destination, priority, attrs) VALUES (2, 'sip:127.0.0.1:${P + 21}', 5, 'duid=sql')`);
    const diff = await olectl(["diff"]);
    expect(diff).toMatchObject({ code: 0, err: "" });
    expect(diff.out).toMatch(/^dispatcher {2}[0-9a-f]{16} -> [0-9a-f]{16} {2}\(\+1 -0 ~0\)\n/);
    expect(diff.out).toContain(`  + dispatcher ${ins.insertId}  id=${ins.insertId} setid=2 destination=sip:127.0.0.1:${P + 21} flags=0 priority=5 attrs="duid=sql"`);
    expect((await liveSets())[2]).toBeUndefined(); // the change check is off: not live before the push

    const push = await olectl(["push"]);
    expect(push).toMatchObject({ code: 0, err: "" });
    const version = /\ndispatcher\s+([0-9a-f]{16})\s+2\s+yes\s/.exec(push.out)?.[1];
    expect(version, push.out).toBeDefined();
    expect(push.out).toMatch(/\n1 kind\(s\) changed and sent to the data planes\n$/);
    const ms = await msUntilLive((s) => s[2]?.includes(`sip:127.0.0.1:${P + 21}`) ?? false, [cp, dp]);
    expect(ms).toBeLessThan(1000);
    expect((await olectlFast(["diff"])).out).toBe("no changes: the data planes are served what the database holds\n");

    // dispatcher show / rm through the control plane; the removal reaches the data plane too
    const show = await olectl(["dispatcher", "show"]);
    expect(show.out).toMatch(/^ID\s+SETID\s+DESTINATION\s+FLAGS\s+PRIORITY\s+ATTRS\s+DESCRIPTION\n/);
    expect(show.out).toMatch(new RegExp(`\\n${ins.insertId}\\s+2\\s+sip:127\\.0\\.0\\.1:${P + 21}\\s+0\\s+5\\s+duid=sql\\n`));
    const rm = await olectl(["dispatcher", "rm", String(ins.insertId)]);
    expect(rm).toMatchObject({ code: 0, err: "" });
    expect(rm.out).toMatch(new RegExp(`^dispatcher row ${ins.insertId} deleted; kind dispatcher is now version [0-9a-f]{16}\\n$`));
    expect(await msUntilLive((s) => s[2] === undefined, [cp, dp])).toBeLessThan(1000);
    expect(await olectlFast(["dispatcher", "rm", String(ins.insertId)])).toEqual({ code: 1, out: "", err: `olectl: dispatcher.delete: dispatcher row ${ins.insertId} not found (code 404)\n` });
  }, 60_000);

  it("subscriber add, passwd, show, rm USER@DOMAIN and lcr gw add, show, rm through the control-plane process", async () => {
    const [add, add2] = await Promise.all([olectl(["subscriber", "add", "alice@example.com", "s3cret"]), olectlFast(["subscriber", "add", "bob@example.com", "b0b"])]);
    expect([add.code, add.err, add2.code, add2.err]).toEqual([0, "", 0, ""]);
    expect(add.out).toMatch(/^subscriber row \d+ added; kind subscriber is now version [0-9a-f]{16}\n$/);
    const sub = async (user: string) => ((await admin.query<RowDataPacket[]>("SELECT * FROM subscriber WHERE username = ?", [user]))[0][0] ?? null) as RowDataPacket | null;
    expect(await sub("alice")).toMatchObject({ domain: "example.com", ha1: md5("alice:example.com:s3cret"), ha1b: md5("alice@example.com:example.com:s3cret") });

    const pw = await olectlFast(["subscriber", "passwd", "alice@example.com", "n3w-pass"]);
    expect(pw).toMatchObject({ code: 0, err: "" });
    expect(await sub("alice")).toMatchObject({ ha1: md5("alice:example.com:n3w-pass"), ha1b: md5("alice@example.com:example.com:n3w-pass") });

    const show = await olectl(["subscriber", "show", "example.com"]);
    const lines = show.out.split("\n");
    expect(lines[0]).toMatch(/^ID\s+USERNAME\s+DOMAIN$/);
    expect(lines.slice(1).map((l) => l.replace(/^\d+\s+/, "").replace(/\s+/g, " ")).sort()).toEqual(["", "alice example.com", "bob example.com"]);
    expect(show.out).not.toMatch(/s3cret|n3w-pass|b0b/);

    const rm = await olectl(["subscriber", "rm", "alice@example.com"]);
    expect(rm).toMatchObject({ code: 0, err: "" });
    expect(rm.out).toMatch(/^subscriber row \d+ deleted; kind subscriber is now version [0-9a-f]{16}\n$/);
    expect(await sub("alice")).toBeNull();
    expect(await sub("bob")).not.toBeNull();
    const again = await olectlFast(["subscriber", "rm", "alice@example.com"]);
    expect(again).toEqual({ code: 1, out: "", err: "olectl: subscriber alice@example.com not found\n" });

    const gw = await olectl(["lcr", "gw", "add", "carrier1", "--ip", "192.0.2.10", "--port", "5060", "--transport", "udp", "--strip", "1", "--prefix", "00"]);
    expect(gw).toMatchObject({ code: 0, err: "" });
    const gwId = Number(/^lcr_gw row (\d+) added; kind lcr is now version [0-9a-f]{16}\n$/.exec(gw.out)?.[1]);
    const [gwRows] = await admin.query<RowDataPacket[]>("SELECT lcr_id, gw_name, ip_addr, port, transport, strip, prefix FROM lcr_gw WHERE id = ?", [gwId]);
    expect({ ...gwRows[0] }).toEqual({ lcr_id: 1, gw_name: "carrier1", ip_addr: "192.0.2.10", port: 5060, transport: 1, strip: 1, prefix: "00" });
    const gws = await olectl(["lcr", "gw", "show"]);
    expect(gws.out).toMatch(new RegExp(`\\n${gwId}\\s+1\\s+carrier1\\s+192\\.0\\.2\\.10\\s+-\\s+5060\\s+-\\s+udp\\s+-\\s+1\\s+00\\s+-\\s+0\\s+-\\n`));
    const gwRm = await olectl(["lcr", "gw", "rm", String(gwId)]);
    expect(gwRm).toMatchObject({ code: 0, err: "" });
    expect((await admin.query<RowDataPacket[]>("SELECT COUNT(*) AS n FROM lcr_gw"))[0][0]!.n).toBe(0);
    expect((await olectlFast(["lcr", "gw", "show"])).out).toBe("(none)\n");

    // the audit log names each change
    const audit = JSON.parse((await olectlFast(["--json", "audit", "--limit", "200"])).out).rows as Array<{ action: string; table_name: string }>;
    const actions = audit.map((a) => `${a.action} ${a.table_name}`);
    for (const a of ["create subscriber", "passwd subscriber", "delete subscriber", "create lcr_gw", "delete lcr_gw", "create dispatcher", "delete dispatcher", "push *"]) {
      expect(actions).toContain(a);
    }
  }, 60_000);

  it("usage errors exit 2, API errors and an unreachable control plane exit 1, each with one line on stderr", async () => {
    const refused = `http://127.0.0.1:${REFUSED}/RPC`;
    const [bad, badId, badTransport, missing, badUri, down] = await Promise.all([
      olectl(["dispatcher", "add", "one", uas]),
      olectlFast(["dispatcher", "rm", "x"]),
      olectlFast(["lcr", "gw", "add", "gw9", "--ip", "192.0.2.9", "--transport", "pigeon"]),
      olectl(["subscriber", "passwd", "nobody@example.com", "x"]),
      olectlFast(["dispatcher", "add", "1", "not a uri"]),
      olectl(["--cp-url", refused, "nodes"]),
    ]);
    expect(bad).toEqual({ code: 2, out: "", err: "olectl: setid must be an integer, got 'one'\n" });
    expect(badId).toEqual({ code: 2, out: "", err: "olectl: id must be an integer, got 'x'\n" });
    expect(badTransport).toEqual({ code: 2, out: "", err: "olectl: --transport must be udp, tcp, tls or sctp, got 'pigeon'\n" });
    expect(missing).toEqual({ code: 1, out: "", err: "olectl: subscriber.passwd: subscriber nobody@example.com not found (code 404)\n" });
    expect(badUri.code).toBe(1);
    expect(badUri.out).toBe("");
    expect(badUri.err).toMatch(/^olectl: dispatcher\.create: rejected: dispatcher would not compile: dispatcher row \d+: .+ \(code 422\)\n$/);
    expect(down.code).toBe(1);
    expect(down.out).toBe("");
    expect(down.err).toMatch(new RegExp(`^olectl: cannot reach the control plane at ${refused.replace(/\./g, "\\.")}: connect ECONNREFUSED 127\\.0\\.0\\.1:${REFUSED}\\n$`));
    const status = await olectlFast(["status"]);
    expect(status.out).toMatch(new RegExp(`^uptime: +\\S+\\ndatabase: +${DB} on \\S+`));
  }, 60_000);
});
