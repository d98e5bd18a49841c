import { describe, expect, it } from "vitest";
import type { RequestState } from "../../core/api.js";
import { Binding, parseUsrlocParams } from "../usrloc/api.js";
import { extractAor } from "./aor.js";
import { contactExpires, randomizeExpires } from "./contact-info.js";
import { LOOKUP_TARGETS_VAR, destinationOf, type LookupTarget } from "./lookup.js";
import { DEFAULT_REGISTRAR_PARAMS, parseRegistrarParams } from "./params.js";
import { RegFailure, buildContactList } from "./reply.js";
import { hasMoreContacts, loadContacts, nextContactFlow, nextContacts } from "./serial-fork.js";

describe("parameters", () => {
  it("takes Kamailio's names and checks ranges", () => {
    expect(parseRegistrarParams({ max_contacts: 5, use_path: 1, path_mode: "1" })).toMatchObject({ max_contacts: 5, use_path: true, path_mode: 1, min_expires: 60 });
    expect(() => parseRegistrarParams({ default_expires_range: 101 })).toThrow(/default_expires_range must be an integer in 0..100/);
    expect(() => parseRegistrarParams({ min_expires: 600, max_expires: 60 })).toThrow(/min_expires is larger/);
    expect(() => parseRegistrarParams({ gruu_enabled: 1 })).toThrow(/unknown parameter 'gruu_enabled'/);
    expect(() => parseUsrlocParams({ db_mode: 3, db_url: "mysql://x" })).toThrow(/db_mode 3/);
    expect(() => parseUsrlocParams({ db_mode: 2, db_url: "redis://x" })).toThrow(/write-back/);
    expect(() => parseUsrlocParams({ db_mode: 1 })).toThrow(/needs db_url/);
    expect(parseUsrlocParams({ db_mode: 1, db_url: "redis://127.0.0.1" }).backend).toBe("redis");
  });
});

describe("AoR and expiry rules", () => {
  const rules = { useDomain: false, caseSensitive: false, realmPrefix: "" };

  it("extract_aor: unescaped, lower-cased user, @domain with use_domain minus realm_prefix", () => {
    expect(extractAor("sip:Alice%20B@Example.com;transport=tcp", rules)).toBe("alice b");
    expect(extractAor("sip:Alice@sip.Example.com", { useDomain: true, caseSensitive: true, realmPrefix: "sip." })).toBe("Alice@example.com");
    expect(() => extractAor("sip:example.com", rules)).toThrow(RegFailure);
    expect(() => extractAor("sip:a%zz@example.com", rules)).toThrow(/unescaping/);
    expect(() => extractAor(`sip:${"a".repeat(300)}@x`, rules)).toThrow(/too long/);
  });

  it("expires: contact parameter, Expires header, default; 423 or raise below min; clamp to max", () => {
    const p = { ...DEFAULT_REGISTRAR_PARAMS, min_expires: 60, max_expires: 3600, default_expires: 1800 };
    expect(contactExpires("120", 300, p, true)).toBe(120);
    expect(contactExpires(undefined, 300, p, true)).toBe(300);
    expect(contactExpires(undefined, null, p, true)).toBe(1800);
    expect(contactExpires("junk", 300, p, true)).toBe(1800); // Kamailio: unparsable param → default
    expect(contactExpires("0", 300, p, true)).toBe(0);
    expect(contactExpires(undefined, 99999, p, true)).toBe(3600);
    try {
      contactExpires("10", null, p, true);
      expect.unreachable();
    } catch (e) {
      expect((e as RegFailure).kind).toBe("LOW_EXP");
      expect((e as RegFailure).headers).toEqual([["Min-Expires", "60"]]);
    }
    expect(contactExpires("10", null, { ...p, min_expires_mode: 0 }, true)).toBe(60);
  });

  it("randomises within the range, never below (1 - range%)", () => {
    expect(randomizeExpires(1000, 0)).toBe(1000);
    expect(randomizeExpires(1000, 20, () => 0)).toBe(800);
    expect(randomizeExpires(1000, 20, () => 0.999)).toBe(998);
    for (let i = 0; i < 100; i++) {
      const v = randomizeExpires(3600, 10);
      expect(v).toBeGreaterThanOrEqual(3240);
      expect(v).toBeLessThanOrEqual(3600);
    }
  });
});

