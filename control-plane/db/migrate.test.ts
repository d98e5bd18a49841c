import { spawn, type ChildProcess } from "node:child_process";
import dgram from "node:dgram";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { RowDataPacket } from "mysql2/promise";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { setLogSink } from "../../lib/log/logger.js";
import { createManagementServer } from "../api/server.js";
import { createDbSnapshotSource } from "../compile/source.js";
import { KAMAILIO_TABLES, KAMAILIO_TABLE_VERSIONS } from "./catalog.js";
import type { Database } from "./connect.js";
import { migrationFiles } from "./make-idempotent.js";
import { migrateDatabase } from "./migrate.js";
import {
  describeSchema,
  dropTestDatabase,
  freshTestDatabase,
  haveKamailioScripts,
  runKamailioScript,
  showCreate,
  testDbUrl,
  versionRows,
} from "./test-support.js";
import { freePortBlock } from "../../test/kit/ports.js";

const DB = "olelo_test_kam";
/** Every Kamailio script whose tables Olelo manages. */
const ALL_SCRIPTS = ["standard", "dispatcher", "lcr", "drouting", "carrierroute", "mtree", "permissions", "auth_db", "usrloc", "acc", "htable", "alias_db", "speeddial", "dialog", "dialplan", "domain", "pipelimit", "uac", "topos", "rtpengine", "presence", "msilo"];
/** Tables of those scripts Olelo does not create (presence-create.sql's XCAP and pua tables). */
const NOT_OURS = ["xcap", "pua"];
/** Tables Olelo adds that Kamailio's scripts do not create. */
const OLELO_ONLY = ["olelo_audit", "olelo_snapshots", "olelo_callblock", "olelo_callfwd", "olelo_stir_attest", "olelo_changes", "olelo_cdrs", "olelo_cdr_webhook", "olelo_cdr_dead", "olelo_fleet_state", "__drizzle_migrations"];
/** Migration files shipped (0000 schema, 0001 version rows, 0002 callfwd tables, ...). */
const MIGRATIONS = migrationFiles().length;

setLogSink(() => undefined);

let database: Database | null = null;
async function reset(): Promise<Database> {
  await database?.close();
  database = await freshTestDatabase(DB);
  return database;
}

afterAll(async () => {
  await database?.close();
  await dropTestDatabase(DB);
  setLogSink(null);
});

