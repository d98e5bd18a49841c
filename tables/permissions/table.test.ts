import { describe, expect, it } from "vitest";
import { TableError } from "../rows.js";
import { compileAddressRows, compileAddressSet, compileTrustedRows, compileTrustedSet } from "./table.js";

const addressRows = [
  { id: 1, grp: 1, ip_addr: "10.0.0.1", mask: 32, port: 0, tag: "host-a" },
  { id: 2, grp: 1, ip_addr: "10.1.0.0", mask: 16, port: 5060, tag: "net-b" },
  { id: 3, grp: 2, ip_addr: "10.1.2.0", mask: 24, port: 0, tag: "net-c" },
  { id: 4, grp: 1, ip_addr: "10.1.2.3", mask: 32, port: 5080, tag: "host-d" },
  { id: 5, grp: 3, ip_addr: "2001:db8::", mask: 32, port: 0, tag: "v6-net" },
  { id: 6, grp: 1, ip_addr: "2001:db8:1::10", mask: 128, port: 0, tag: "v6-host" },
  { id: 7, grp: 4, ip_addr: "0.0.0.0", mask: 0, port: 0, tag: "everything-v4" },
  { id: 8, grp: 5, ip_addr: "sbc.example.net", mask: 32, port: 0, tag: "dns" },
  { id: 9, grp: 6, ip_addr: "172.16.5.99", mask: 12, port: 0, tag: null }, // masked to 172.16.0.0/12
];

describe("compileAddressRows: matching", () => {
  const t = compileAddressRows(addressRows);

  it("matches an exact IPv4 host in its group, any port", () => {
    expect(t.match(1, "10.0.0.1", 1234)?.tag).toBe("host-a");
    expect(t.match(2, "10.0.0.1", 1234)).toBeNull();
  });

  it("matches an IPv4 subnet only on its port", () => {
    expect(t.match(1, "10.1.99.7", 5060)?.tag).toBe("net-b");
    expect(t.match(1, "10.1.99.7", 5061)).toBeNull();
  });

  it("prefers the longest prefix that satisfies group and port", () => {
    // 10.1.2.3: host-d (grp1, port 5080) /32, net-c (grp2) /24, net-b (grp1, 5060) /16
    expect(t.match(1, "10.1.2.3", 5080)?.tag).toBe("host-d");
    expect(t.match(1, "10.1.2.3", 5060)?.tag).toBe("net-b");
    expect(t.match(2, "10.1.2.3", 9)?.tag).toBe("net-c");
    expect(t.match(null, "10.1.2.3", 9)?.tag).toBe("net-c");
    expect(t.match(null, "10.1.2.3", 5080)?.tag).toBe("host-d");
  });

  it("matches IPv6 subnets and hosts, and IPv4-mapped sources as IPv4", () => {
    expect(t.match(3, "2001:db8:ffff::1", 5060)?.tag).toBe("v6-net");
    expect(t.match(3, "2001:db9::1", 5060)).toBeNull();
    expect(t.match(1, "2001:DB8:1:0::10", 5060)?.tag).toBe("v6-host");
    expect(t.match(1, "2001:db8:1::11", 5060)).toBeNull();
    expect(t.match(1, "::ffff:10.0.0.1", 5060)?.tag).toBe("host-a");
  });

  it("a /0 row matches every IPv4 address but no IPv6 address", () => {
    expect(t.match(4, "203.0.113.9", 1)?.tag).toBe("everything-v4");
    expect(t.match(4, "2001:db8::1", 1)).toBeNull();
  });

  it("masks the row address to its network", () => {
    expect(t.match(6, "172.31.255.254", 1)?.ip).toBe("172.16.0.0");
    expect(t.match(6, "172.32.0.1", 1)).toBeNull();
  });

  it("matches DNS-name rows literally, case-insensitively", () => {
    expect(t.match(5, "SBC.example.net", 7)?.tag).toBe("dns");
    expect(t.match(5, "other.example.net", 7)).toBeNull();
  });

  it("splits hosts, subnets and names for the dumps", () => {
    expect(t.hosts().map((e) => e.id)).toEqual([1, 4, 6]);
    expect(t.subnets().map((e) => e.id)).toEqual([2, 3, 5, 7, 9]);
    expect(t.domains().map((e) => e.id)).toEqual([8]);
  });

  it("defaults grp to 1, port to 0 and mask to the full length", () => {
    const d = compileAddressRows([{ ip_addr: "192.0.2.1" }, { ip_addr: "2001:db8::9" }]);
    expect(d.match(1, "192.0.2.1", 9)).not.toBeNull();
    expect(d.match(1, "192.0.2.2", 9)).toBeNull();
    expect(d.match(1, "2001:db8::9", 9)).not.toBeNull();
    expect(d.match(1, "2001:db8::8", 9)).toBeNull();
  });

  it("accepts numeric strings as file-sourced tables give them", () => {
    const d = compileAddressRows([{ id: "7", grp: "2", ip_addr: "192.0.2.0", mask: "24", port: "5060", tag: "x" }]);
    expect(d.match(2, "192.0.2.200", 5060)?.id).toBe("7");
  });
});

