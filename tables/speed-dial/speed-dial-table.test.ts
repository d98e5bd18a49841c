import { describe, expect, it } from "vitest";
import { compileSpeedDial } from "./speed-dial-table.js";

describe("speed_dial compile", () => {
  const set = {
    speed_dial: [
      { id: 1, username: "alice", domain: "a.com", sd_username: "12", sd_domain: "a.com", new_uri: "sip:bob@a.com" },
      { id: 2, username: "alice", domain: "b.com", sd_username: "12", sd_domain: "b.com", new_uri: "carol@b.com" },
    ],
  };

  it("keys owners and codes by use_domain and adds a missing sip: scheme", () => {
    const u0 = compileSpeedDial(set, 0);
    expect(u0.find("Alice", "x.org", "12", "y.org")).toBe("sip:bob@a.com"); // first row wins without domains
    const u1 = compileSpeedDial(set, 1);
    expect(u1.find("alice", "b.com", "12", "whatever")).toBe("sip:carol@b.com");
    expect(u1.find("alice", "c.com", "12", "")).toBeNull();
    const u2 = compileSpeedDial(set, 2);
    expect(u2.find("alice", "a.com", "12", "b.com")).toBeNull();
    expect(u2.find("alice", "a.com", "12", "a.com")).toBe("sip:bob@a.com");
  });

  it("names a bad row", () => {
    expect(() => compileSpeedDial({ speed_dial: [{ id: 3, username: "a", sd_username: "1", new_uri: "" }] }, 0)).toThrow(/speed_dial row 3: new_uri/);
    expect(() => compileSpeedDial({ speed_dial: [{ id: 4, username: "a", sd_username: "1", new_uri: "sip:a b" }] }, 0)).toThrow(/row 4/);
  });
});