describe.skipIf(!haveKamailioScripts())("migrations", () => {
  let kamailioShape: Record<string, { columns: string[]; indexes: string[] }>;
  let kamailioVersions: Record<string, number>;

  beforeAll(async () => {
    const d = await reset();
    for (const s of ALL_SCRIPTS) runKamailioScript(DB, s);
    await d.pool.query(`DROP TABLE ${NOT_OURS.join(", ")}`);
    await d.pool.query(`DELETE FROM version WHERE table_name IN (${NOT_OURS.map((t) => `'${t}'`).join(", ")})`);
    kamailioShape = await describeSchema(d);
    kamailioVersions = await versionRows(d);
  });

  it("create exactly Kamailio's tables: same columns, types, defaults, keys and version rows", async () => {
    const d = await reset();
    const report = await migrateDatabase(d.db, d.pool);
    const ours = await describeSchema(d);
    const kamTables = Object.keys(kamailioShape).sort();
    expect(kamTables.length).toBe(KAMAILIO_TABLES.length - 1); // all but prefix_route (no Kamailio MySQL script)
    for (const t of kamTables) {
      expect({ table: t, ...ours[t] }).toEqual({ table: t, ...kamailioShape[t] });
    }
    expect(Object.keys(ours).sort()).toEqual([...kamTables, ...OLELO_ONLY, "prefix_route"].sort());
    expect(await versionRows(d)).toEqual(kamailioVersions);
    expect(kamailioVersions).toEqual(KAMAILIO_TABLE_VERSIONS);
    expect(report.applied).toBe(MIGRATIONS);
    expect(report.existing).toEqual([]);
  });

  it("migrate a fresh database, with Kamailio's version rows (subscriber 7, dispatcher 4, address 6, lcr_gw 3, location 9)", async () => {
    const d = await reset();
    const report = await migrateDatabase(d.db, d.pool);
    expect(report.applied).toBe(MIGRATIONS);
    expect(report.created).toEqual([...KAMAILIO_TABLES, ...OLELO_ONLY].sort());
    const v = await versionRows(d);
    expect(v).toMatchObject({ subscriber: 7, dispatcher: 4, address: 6, lcr_gw: 3, location: 9, version: 1 });
    expect(v.prefix_route).toBeUndefined();
  });

  it("applying twice is a no-op", async () => {
    const d = database!;
    const shape = await describeSchema(d);
    const versions = await versionRows(d);
    const report = await migrateDatabase(d.db, d.pool);
    expect(report.applied).toBe(0);
    expect(report.created).toEqual([]);
    expect(await describeSchema(d)).toEqual(shape);
    expect(await versionRows(d)).toEqual(versions);
    const [m] = await d.pool.query<RowDataPacket[]>("SELECT COUNT(*) n FROM __drizzle_migrations");
    expect(Number(m[0]!.n)).toBe(MIGRATIONS);
    // two control planes starting at once: the named lock serialises them, both succeed
    const both = await Promise.all([migrateDatabase(d.db, d.pool), migrateDatabase(d.db, d.pool)]);
    expect(both.map((r) => r.applied)).toEqual([0, 0]);
  });

  describe("on a database created by Kamailio's own scripts", () => {
    const present = ["standard", "dispatcher", "lcr", "permissions", "auth_db", "usrloc", "acc", "domain", "dialog"];
    let before: Record<string, string>;
    let kamVersions: Record<string, number>;
    let existingTables: string[];

    beforeAll(async () => {
      const d = await reset();
      for (const s of present) runKamailioScript(DB, s);
      // what Kamailio's default cfg (acc db_extra) adds to acc by hand, and rows Kamailio's tools write
      await d.pool.query("ALTER TABLE acc ADD src_user VARCHAR(64) NOT NULL DEFAULT '', ADD dst_user VARCHAR(64) NOT NULL DEFAULT ''");
      await d.pool.query(
        "INSERT INTO subscriber (username, domain, password, ha1, ha1b) VALUES ('bob', 'example.com', 'pw', MD5('bob:example.com:pw'), MD5('bob@example.com:example.com:pw'))",
      );
      await d.pool.query("INSERT INTO dispatcher (setid, destination, flags, priority, attrs, description) VALUES (1, 'sip:10.0.0.1:5060', 0, 0, 'weight=50', 'gw a')");
      await d.pool.query("UPDATE version SET table_version = 4 WHERE table_name = 'dialog_vars'"); // a row Olelo does not know stays
      const [t] = await d.pool.query<RowDataPacket[]>("SHOW TABLES");
      existingTables = t.map((r) => String(Object.values(r)[0]));
      before = await showCreate(d, existingTables);
      kamVersions = await versionRows(d);
    });

    it("creates only what is missing and leaves Kamailio's tables and version rows alone", async () => {
      const d = database!;
      const report = await migrateDatabase(d.db, d.pool);
      expect(report.applied).toBe(MIGRATIONS);
      expect(report.existing.sort()).toEqual(KAMAILIO_TABLES.filter((t) => existingTables.includes(t)).sort());
      expect(report.missingColumns).toEqual([]);
      const missing = [...KAMAILIO_TABLES, ...OLELO_ONLY].filter((t) => !existingTables.includes(t));
      expect(report.created).toEqual(missing.sort());
      expect(report.created).toContain("dr_rules");
      expect(report.created).not.toContain("dispatcher");
      // existing tables byte-for-byte the same, including the extra acc columns and Kamailio's own dialog tables
      expect(await showCreate(d, existingTables)).toEqual(before);
      const after = await versionRows(d);
      for (const [t, v] of Object.entries(kamVersions)) expect(after[t]).toBe(v);
      expect(after.dialog_vars).toBe(4);
      expect(after.dr_rules).toBe(3);
      expect(after.htable).toBe(2);
      // applying again changes nothing
      expect((await migrateDatabase(d.db, d.pool)).applied).toBe(0);
    });

    it("Kamailio-created tables still take Kamailio-style inserts afterwards", async () => {
      const d = database!;
      await d.pool.query(
        "INSERT INTO acc (method, from_tag, to_tag, callid, sip_code, sip_reason, time, src_user, dst_user) VALUES ('INVITE', 'ft', 'tt', 'c1@x', '200', 'OK', NOW(), 'alice', 'bob')",
      );
      await d.pool.query(
        "INSERT INTO location (ruid, username, domain, contact, received, path, expires, q, callid, cseq, last_modified, flags, cflags, user_agent, socket, methods, instance, reg_id, server_id, connection_id, keepalive, `partition`) " +
          "VALUES ('uloc-1', 'bob', 'example.com', 'sip:bob@10.0.0.9:5060', NULL, NULL, '2030-01-01 00:00:00', 1.0, 'cid', 2, NOW(), 0, 64, 'UA', 'udp:127.0.0.1:5060', 8191, NULL, 0, 0, -1, 0, 0)",
      );
      await d.pool.query("INSERT INTO subscriber (username, domain, password, ha1, ha1b) VALUES ('carol', 'example.com', 'x', '', '')");
      await d.pool.query("INSERT INTO dialog_vars (hash_entry, hash_id, dialog_key, dialog_value) VALUES (1, 2, 'k', 'v')");
      const [n] = await d.pool.query<RowDataPacket[]>("SELECT (SELECT COUNT(*) FROM acc) a, (SELECT COUNT(*) FROM location) l, (SELECT COUNT(*) FROM subscriber) s");
      expect([Number(n[0]!.a), Number(n[0]!.l), Number(n[0]!.s)]).toEqual([1, 1, 2]);
    });

    it("the compile step reads the Kamailio-created tables", async () => {
      const d = database!;
      const source = await createDbSnapshotSource({ db: d.db, pool: d.pool, pollIntervalMs: 0 });
      try {
        const ds = source.current("dispatcher")!;
        expect(ds.rows).toBe(1);
        expect(ds.set.dispatcher![0]).toMatchObject({ setid: 1, destination: "sip:10.0.0.1:5060", attrs: "weight=50", description: "gw a" });
        expect(source.current("subscriber")!.set.subscriber!.map((r) => r.username)).toEqual(["bob", "carol"]);
      } finally {
        await source.close();
      }
    });
  });
});