describe("compileAddressRows: bad rows", () => {
  const cases: Array<[Record<string, unknown>, RegExp]> = [
    [{ id: 11, ip_addr: "10.0.0.300" }, /address row 11: bad IP address '10\.0\.0\.300'/],
    [{ id: 12, ip_addr: "10.0.0.0", mask: 33 }, /address row 12: mask 33 out of range 0\.\.32/],
    [{ id: 13, ip_addr: "2001:db8::", mask: 129 }, /mask 129 out of range 0\.\.128/],
    [{ id: 14, ip_addr: "10.0.0.0", mask: -1 }, /mask -1 out of range/],
    [{ id: 15, ip_addr: "10.0.0.0/8" }, /prefix length in the mask column/],
    [{ id: 16, ip_addr: "" }, /ip_addr is empty/],
    [{ id: 17, ip_addr: "10.0.0.1", port: 70000 }, /port = 70000 out of range/],
    [{ id: 18, ip_addr: "10.0.0.1", grp: "one" }, /grp must be an integer/],
    [{ id: 19, ip_addr: "not a host!" }, /bad IP address/],
    [{ id: 20, ip_addr: "10.0.0.1", mask: 1.5 }, /mask = 1\.5 out of range/],
  ];
  for (const [row, re] of cases) {
    it(`rejects ${JSON.stringify(row)}`, () => {
      let err: unknown;
      try {
        compileAddressRows([{ id: 1, ip_addr: "192.0.2.1" }, row]);
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(TableError);
      expect((err as TableError).table).toBe("address");
      expect((err as TableError).row).toBe(row.id);
      expect((err as Error).message).toMatch(re);
    });
  }

  it("names the row by position when there is no id column", () => {
    expect(() => compileAddressRows([{ ip_addr: "1.1.1.1" }, { ip_addr: "x..y" }])).toThrow(/address row 2:/);
  });

  it("the sink compile needs the address table in the set", () => {
    expect(() => compileAddressSet({ trusted: [] })).toThrow(TableError);
    expect(compileAddressSet({ address: [] }).entries).toHaveLength(0);
  });
});

describe("compileTrustedRows", () => {
  const rows = [
    { id: 1, src_ip: "192.0.2.10", proto: "any", from_pattern: null, ruri_pattern: null, tag: "pbx", priority: 0 },
    { id: 2, src_ip: "192.0.2.20", proto: "udp", from_pattern: "^sip:.*@carrier\\.example$", ruri_pattern: null, tag: "carrier-udp", priority: 1 },
    { id: 3, src_ip: "192.0.2.20", proto: "tcp", from_pattern: null, ruri_pattern: "^sip:\\+1", tag: "carrier-tcp", priority: 5 },
    { id: 4, src_ip: "192.0.2.20", proto: "any", from_pattern: null, ruri_pattern: null, tag: "carrier-any", priority: -1 },
    { id: 5, src_ip: "2001:DB8::20", proto: "TLS", from_pattern: "", ruri_pattern: "", tag: "v6", priority: 0 },
    { id: 6, src_ip: "192.0.2.30", proto: "none", from_pattern: null, ruri_pattern: null, tag: "disabled", priority: 0 },
  ];
  const t = compileTrustedRows(rows);

  it("matches proto, From and R-URI patterns by priority", () => {
    expect(t.match("192.0.2.20", "tcp", "sip:a@b", "sip:+15551234@x")?.tag).toBe("carrier-tcp");
    expect(t.match("192.0.2.20", "udp", "sip:bob@carrier.example", "sip:1@x")?.tag).toBe("carrier-udp");
    expect(t.match("192.0.2.20", "udp", "sip:bob@other.example", "sip:1@x")?.tag).toBe("carrier-any");
    expect(t.match("192.0.2.20", "tcp", "sip:a@b", "sip:44@x")?.tag).toBe("carrier-any");
    expect(t.match("192.0.2.10", "ws", null, null)?.tag).toBe("pbx");
    expect(t.match("192.0.2.11", "udp", null, null)).toBeNull();
  });

  it("canonicalises IPv6 sources and treats empty patterns as absent", () => {
    expect(t.match("2001:db8:0::20", "tls", null, null)?.tag).toBe("v6");
    expect(t.match("2001:db8::20", "udp", null, null)).toBeNull();
  });

  it("skips proto=none rows", () => {
    expect(t.match("192.0.2.30", "udp", null, null)).toBeNull();
    expect(t.entries.map((e) => e.id)).toEqual([1, 2, 3, 4, 5]);
  });

  it("rows with patterns need the URIs; hasUnconditional looks only at pattern-free rows", () => {
    expect(t.match("192.0.2.20", "udp", null, null)?.tag).toBe("carrier-any");
    expect(t.hasUnconditional("192.0.2.20")).toBe(true);
    const only = compileTrustedRows([{ id: 1, src_ip: "192.0.2.50", proto: "any", from_pattern: "^sip:x", priority: 0 }]);
    expect(only.hasUnconditional("192.0.2.50")).toBe(false);
  });

  const badRows: Array<[Record<string, unknown>, RegExp]> = [
    [{ id: 31, src_ip: "192.0.2.999", proto: "any" }, /trusted row 31: bad IP address '192\.0\.2\.999' in src_ip/],
    [{ id: 32, src_ip: "192.0.2.1", proto: "http" }, /trusted row 32: unknown proto 'http'/],
    [{ id: 33, src_ip: "192.0.2.1", proto: "udp", from_pattern: "^sip:(unclosed" }, /trusted row 33: bad regular expression in from_pattern/],
    [{ id: 34, src_ip: "192.0.2.1", proto: "udp", ruri_pattern: "[z-a]" }, /trusted row 34: bad regular expression in ruri_pattern/],
    [{ id: 35, src_ip: "192.0.2.1", proto: "udp", priority: "high" }, /priority must be an integer/],
    [{ id: 36, src_ip: "", proto: "udp" }, /bad IP address ''/],
  ];
  for (const [row, re] of badRows) {
    it(`rejects ${JSON.stringify(row)}`, () => {
      expect(() => compileTrustedRows([row])).toThrow(TableError);
      expect(() => compileTrustedRows([row])).toThrow(re);
    });
  }

  it("the sink compile needs the trusted table in the set", () => {
    expect(() => compileTrustedSet({})).toThrow(/trusted: table missing/);
  });
});
