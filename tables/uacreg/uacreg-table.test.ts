import { describe, expect, it } from "vitest";
import { TableError } from "../rows.js";
import { compileUacReg } from "./uacreg-table.js";

const row = (o: Record<string, unknown>) => ({
  id: 1,
  l_uuid: "t1",
  l_username: "pbx",
  l_domain: "pbx.local",
  r_username: "acct",
  r_domain: "carrier.example",
  realm: "carrier.example",
  auth_username: "acct",
  auth_password: "pw",
  auth_ha1: "",
  auth_proxy: "",
  expires: 600,
  flags: 0,
  reg_delay: 0,
  contact_addr: "",
  socket: "",
  ...o,
});

function refusal(rows: unknown[]): TableError {
  try {
    compileUacReg({ uacreg: rows as never });
  } catch (e) {
    if (e instanceof TableError) return e;
    throw e;
  }
  throw new Error("compiled");
}

describe("uacreg compile", () => {
  it("compiles Kamailio rows, keyed by l_uuid", () => {
    const t = compileUacReg({ uacreg: [row({}), row({ id: 2, l_uuid: "creds", r_username: "", expires: 0, realm: "other" })] });
    expect(t.rows.length).toBe(2);
    expect(t.byUuid.get("t1")).toMatchObject({ r_domain: "carrier.example", expires: 600 });
  });

  it("finds credentials by the carrier's host first, then by realm", () => {
    const t = compileUacReg({
      uacreg: [row({ id: 1, l_uuid: "a", r_domain: "a.example", realm: "shared", auth_username: "ua" }), row({ id: 2, l_uuid: "b", r_domain: "b.example", realm: "shared", auth_username: "ub", auth_proxy: "sip:proxy.b.example;lr" })],
    });
    expect(t.credentialsFor("shared", "b.example")!.auth_username).toBe("ub");
    expect(t.credentialsFor("shared", "proxy.b.example")!.auth_username).toBe("ub");
    expect(t.credentialsFor("shared", "elsewhere")!.auth_username).toBe("ua");
    expect(t.credentialsFor("nope", "a.example")).toBeNull();
  });

  it.each([
    [{ l_uuid: "" }, /l_uuid must not be empty/],
    [{ l_uuid: "a b" }, /l_uuid 'a b' is not a valid SIP URI user/],
    [{ auth_proxy: "http://x" }, /auth_proxy 'http:\/\/x'/],
    [{ r_username: "" }, /r_username must not be empty/],
    [{ r_domain: "bad host!" }, /r_domain 'bad host!'/],
    [{ auth_password: "", auth_ha1: "" }, /auth_password and auth_ha1 are empty/],
    [{ auth_ha1: "xyz" }, /auth_ha1 must be 32/],
    [{ expires: -1 }, /expires -1 is below 0/],
    [{ socket: "udp:1.2.3.4:5060:9" }, /socket/],
    [{ contact_addr: "a b" }, /contact_addr/],
  ])("refuses %o naming table, row and reason", (o, reason) => {
    const e = refusal([row({ id: 7, ...o })]);
    expect(e.table).toBe("uacreg");
    expect(e.row).toBe(7);
    expect(e.message).toMatch(reason);
  });

  it("refuses a duplicate l_uuid naming both rows", () => {
    const e = refusal([row({ id: 1 }), row({ id: 2 })]);
    expect(e.row).toBe(2);
    expect(e.message).toMatch(/also the l_uuid of row 1/);
  });
});
