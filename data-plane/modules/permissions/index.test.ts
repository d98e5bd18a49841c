import mysql from "mysql2/promise";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { RequestContext } from "../../core/api.js";
import permissionsModule, { type PermissionsApi } from "./index.js";
import { createTestHost } from "../../testing/test-host.js";
import { sipRequest, testRequest } from "../../testing/sip-harness.js";

/** The real request context of a request from `proto:address:port` (permissions reads source, vars, From and R-URI). */
function fakeReq(address: string, port: number, proto = "udp", from = "sip:alice@example.com", ruri = "sip:bob@example.com"): RequestContext {
  return testRequest(sipRequest("INVITE", ruri, { from }), { source: { proto, address, port } as RequestContext["source"] }).req;
}

describe("permissions module", () => {
  it("loads tables through the registry, answers the script API and dumps like Kamailio", async () => {
    const host = createTestHost("permissions", { trusted_groups: [1, 7] });
    const api = (await permissionsModule.init(host)) as PermissionsApi;
    expect(host.tables.kinds().sort()).toEqual(["address", "trusted"]);

    const bad = host.tables.load("address", { address: [{ id: 9, ip_addr: "10.0.0.1", mask: 40 }] }, "v0", "test");
    expect(bad.ok).toBe(false);
    expect(host.tables.statusOf("address")?.lastError).toMatch(/address row 9: mask 40/);

    const ok = host.tables.load(
      "address",
      {
        address: [
          { id: 1, grp: 1, ip_addr: "192.0.2.10", mask: 32, port: 0, tag: "pbx" },
          { id: 2, grp: 7, ip_addr: "198.51.100.0", mask: 24, port: 5060, tag: "carrier" },
          { id: 3, grp: 9, ip_addr: "2001:db8:9::", mask: 48, port: 0, tag: null },
        ],
      },
      "v1",
      "test",
    );
    expect(ok.ok).toBe(true);
    host.tables.load("trusted", { trusted: [{ id: 1, src_ip: "203.0.113.5", proto: "any", tag: "peer" }] }, "v1", "test");

    const r1 = fakeReq("192.0.2.10", 5062);
    expect(api.allowSourceAddress(r1)).toBe(true);
    expect(r1.vars.get("permissions:tag")).toBe("pbx");
    expect(api.allowSourceAddress(fakeReq("192.0.2.11", 5062))).toBe(false);
    expect(api.allowSourceAddress(fakeReq("198.51.100.9", 5060), 7)).toBe(true);
    expect(api.allowSourceAddressGroup(fakeReq("198.51.100.9", 5060))).toBe(7);
    expect(api.allowSourceAddressGroup(fakeReq("198.51.100.9", 5061))).toBe(-1);
    expect(api.allowAddressGroup(fakeReq("1.1.1.1", 1), "2001:db8:9:1::7", 5)).toBe(9);
    expect(api.allowAddress(fakeReq("1.1.1.1", 1), 9, "2001:db8:a::7", 5)).toBe(false);
    expect(api.allowTrusted(fakeReq("203.0.113.5", 5060, "tcp"))).toBe(true);
    expect(api.allowTrusted(fakeReq("203.0.113.6", 5060, "tcp"))).toBe(false);

    // isTrusted: trusted_groups (port-0 rows without a port), or an unconditional trusted row
    expect(api.isTrusted("192.0.2.10")).toBe(true);
    expect(api.isTrusted("198.51.100.9")).toBe(false); // group 7 row needs port 5060
    expect(api.isTrusted("198.51.100.9", 5060)).toBe(true);
    expect(api.isTrusted("2001:db8:9::1")).toBe(false); // group 9 not in trusted_groups
    expect(api.isTrusted("203.0.113.5")).toBe(true);

    expect(host.stats.select("permissions:")).toEqual(
      expect.arrayContaining([
        ["permissions:allowed", 5],
        ["permissions:denied", 4],
        ["permissions:address_entries", 3],
        ["permissions:trusted_entries", 1],
      ]),
    );

    const dump = (await host.rpc.call("permissions.addressDump", [], { transport: "internal" })) as Array<Record<string, unknown>>;
    expect(dump).toEqual([{ table: expect.any(Number), group: 1, item: { ip: "192.0.2.10", port: 0, tag: "pbx" } }]);
    const subnets = await host.rpc.call("permissions.subnetDump", [], { transport: "internal" });
    expect(subnets).toEqual([
      { id: 0, group: 7, item: { ip: "198.51.100.0", mask: 24, port: 5060, tag: "carrier" } },
      { id: 1, group: 9, item: { ip: "2001:db8:9::", mask: 48, port: 0, tag: "" } },
    ]);
    const trusted = await host.rpc.call("permissions.trustedDump", [], { transport: "internal" });
    expect(trusted).toEqual([
      { table: expect.any(Number), item: { ip: "203.0.113.5", proto: 0, pattern: "NULL", ruri_pattern: "NULL", tag: "peer", priority: 0 } },
    ]);
    await expect(host.rpc.call("permissions.addressReload", [], { transport: "internal" })).rejects.toMatchObject({
      code: 500,
      message: expect.stringMatching(/Reload failed: no db_url/),
    });
    await permissionsModule.destroy?.();
  });

  it("rejects unknown or malformed parameters at init", async () => {
    await expect(permissionsModule.init(createTestHost("permissions", { bogus: 1 }))).rejects.toThrow(/unknown parameter 'bogus'/);
    await expect(permissionsModule.init(createTestHost("permissions", { trusted_groups: ["x"] }))).rejects.toThrow(/trusted_groups/);
    await expect(permissionsModule.init(createTestHost("permissions", { address_table: "a; drop" }))).rejects.toThrow(/address_table/);
  });
});

