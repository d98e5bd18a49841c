import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { ApiTokens, parseTokensFile, requiredRole, roleAllows } from "./roles.js";

describe("management API roles", () => {
  it("maps methods to the least role", () => {
    for (const m of ["status", "nodes", "diff", "audit.list", "snapshots.list", "dispatcher.list", "subscriber.get", "system.listMethods", "access.status", "cdrs.list", "cdrs.get", "cdrs.export", "cdrs.dead_letters", "canary.status", "route.dryRun"]) expect(requiredRole(m), m).toBe("read-only");
    for (const m of ["dispatcher.create", "lcr_gw.update", "subscriber.passwd", "push", "address.delete", "cdrs.ingest", "canary.promote", "canary.abort", "rollback", "unpin"]) expect(requiredRole(m), m).toBe("operator");
    for (const m of ["access.reload", "tokens.list"]) expect(requiredRole(m), m).toBe("admin");
    expect(roleAllows("read-only", "push")).toBe(false);
    expect(roleAllows("operator", "push")).toBe(true);
    expect(roleAllows("operator", "access.reload")).toBe(false);
    expect(roleAllows("admin", "access.reload")).toBe(true);
  });
  it("reads {token: role} and {token: {role, name}}; names bad entries without printing the token", () => {
    const t = parseTokensFile(JSON.stringify({ ["r".repeat(16)]: "read-only", ["o".repeat(16)]: { role: "operator", name: "alice" } }), "t.json");
    expect(t.map((x) => [x.role, x.name])).toEqual([["read-only", expect.stringMatching(/^read-only-[0-9a-f]{6}$/)], ["operator", "alice"]]);
    const secret = "s".repeat(20);
    expect(() => parseTokensFile(JSON.stringify({ [secret]: "root" }), "t.json")).toThrow("API tokens file t.json: entry 1: role must be one of read-only, operator, admin");
    expect(() => parseTokensFile(JSON.stringify({ short: "admin" }), "t.json")).toThrow("entry 1: a token must have at least 16 characters");
    try {
      parseTokensFile(JSON.stringify({ [secret]: "root" }), "t.json");
    } catch (e) {
      expect((e as Error).message).not.toContain(secret);
    }
  });
  it("looks tokens up from the header, fixed ones survive reloads, a bad file keeps the old tokens", () => {
    const dir = mkdtempSync(join(tmpdir(), "olelo-tokens-"));
    const file = join(dir, "t.json");
    writeFileSync(file, JSON.stringify({ ["a".repeat(16)]: "operator" }));
    const tokens = new ApiTokens({ file, fixed: [{ name: "admin", token: "fixed-admin", role: "admin" }], pollMs: 0 });
    expect(tokens.lookup(`Bearer ${"a".repeat(16)}`)?.role).toBe("operator");
    expect(tokens.lookup("Bearer fixed-admin")).toEqual({ name: "admin", role: "admin" });
    expect(tokens.lookup("Bearer nope")).toBeNull();
    expect(tokens.lookup(undefined)).toBeNull();
    writeFileSync(file, "{bad");
    expect(tokens.reload().ok).toBe(false);
    expect(tokens.lookup(`Bearer ${"a".repeat(16)}`)?.role).toBe("operator");
    writeFileSync(file, JSON.stringify({ ["b".repeat(16)]: "read-only" }));
    expect(tokens.reload()).toEqual({ ok: true, tokens: 2 });
    expect(tokens.lookup(`Bearer ${"a".repeat(16)}`)).toBeNull();
    expect(tokens.status().byRole).toEqual({ "read-only": 1, operator: 0, admin: 1 });
    tokens.close();
    // a tokens file emptied by a reload still requires tokens (nobody gets in) instead of opening the API
    const only = join(dir, "only.json");
    writeFileSync(only, JSON.stringify({ ["c".repeat(16)]: "admin" }));
    const fileOnly = new ApiTokens({ file: only, pollMs: 0 });
    writeFileSync(only, "{}");
    expect(fileOnly.reload()).toEqual({ ok: true, tokens: 0 });
    expect(fileOnly.required).toBe(true);
    expect(new ApiTokens({}).required).toBe(false);
    fileOnly.close();
  });
});
