import { describe, expect, it } from "vitest";
import { TableError, type TableRow, type TableSet } from "../../core/api.js";
import { crc32 as zlibCrc32 } from "node:zlib";
import { crc32 } from "./crc32.js";
import { compileCarrierrouteTables } from "../../../tables/carrierroute/table.js";

const names: TableSet = {
  carrier_name: [
    { id: 1, carrier: "default" },
    { id: 2, carrier: "premium" },
  ],
  domain_name: [
    { id: 1, domain: "proxy" },
    { id: 2, domain: "fallback" },
  ],
};
const cr = (id: number, over: TableRow = {}): TableRow => ({ id, carrier: 1, domain: 1, scan_prefix: "49", flags: 0, mask: 0, prob: 1, strip: 0, rewrite_host: "gw.example", ...over });
const cfr = (id: number, over: TableRow = {}): TableRow => ({ id, carrier: 1, domain: 1, scan_prefix: "49", host_name: "", reply_code: "5..", flags: 0, mask: 0, next_domain: 2, ...over });

function rejects(set: TableSet, opts = {}): TableError {
  try {
    compileCarrierrouteTables({ ...names, ...set }, opts);
  } catch (e) {
    expect(e).toBeInstanceOf(TableError);
    return e as TableError;
  }
  throw new Error("expected a TableError");
}

describe("crc32", () => {
  it("is the IEEE CRC-32", () => {
    expect(crc32("123456789")).toBe(0xcbf43926);
    expect(crc32("")).toBe(0);
    expect(crc32("a")).toBe(0xe8b7be43);
  });

  it("agrees with node:zlib on ASCII and UTF-8 strings", () => {
    for (const s of ["ä", "call-1@host", "sip:+4930@x", "x€y", "a".repeat(100) + "ö"]) expect(crc32(s), s).toBe(zlibCrc32(s));
  });
});

describe("compileCarrierrouteTables", () => {
  it("builds carrier → domain → prefix → flag groups with dice ranges", () => {
    const c = compileCarrierrouteTables({
      ...names,
      carrierroute: [cr(1, { prob: 0.3, rewrite_host: "a" }), cr(2, { prob: 0.7, rewrite_host: "b" }), cr(3, { prob: 0, rewrite_host: "" }), cr(4, { flags: 2, mask: 3, rewrite_host: "c" })],
    });
    expect(c.defaultCarrierId).toBe(1);
    const groups = c.carriers.get(1)!.domains.get(1)!.routes.get("49")!;
    expect(groups.map((g) => g.mask)).toEqual([3, 0]);
    const g = groups[1]!;
    expect(g.rules.map((r) => [r.host, r.hashIndex, r.diceTo])).toEqual([
      ["", 1, 0],
      ["a", 2, 300],
      ["b", 3, 1000],
    ]);
    expect(g.diceMax).toBe(1000);
  });

  it("coerces CSV strings, and 'null' is the empty prefix", () => {
    const c = compileCarrierrouteTables({ ...names, carrierroute: [cr(1, { id: "1", carrier: "2", domain: "1", scan_prefix: "null", prob: "0.5", strip: "1" })] });
    expect(c.carriers.get(2)!.domains.get(1)!.routes.get("")![0]!.rules[0]).toMatchObject({ prob: 0.5, strip: 1, prefix: "" });
  });

  it("orders failure rules: named host, fewer wildcards, more mask bits, then table order", () => {
    const c = compileCarrierrouteTables({
      ...names,
      carrierfailureroute: [
        cfr(1, { reply_code: "5.." }),
        cfr(2, { reply_code: "..." }),
        cfr(3, { reply_code: "503" }),
        cfr(4, { reply_code: "5..", host_name: "gw1" }),
        cfr(5, { reply_code: "5..", flags: 1, mask: 1 }),
        cfr(6, { reply_code: "" }),
        cfr(7, { reply_code: "50." }),
      ],
    });
    expect(c.carriers.get(1)!.domains.get(1)!.failures.get("49")!.map((r) => r.id)).toEqual([4, 3, 7, 5, 1, 2, 6]);
  });

  it("match_mode 128 allows any printable ASCII in prefixes", () => {
    expect(compileCarrierrouteTables({ ...names, carrierroute: [cr(1, { scan_prefix: "+49*" })] }, { matchMode: 128 }).ruleCount).toBe(1);
  });

  const cases: Array<[string, TableSet, string, string | number, RegExp]> = [
    ["unknown carrier", { carrierroute: [cr(5, { carrier: 9 })] }, "carrierroute", 5, /carrier 9 is not in carrier_name/],
    ["unknown domain", { carrierroute: [cr(5, { domain: 9 })] }, "carrierroute", 5, /domain 9 is not in domain_name/],
    ["prefix char", { carrierroute: [cr(5, { scan_prefix: "+49" })] }, "carrierroute", 5, /invalid character '\+'.*match_mode 10/],
    ["flags outside mask", { carrierroute: [cr(5, { flags: 4, mask: 3 })] }, "carrierroute", 5, /bits outside mask/],
    ["prob > 1", { carrierroute: [cr(5, { prob: 1.5 })] }, "carrierroute", 5, /prob 1.5 is above 1/],
    ["prob text", { carrierroute: [cr(5, { prob: "half" })] }, "carrierroute", 5, /prob 'half' is not a number/],
    ["negative strip", { carrierroute: [cr(5, { strip: -1 })] }, "carrierroute", 5, /strip -1/],
    ["bad host", { carrierroute: [cr(5, { rewrite_host: "a b" })] }, "carrierroute", 5, /rewrite_host 'a b'/],
    ["bad rewrite_prefix", { carrierroute: [cr(5, { rewrite_prefix: "0@" })] }, "carrierroute", 5, /rewrite_prefix/],
    ["reply code", { carrierfailureroute: [cfr(6, { reply_code: "5x." })] }, "carrierfailureroute", 6, /reply_code '5x\.'/],
    ["reply code length", { carrierfailureroute: [cfr(6, { reply_code: "5." })] }, "carrierfailureroute", 6, /reply_code '5\.'/],
    ["next_domain", { carrierfailureroute: [cfr(6, { next_domain: 7 })] }, "carrierfailureroute", 6, /next_domain 7 is not in domain_name/],
    ["dup carrier id", { carrier_name: [{ id: 1, carrier: "a" }, { id: 1, carrier: "b" }] }, "carrier_name", 1, /duplicate id/],
    ["dup carrier name", { carrier_name: [{ id: 1, carrier: "a" }, { id: 2, carrier: "a" }] }, "carrier_name", 2, /duplicate carrier name/],
    ["dup domain name", { domain_name: [{ id: 1, domain: "a" }, { id: 3, domain: "a" }] }, "domain_name", 3, /duplicate domain name/],
  ];
  for (const [name, set, table, row, msg] of cases) {
    it(`rejects: ${name}`, () => {
      const e = rejects(set);
      expect(e.table).toBe(table);
      expect(e.row).toBe(row);
      expect(e.message).toMatch(msg);
    });
  }
});