describe("permissions module with MariaDB (olelo_test_fw)", () => {
  const url = "mysql://root@127.0.0.1:3306/olelo_test_fw";
  let admin: mysql.Connection;

  beforeAll(async () => {
    admin = await mysql.createConnection({ host: "127.0.0.1", port: 3306, user: "root", multipleStatements: true });
    await admin.query("CREATE DATABASE IF NOT EXISTS olelo_test_fw");
    await admin.query(`USE olelo_test_fw;
      DROP TABLE IF EXISTS perm_address; DROP TABLE IF EXISTS perm_trusted;
      CREATE TABLE perm_address (id INT UNSIGNED AUTO_INCREMENT PRIMARY KEY, grp INT UNSIGNED DEFAULT 1 NOT NULL,
        ip_addr VARCHAR(50) NOT NULL, mask INT DEFAULT 32 NOT NULL, port SMALLINT UNSIGNED DEFAULT 0 NOT NULL, tag VARCHAR(64));
      CREATE TABLE perm_trusted (id INT UNSIGNED AUTO_INCREMENT PRIMARY KEY, src_ip VARCHAR(50) NOT NULL, proto VARCHAR(4) NOT NULL,
        from_pattern VARCHAR(64) DEFAULT NULL, ruri_pattern VARCHAR(64) DEFAULT NULL, tag VARCHAR(64), priority INT DEFAULT 0 NOT NULL);
      INSERT INTO perm_address (grp, ip_addr, mask, port, tag) VALUES (1, '10.9.0.0', 16, 0, 'lan'), (2, '2001:db8::1', 128, 5060, NULL);
      INSERT INTO perm_trusted (src_ip, proto, from_pattern, tag, priority) VALUES ('10.9.1.1', 'udp', '^sip:gw@', 'gw', 3);`);
  });

  afterAll(async () => {
    await admin.query("DROP TABLE IF EXISTS olelo_test_fw.perm_address, olelo_test_fw.perm_trusted");
    await admin.end();
  });

  it("loads at init, reloads by RPC, and keeps the old table when the new one is bad", async () => {
    const host = createTestHost("permissions", { db_url: url, address_table: "perm_address", trusted_table: "perm_trusted" });
    const api = (await permissionsModule.init(host)) as PermissionsApi;
    expect(api.matchAddress(1, "10.9.200.1", 9)?.tag).toBe("lan");
    expect(api.matchAddress(2, "2001:db8::1", 5060)?.tag).toBeNull();
    expect(api.matchTrusted("10.9.1.1", "udp", "sip:gw@carrier", "sip:x@y")?.tag).toBe("gw");

    await admin.query("INSERT INTO olelo_test_fw.perm_address (grp, ip_addr, mask, port, tag) VALUES (3, '192.0.2.1', 32, 0, 'new')");
    await expect(host.rpc.call("permissions.addressReload", [], { transport: "internal" })).resolves.toBe("Reload OK");
    expect(api.matchAddress(3, "192.0.2.1", 1)?.tag).toBe("new");

    await admin.query("INSERT INTO olelo_test_fw.perm_address (grp, ip_addr, mask, port, tag) VALUES (3, '192.0.2.300', 32, 0, 'bad')");
    await expect(host.rpc.call("permissions.addressReload", [], { transport: "internal" })).rejects.toThrow(/bad IP address '192\.0\.2\.300'/);
    expect(api.matchAddress(3, "192.0.2.1", 1)?.tag).toBe("new");
    expect(host.tables.statusOf("address")?.lastError).toMatch(/192\.0\.2\.300/);
    await permissionsModule.destroy?.();
  });
});
