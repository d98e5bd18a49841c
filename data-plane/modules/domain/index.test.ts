import { describe, expect, it } from "vitest";
import { fakeHost, fakeRequest } from "../../testing/fake-host.js";
import domainModule, { DID_VAR, hostOf } from "./index.js";

const INFO = { transport: "internal" } as const;

async function setup() {
  const host = fakeHost("domain");
  const api = await domainModule.init(host);
  const set = {
    domain: [
      { id: 1, domain: "example.com", did: "ex" },
      { id: 2, domain: "[2001:db8::1]", did: null },
    ],
    domain_attrs: [{ id: 1, did: "ex", name: "tier", type: 2, value: "gold" }],
  };
  expect(await host.tables.load("domain", set, "v1", "test")).toEqual({ ok: true });
  return { host, api };
}

describe("domain module", () => {
  it("is_domain_local takes hosts and URIs, case-insensitively", async () => {
    const { api } = await setup();
    expect(api.isDomainLocal("EXAMPLE.com")).toBe(1);
    expect(api.isDomainLocal("sip:bob@example.com:5060;transport=tcp")).toBe(1);
    expect(api.isDomainLocal("example.com:5060")).toBe(1);
    expect(api.isDomainLocal("[2001:db8::1]:5060")).toBe(1);
    expect(api.isDomainLocal("other.com")).toBe(-1);
    expect(api.isDomainLocal("")).toBe(-1);
    expect(hostOf("bob@Example.com")).toBe("example.com");
  });

  it("is_from_local / is_uri_host_local / lookup_domain", async () => {
    const { api } = await setup();
    const req = fakeRequest({ from: "sip:alice@example.com", ruri: "sip:bob@other.com" });
    expect(api.isFromLocal(req)).toBe(1);
    expect(api.isUriHostLocal(req)).toBe(-1);
    expect(api.lookupDomain(req, "sip:x@example.com", "fd_")).toBe(1);
    expect(req.vars.get(DID_VAR)).toBe("ex");
    expect(req.vars.get("$avp(fd_tier)")).toBe("gold");
    expect(api.lookupDomain(req, "other.com")).toBe(-1);
    expect(api.lookupDomain(req, "example.com", "bad prefix")).toBe(-2);
  });

  it("domain.dump lists domains with did and attrs; unknown parameters are refused", async () => {
    const { host } = await setup();
    expect(await host.rpc.call("domain.dump", [], INFO)).toEqual([
      { domain: "[2001:db8::1]", did: "[2001:db8::1]", attrs: [] },
      { domain: "example.com", did: "ex", attrs: [{ name: "tier", type: 2, value: "gold" }] },
    ]);
    expect(() => domainModule.init(fakeHost("domain", { db_url: "mysql://x" }))).toThrow("domain: unknown parameter 'db_url'");
  });
});
