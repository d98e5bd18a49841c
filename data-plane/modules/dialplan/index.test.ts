import { describe, expect, it } from "vitest";
import { fakeHost, fakeRequest, setTableSource } from "../../testing/fake-host.js";
import dialplanModule from "./index.js";

const rows = [
  { id: 1, dpid: 1, pr: 1, match_op: 1, match_exp: "^0[1-9]", match_len: 0, subst_exp: "^0(.*)$", repl_exp: "+49\\1", attrs: "national" },
  { id: 2, dpid: 2, pr: 1, match_op: 0, match_exp: "gw", match_len: 0, subst_exp: "", repl_exp: "sip:carrier.example.net:5060", attrs: "" },
];

const INFO = { transport: "internal" } as const;

async function setup(config: Record<string, unknown> = {}) {
  const host = fakeHost("dialplan", config);
  const api = await dialplanModule.init(host);
  expect(await host.tables.load("dialplan", { dialplan: rows }, "v1", "test")).toEqual({ ok: true });
  return { host, api };
}

describe("dialplan module", () => {
  it("dp_translate rewrites $rU and sets attrs_pvar; -1 leaves the request alone", async () => {
    const { api, host } = await setup();
    const req = fakeRequest({ ruri: "sip:0301234@example.com;user=phone" });
    expect(api.translate(req, 1)).toBe(1);
    expect(req.ruri).toBe("sip:+49301234@example.com;user=phone");
    expect(req.vars.get("$avp(dp_attrs)")).toBe("national");
    const other = fakeRequest({ ruri: "sip:+4930@example.com" });
    expect(api.translate(other, 1)).toBe(-1);
    expect(other.ruri).toBe("sip:+4930@example.com");
    expect(host.stats.group("dialplan", []).get("translated")).toBe(1);
  });

  it("src/dst pseudo-variables: $fU → $var(x), a URI output into $du; bad targets -1", async () => {
    const { api } = await setup({ attrs_pvar: "$var(attrs)" });
    const req = fakeRequest({ from: "sip:0891@example.com", ruri: "sip:gw@example.com" });
    expect(api.translate(req, 1, "$fU", "$var(caller)")).toBe(1);
    expect(req.vars.get("$var(caller)")).toBe("+49891");
    expect(req.vars.get("$var(attrs)")).toBe("national");
    expect(api.translate(req, 2, "$rU", "$du")).toBe(1);
    expect(req.dst).toBe("sip:carrier.example.net:5060");
    expect(api.translate(req, 1, "$fU", "$du")).toBe(-1); // "+49891" is not a URI
    expect(api.translate(req, 1, "$nope", "$rU")).toBe(-1);
    expect(api.match(fakeRequest({ ruri: "sip:0301@x" }), 1)).toBe(1);
  });

  it("RPCs: translate, dump, reload (a bad row is refused and the running rules stay)", async () => {
    const { host } = await setup();
    expect(await host.rpc.call("dialplan.translate", [1, "0301"], INFO)).toEqual({ Output: "+49301", Attributes: "national" });
    await expect(host.rpc.call("dialplan.translate", [1, "x"], INFO)).rejects.toThrow("No translation");
    expect(await host.rpc.call("dialplan.dump", [2], INFO)).toEqual([{ DPID: 2, ENTRIES: [{ ID: 2, PRIO: 1, MATCHOP: 0, MATCHEXP: "gw", MATCHLEN: 0, SUBSTEXP: "", REPLEXP: "sip:carrier.example.net:5060", ATTRS: "" }] }]);
    await expect(host.rpc.call("dialplan.dump", [9], INFO)).rejects.toThrow("Dialplan ID 9 not found");
    setTableSource(host, "dialplan", () => ({ dialplan: [...rows, { ...rows[0], id: 3, match_exp: "(" }] }));
    await expect(host.rpc.call("dialplan.reload", [], INFO)).rejects.toThrow(/dialplan row 3: match_exp '\(' is not a valid regular expression/);
    expect(await host.rpc.call("dialplan.translate", [1, "0301"], INFO)).toEqual({ Output: "+49301", Attributes: "national" });
  });

  it("refuses a bad attrs_pvar", () => {
    expect(() => dialplanModule.init(fakeHost("dialplan", { attrs_pvar: "dp_attrs" }))).toThrow(/attrs_pvar/);
  });
});
