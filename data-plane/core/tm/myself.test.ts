import { describe, expect, it } from "vitest";
import { MyselfSet } from "./myself.js";

describe("MyselfSet (Kamailio check_self)", () => {
  const me = new MyselfSet();
  me.addSocket("127.0.0.1", 5070);
  me.addAlias("sip.example.com");
  me.addAlias("pbx.example.com:5060");
  me.addAlias("[2001:db8::5]");

  it("checks a socket's host and port together; no port means 5060 (5061 for sips)", () => {
    expect(me.has("127.0.0.1", 5070, false)).toBe(true);
    expect(me.has("127.0.0.1", null, false)).toBe(false);
    expect(me.has("127.0.0.1", 5060, false)).toBe(false);
  });

  it("a port-less alias matches without a port and on the ports Olelo listens on", () => {
    expect(me.has("sip.example.com", null, false)).toBe(true);
    expect(me.has("SIP.Example.com", 5070, false)).toBe(true);
    expect(me.has("sip.example.com", 9999, false)).toBe(false);
    expect(me.has("2001:db8::5", null, false)).toBe(true);
  });

  it("an alias with a port matches that port only, and does not make other hosts myself on it", () => {
    expect(me.has("pbx.example.com", 5060, false)).toBe(true);
    expect(me.has("pbx.example.com", null, false)).toBe(true);
    expect(me.has("pbx.example.com", 5070, false)).toBe(false);
    expect(me.has("127.0.0.1", 5060, false)).toBe(false);
    expect(me.has("sip.example.com", 5060, false)).toBe(false);
  });
});
