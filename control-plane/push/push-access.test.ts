import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { PushAccess, checkPushAccess, parsePushAccess } from "./push-access.js";
import { hashOnlyRow, leastSecretSource } from "./least-secret.js";
import { createMemorySource } from "./push-source.js";
import { createHash } from "node:crypto";

const rules = parsePushAccess(JSON.stringify({ nodes: ["a", "b", "t"], revoked: ["b"], tokens: { t: "x".repeat(16) } }), "f.json");

describe("push access rules", () => {
  it("mtls: CN must equal the node id; revoked and allow-list apply; a listed token is required too", () => {
    expect(checkPushAccess(rules, { mode: "mtls", nodeId: "a", certCn: "a", token: null })).toBeNull();
    expect(checkPushAccess(rules, { mode: "mtls", nodeId: "a", certCn: null, token: null })).toBe("no verified client certificate");
    expect(checkPushAccess(rules, { mode: "mtls", nodeId: "a", certCn: "b", token: null })).toBe("hello names node 'a' but the client certificate is for 'b'");
    expect(checkPushAccess(rules, { mode: "mtls", nodeId: "b", certCn: "b", token: null })).toBe("node 'b' is revoked");
    expect(checkPushAccess(rules, { mode: "mtls", nodeId: "c", certCn: "c", token: null })).toBe("node 'c' is not in the allow-list");
    expect(checkPushAccess(rules, { mode: "mtls", nodeId: "t", certCn: "t", token: null })).toBe("missing or wrong token for node 't'");
    expect(checkPushAccess(rules, { mode: "mtls", nodeId: "t", certCn: "t", token: "x".repeat(16) })).toBeNull();
  });
  it("token mode needs the node's own token; insecure mode applies the lists only", () => {
    expect(checkPushAccess(rules, { mode: "token", nodeId: "t", certCn: null, token: "x".repeat(16) })).toBeNull();
    expect(checkPushAccess(rules, { mode: "token", nodeId: "t", certCn: null, token: "y".repeat(16) })).toBe("missing or wrong token for node 't'");
    expect(checkPushAccess(rules, { mode: "token", nodeId: "a", certCn: null, token: "x".repeat(16) })).toBe("no token is configured for node 'a'");
    expect(checkPushAccess(rules, { mode: "insecure", nodeId: "a", certCn: null, token: null })).toBeNull();
    expect(checkPushAccess(rules, { mode: "insecure", nodeId: "b", certCn: null, token: null })).toBe("node 'b' is revoked");
  });
  it("bad files name the problem; a failed reload keeps the old rules and status shows no token", () => {
    expect(() => parsePushAccess("{", "f.json")).toThrow(/^push access file f.json: invalid JSON/);
    expect(() => parsePushAccess('{"allow":[]}', "f.json")).toThrow("push access file f.json: unknown key 'allow'");
    expect(() => parsePushAccess('{"nodes":[1]}', "f.json")).toThrow("push access file f.json: 'nodes' must be an array of node ids");
    expect(() => parsePushAccess('{"tokens":{"a":"short"}}', "f.json")).toThrow("push access file f.json: token of node 'a' must be a string of at least 16 characters");
    const dir = mkdtempSync(join(tmpdir(), "olelo-access-"));
    const file = join(dir, "a.json");
    writeFileSync(file, JSON.stringify({ revoked: [], tokens: { t: "s".repeat(20) } }));
    const acc = new PushAccess(file, { pollMs: 0 });
    let changes = 0;
    acc.onChange(() => changes++);
    writeFileSync(file, "not json");
    expect(acc.reload()).toMatchObject({ ok: false });
    expect(changes).toBe(0);
    writeFileSync(file, JSON.stringify({ revoked: ["a"], tokens: { t: "s".repeat(20) } }));
    expect(acc.reload()).toEqual({ ok: true });
    expect(changes).toBe(1);
    expect(acc.check({ mode: "insecure", nodeId: "a", certCn: null, token: null })).toBe("node 'a' is revoked");
    expect(JSON.stringify(acc.status())).not.toContain("s".repeat(20));
    expect(acc.status().tokenNodes).toEqual(["t"]);
    acc.close();
    expect(() => new PushAccess(join(dir, "missing.json"))).toThrow(`push access file ${join(dir, "missing.json")}: ENOENT`);
  });
});

describe("least secret material", () => {
  const md5 = (s: string) => createHash("md5").update(s).digest("hex");
  it("drops the password and fills ha1/ha1b as kamctl computes them; rows without password pass unchanged", () => {
    const r = hashOnlyRow({ id: 1, username: "alice", domain: "example.org", password: "pw", ha1: "", ha1b: "" });
    expect(r).toEqual({ id: 1, username: "alice", domain: "example.org", password: "", ha1: md5("alice:example.org:pw"), ha1b: md5("alice@example.org:example.org:pw") });
    const keep = { id: 2, username: "bob", domain: "d", password: "pw", ha1: "a".repeat(32), ha1b: "b".repeat(32) };
    expect(hashOnlyRow(keep)).toEqual({ ...keep, password: "" });
    const none = { id: 3, username: "c", domain: "d", password: "", ha1: "c".repeat(32), ha1b: "" };
    expect(hashOnlyRow(none)).toBe(none);
  });
  it("marks hashed subscriber versions with .h, leaves other kinds alone, maps snapshot() back", async () => {
    const src = createMemorySource({ keepVersions: 2 });
    src.set("subscriber", { subscriber: [{ id: 1, username: "a", domain: "d", password: "pw", ha1: "", ha1b: "" }] }, "s1");
    src.set("dispatcher", { dispatcher: [] }, "d1");
    const w = leastSecretSource(src, { passwords: false });
    const cur = w.current("subscriber")!;
    expect(cur.version).toBe("s1.h");
    expect(cur.set.subscriber![0]!.password).toBe("");
    expect(w.current("subscriber")).toBe(cur); // one copy per version
    expect(w.current("dispatcher")!.version).toBe("d1");
    expect((await w.snapshot!("subscriber", "s1.h"))!.set.subscriber![0]!.password).toBe("");
    expect(await w.snapshot!("subscriber", "s1")).toBeUndefined();
    expect(leastSecretSource(src, { passwords: true })).toBe(src);
  });
});