describe("reply Contact list and destinations", () => {
  const now = 1000;
  const b = (contact: string, over: Partial<ConstructorParameters<typeof Binding>[2]> = {}) =>
    new Binding("a", "r", { contact, expires: now + 60, q: -1, callid: "c", cseq: 1, ...over }, now);

  it("lists valid bindings with q, expires, received, instance and reg-id", () => {
    const list = buildContactList(
      [b("sip:a@1", { q: 500, received: "sip:1.2.3.4:5" }), b("sip:a@2", { instance: "<urn:x>", regId: 2 }), b("sip:a@3", { expires: now - 1 })],
      now,
      "received",
    );
    expect(list).toBe('<sip:a@1>;q=0.5;expires=60;received="sip:1.2.3.4:5", <sip:a@2>;expires=60;+sip.instance="<urn:x>";reg-id=2');
    expect(buildContactList([], now, "received")).toBeNull();
  });

  it("routes through the first Path hop, its received parameter, or the NAT address", () => {
    expect(destinationOf(b("sip:a@1", { received: "sip:9.9.9.9:9" }), false)).toBe("sip:9.9.9.9:9");
    expect(destinationOf(b("sip:a@1", { path: "<sip:e1;lr>,<sip:e2;lr>", received: "sip:9.9.9.9:9" }), false)).toBe("sip:e1;lr");
    expect(destinationOf(b("sip:a@1", { path: "<sip:e1;lr;received=sip:8.8.8.8:7>" }), true)).toBe("sip:8.8.8.8:7");
    expect(destinationOf(b("sip:a@1"), false)).toBeNull();
  });
});

/** A request state that records the destination set. */
function fakeReq(targets: LookupTarget[]) {
  const st = { ruri: targets[0]?.uri ?? "sip:x@y", dst: null as string | null, path: null as string | null, branches: [] as string[], vars: new Map<string, unknown>() };
  st.vars.set(LOOKUP_TARGETS_VAR, targets);
  for (const t of targets.slice(1)) st.branches.push(t.uri);
  const req = {
    vars: st.vars,
    get ruri() {
      return st.ruri;
    },
    get branchCount() {
      return st.branches.length;
    },
    setRuri: (u: string) => (st.ruri = u),
    setDst: (d: string | null) => (st.dst = d),
    setPath: (p: string | null) => (st.path = p),
    forceSendSocket: () => undefined,
    clearBranches: () => (st.branches = []),
    appendBranch: (u: string) => st.branches.push(u),
  } as unknown as RequestState;
  return { st, req };
}

const tgt = (uri: string, q: number, instance: string | null = null): LookupTarget => ({ uri, dst: null, path: null, socket: null, q, flags: 0, instance, ruid: uri });

describe("t_load_contacts / t_next_contacts", () => {
  it("mode 0: higher q first, equal q together, one contact per instance per group", () => {
    const { st, req } = fakeReq([tgt("sip:a", 1000), tgt("sip:b", 500), tgt("sip:c", 1000, "<urn:1>"), tgt("sip:d", 1000, "<urn:1>"), tgt("sip:e", 100)]);
    expect(loadContacts(req, 0)).toBe(1);
    expect(st.branches).toEqual([]);
    expect(nextContacts(req)).toBe(1);
    expect([st.ruri, ...st.branches]).toEqual(["sip:a", "sip:c"]);
    expect(nextContactFlow(req)).toBe(1);
    expect(st.ruri).toBe("sip:d");
    expect(nextContactFlow(req)).toBe(-1);
    expect(hasMoreContacts(req)).toBe(true);
    expect(nextContacts(req)).toBe(1);
    expect([st.ruri, ...st.branches]).toEqual(["sip:b"]);
    expect(nextContacts(req)).toBe(1);
    expect(st.ruri).toBe("sip:e");
    expect(hasMoreContacts(req)).toBe(false);
    expect(nextContacts(req)).toBe(-2);
  });

  it("leaves equal-q sets and single contacts alone", () => {
    const same = fakeReq([tgt("sip:a", 500), tgt("sip:b", 500)]);
    expect(loadContacts(same.req)).toBe(1);
    expect(same.st.branches).toEqual(["sip:b"]);
    expect(nextContacts(same.req)).toBe(-2);
    const one = fakeReq([tgt("sip:a", 500)]);
    expect(loadContacts(one.req)).toBe(1);
  });

  it("mode 1: every contact alone, weighted by q, q 0 last", () => {
    let seed = 1;
    const rand = () => ((seed = (seed * 16807) % 2147483647) / 2147483647);
    const firsts: Record<string, number> = {};
    for (let i = 0; i < 2000; i++) {
      const { st, req } = fakeReq([tgt("sip:heavy", 900), tgt("sip:light", 100), tgt("sip:backup", 0)]);
      expect(loadContacts(req, 1, rand)).toBe(1);
      const order: string[] = [];
      while (nextContacts(req) > 0) order.push(st.ruri);
      expect(order.length).toBe(3);
      expect(order[2]).toBe("sip:backup");
      firsts[order[0]!] = (firsts[order[0]!] ?? 0) + 1;
    }
    expect(firsts["sip:heavy"]! / 2000).toBeGreaterThan(0.85);
    expect(firsts["sip:heavy"]! / 2000).toBeLessThan(0.95);
  });

  it("refuses a destination set it cannot read back", () => {
    const { st, req } = fakeReq([tgt("sip:a", 1000), tgt("sip:b", 500)]);
    st.branches.push("sip:foreign");
    expect(loadContacts(req)).toBe(-1);
  });
});
