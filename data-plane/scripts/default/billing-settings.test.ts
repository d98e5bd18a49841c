import { describe, expect, it } from "vitest";
import { parseAuthz } from "./authz-hook.js";
import { parseCallLimits } from "./call-limits.js";

describe("default script billing settings", () => {
  it("limits: valid settings parse, bad ones name the field", () => {
    expect(parseCallLimits(undefined)).toBeNull();
    expect(parseCallLimits({ maxCalls: 3, maxDurationS: 5, accounts: { vip: { maxCalls: 30 } } })).toEqual({
      maxCalls: 3,
      maxDurationS: 5,
      accounts: { vip: { maxCalls: 30, maxDurationS: undefined } },
      rejectCode: 403,
      rejectReason: "Call limit reached",
    });
    expect(() => parseCallLimits({ maxCalls: 0 })).toThrow("limits.maxCalls must be a positive integer, got 0");
    expect(() => parseCallLimits({ accounts: { a: { maxDurationS: "5" } } })).toThrow("accounts.a.maxDurationS must be a positive integer");
    expect(() => parseCallLimits({ rejectCode: 200 })).toThrow("rejectCode must be a code 400..699");
  });

  it("authorize: url required, timeout range, fail-open flag", () => {
    expect(parseAuthz({ url: "http://b/a" })).toEqual({ url: "http://b/a", timeoutMs: 1000, failOpen: false, headers: {} });
    expect(() => parseAuthz({ url: "ftp://x" })).toThrow("authorize.url must be an http:// or https:// URL");
    expect(() => parseAuthz({ url: "http://b", timeoutMs: 0 })).toThrow("timeoutMs must be 1..60000");
    expect(() => parseAuthz({ url: "http://b", failOpen: "yes" })).toThrow("failOpen must be true or false");
  });
});