// ---------------------------------------------------------------------------------------------
// Kamailio 5.6 itself loading Olelo-managed tables (version checks at module init, RPC dumps).

const KAMAILIO = "/usr/sbin/kamailio";
const MODULES = "/usr/lib/x86_64-linux-gnu/kamailio/modules";
// below the ephemeral range: Kamailio binds these later, when an OS-picked port may be taken meanwhile
const PORTS = await freePortBlock(3);
const SIP_PORT = PORTS;
const RPC_PORT = PORTS + 1;
const API_PORT = PORTS + 2;

function kamailioCfg(dbUrl: string): string {
  return `#!KAMAILIO
debug=2
log_stderror=yes
children=1
auto_aliases=no
listen=udp:127.0.0.1:${SIP_PORT}
mpath="${MODULES}/"
#!define DBURL "${dbUrl}"
loadmodule "db_mysql.so"
loadmodule "kex.so"
loadmodule "pv.so"
loadmodule "tm.so"
loadmodule "sl.so"
loadmodule "jsonrpcs.so"
loadmodule "dispatcher.so"
loadmodule "lcr.so"
loadmodule "permissions.so"
loadmodule "usrloc.so"
loadmodule "registrar.so"
loadmodule "auth.so"
loadmodule "auth_db.so"
loadmodule "drouting.so"
loadmodule "htable.so"
loadmodule "mtree.so"
loadmodule "carrierroute.so"
loadmodule "prefix_route.so"
loadmodule "alias_db.so"
loadmodule "speeddial.so"
loadmodule "acc.so"
modparam("jsonrpcs", "transport", 4)
modparam("jsonrpcs", "dgram_socket", "udp:127.0.0.1:${RPC_PORT}")
modparam("dispatcher", "db_url", DBURL)
modparam("lcr", "db_url", DBURL)
modparam("lcr", "gw_uri_avp", "$avp(i:709)")
modparam("lcr", "ruri_user_avp", "$avp(i:500)")
modparam("permissions", "db_url", DBURL)
modparam("permissions", "db_mode", 1)
modparam("usrloc", "db_url", DBURL)
modparam("usrloc", "db_mode", 3)
modparam("usrloc", "use_domain", 1)
modparam("auth_db", "db_url", DBURL)
modparam("auth_db", "load_credentials", "")
modparam("drouting", "db_url", DBURL)
modparam("htable", "db_url", DBURL)
modparam("htable", "htable", "a=>size=4;dbtable=htable;")
modparam("mtree", "db_url", DBURL)
modparam("mtree", "mtree", "name=t1;dbtable=mtree")
modparam("carrierroute", "db_url", DBURL)
modparam("carrierroute", "config_source", "db")
modparam("prefix_route", "db_url", DBURL)
modparam("alias_db", "db_url", DBURL)
modparam("speeddial", "db_url", DBURL)
modparam("acc", "db_url", DBURL)
modparam("acc", "db_flag", 1)
route[PSTN] { drop; }
route[REG] { save("location"); if (!www_authorize("$fd", "subscriber")) { drop; } alias_db_lookup("dbaliases"); sd_lookup("speed_dial"); }
request_route { drop; }
`;
}

/** One JSON-RPC call to Kamailio's jsonrpcs over UDP; resolves with the response object. */
function kamRpc(method: string, params: unknown[] = [], timeoutMs = 1500): Promise<{ result?: unknown; error?: { code: number; message: string } }> {
  return new Promise((resolve, reject) => {
    const s = dgram.createSocket("udp4");
    const t = setTimeout(() => {
      s.close();
      reject(new Error(`no reply to ${method}`));
    }, timeoutMs);
    s.on("message", (m) => {
      clearTimeout(t);
      s.close();
      resolve(JSON.parse(m.toString("utf8")));
    });
    s.send(JSON.stringify({ jsonrpc: "2.0", method, params, id: 1 }), RPC_PORT, "127.0.0.1");
  });
}

describe.skipIf(!haveKamailioScripts() || !existsSync(KAMAILIO))("Kamailio 5.6 on an Olelo-migrated database", () => {
  let kam: ChildProcess | null = null;
  let stderr = "";
  let dir = "";

  afterAll(async () => {
    if (kam && kam.exitCode === null) {
      const exited = new Promise((r) => kam!.once("exit", r));
      kam.kill("SIGTERM");
      await exited;
    }
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it("loads rows written through the management API into every module and writes location rows", async () => {
    // start from a database Kamailio created partly, let Olelo add the rest, then fill it over the API
    const d = await reset();
    for (const s of ["standard", "dispatcher", "lcr", "permissions", "auth_db", "usrloc", "acc"]) runKamailioScript(DB, s);
    await migrateDatabase(d.db, d.pool);
    const source = await createDbSnapshotSource({ db: d.db, pool: d.pool, pollIntervalMs: 0 });
    const api = await createManagementServer({ source, db: d.db, pool: d.pool, port: API_PORT });
    let id = 0;
    const call = async (method: string, params: unknown) => {
      const r = await fetch(api.url, { method: "POST", body: JSON.stringify({ jsonrpc: "2.0", method, params, id: ++id }) });
      const j = (await r.json()) as { result?: unknown; error?: unknown };
      expect(j.error, `${method} ${JSON.stringify(params)}`).toBeUndefined();
      return j.result;
    };
    try {
      await call("dispatcher.create", { setid: 1, destination: "sip:10.0.0.1:5060", flags: 0, priority: 5, attrs: "weight=50" });
      await call("lcr_gw.create", { id: 1, lcr_id: 1, gw_name: "gw1", ip_addr: "10.0.0.7", port: 5060, uri_scheme: 1, transport: 1 });
      await call("lcr_rule.create", { id: 1, lcr_id: 1, prefix: "49" });
      await call("lcr_rule_target.create", { lcr_id: 1, rule_id: 1, gw_id: 1, priority: 1, weight: 1 });
      await call("address.create", { grp: 1, ip_addr: "10.1.0.1", mask: 32 });
      await call("trusted.create", { src_ip: "10.2.0.1", proto: "any", from_pattern: "^sip:.*$", tag: "peer1" });
      await call("subscriber.create", { username: "alice", domain: "example.com", password: "secret123" });
      await call("dr_gateways.create", { gwid: 1, type: 1, address: "10.0.0.9:5060" });
      await call("dr_rules.create", { groupid: "1", prefix: "49", timerec: "", routeid: "", gwlist: "1" });
      await call("carrier_name.create", { id: 1, carrier: "default" });
      await call("domain_name.create", { id: 1, domain: "proxy" });
      await call("carrierroute.create", { carrier: 1, domain: 1, scan_prefix: "49", prob: 1, rewrite_host: "10.0.0.5" });
      await call("mtree.create", { tprefix: "49", tvalue: "de" });
      await call("prefix_route.create", { prefix: "49", route: "PSTN" });
      await call("htable.create", { key_name: "k1", key_value: "v1" });
      await call("dbaliases.create", { alias_username: "100", alias_domain: "example.com", username: "alice", domain: "example.com" });
      await call("speed_dial.create", { username: "alice", domain: "example.com", sd_username: "11", sd_domain: "example.com", new_uri: "sip:bob@example.com" });
    } finally {
      await api.close();
      await source.close();
    }

    dir = mkdtempSync(join(tmpdir(), "olelo-kam-"));
    writeFileSync(join(dir, "kamailio.cfg"), kamailioCfg(testDbUrl(DB)));
    kam = spawn(KAMAILIO, ["-f", join(dir, "kamailio.cfg"), "-DD", "-E", "-P", join(dir, "kamailio.pid"), "-Y", dir], { stdio: ["ignore", "ignore", "pipe"] });
    kam.stderr!.on("data", (b: Buffer) => (stderr += b.toString()));
    let up = false;
    for (let i = 0; i < 40 && !up && kam.exitCode === null; i++) {
      try {
        await kamRpc("core.version", [], 250);
        up = true;
      } catch {
        /* not listening yet */
      }
    }
    expect(up, `kamailio did not start:\n${stderr}`).toBe(true);
    expect(stderr).not.toMatch(/version mismatch|invalid table version|ERROR/);

    const ds = (await kamRpc("dispatcher.list")).result as { RECORDS: Array<{ SET: { ID: number; TARGETS: Array<{ DEST: { URI: string; PRIORITY: number } }> } }> };
    expect(ds.RECORDS[0]!.SET.TARGETS[0]!.DEST).toMatchObject({ URI: "sip:10.0.0.1:5060", PRIORITY: 5 });
    const gws = (await kamRpc("lcr.dump_gws")).result as { gw: Array<{ gw_name: string; ip_addr: string; port: number }> };
    expect(gws.gw[0]).toMatchObject({ gw_name: "gw1", ip_addr: "10.0.0.7", port: 5060 });
    expect(JSON.stringify((await kamRpc("permissions.addressDump")).result)).toContain("10.1.0.1");
    expect(JSON.stringify((await kamRpc("permissions.trustedDump")).result)).toContain("peer1");
    expect((await kamRpc("mtree.list", ["t1"])).result).toEqual([{ tname: "t1", tprefix: "49", tvalue: ["de"] }]);
    expect((await kamRpc("htable.dump", ["a"])).result).toEqual([{ entry: expect.any(Number), size: 1, slot: [{ name: "k1", value: "v1", type: "str" }] }]);
    expect(JSON.stringify((await kamRpc("cr.dump_routes")).result)).toContain("10.0.0.5");
    expect(String((await kamRpc("prefix_route.dump")).result)).toContain("route[PSTN]");
    // usrloc db_mode 3 writes straight into the location table
    const add = await kamRpc("ul.add", ["location", "alice@example.com", "sip:alice@10.9.9.9:5060", 3600, 1.0, "", 0, 0, 0]);
    expect(add.error).toBeUndefined();
    const [loc] = await d.pool.query<RowDataPacket[]>("SELECT username, domain, contact FROM location");
    expect(loc.map((r) => ({ ...r }))).toEqual([{ username: "alice", domain: "example.com", contact: "sip:alice@10.9.9.9:5060" }]);
  });
});
