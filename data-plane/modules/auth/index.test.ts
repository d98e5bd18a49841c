import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import type { OleloEvent } from "../../core/api.js";
import type { RequestContext } from "../../core/api.js";
import { sipRequest, testRequest, type TestReply } from "../../testing/sip-harness.js";
import { HashTable, parseHtableDefinition } from "../../testing/module-internals.js";
import { createTestHost } from "../../testing/test-host.js";
import { ALGORITHMS, computeHa1, computeResponse, hashHex, type AlgorithmInfo } from "../../core/kit/index.js";
import authModule, { AUTH_RESULT_VAR, type AuthApi, type AuthResult } from "./index.js";

/** The request a test describes: method, header fields, body, From/To users and the domain. */
interface TestMsg {
  method: string;
  headers: Array<[string, string]>;
  body: string;
  fromUser: string;
  toUser: string;
  host: string;
}

/**
 * The real request context (data-plane/testing/sip-harness.ts) of a request from `source` to
 * sip:toUser@host. Its header edits go through the real context and are also recorded: `edits` in
 * order, `msg.headers` the fields as the edits leave them.
 */
function request(m: Partial<TestMsg> & { method: string }, source = "192.0.2.50") {
  const msg: TestMsg = { headers: [], body: "", fromUser: "alice", toUser: "alice", host: "example.com", ...m };
  const ruri = `sip:${msg.toUser}@${msg.host}`;
  const { req, replies } = testRequest(sipRequest(msg.method, ruri, { from: `sip:${msg.fromUser}@${msg.host}`, headers: msg.headers, body: msg.body }), {
    source: { proto: "udp", address: source, port: 5060 },
  });
  const edits: string[] = [];
  const same = (n: string, name: string) => n.toLowerCase() === name.toLowerCase();
  const removeHeader = req.removeHeader.bind(req);
  req.removeHeader = (name: string) => {
    edits.push(`-${name}`);
    msg.headers = msg.headers.filter(([n]) => !same(n, name));
    return removeHeader(name);
  };
  const addHeader = req.addHeader.bind(req);
  req.addHeader = (name: string, value: string, opts?: { first?: boolean }) => {
    edits.push(`+${name}: ${value}`);
    msg.headers.push([name, value]);
    addHeader(name, value, opts);
  };
  const removeHeaderAt = req.removeHeaderAt.bind(req);
  req.removeHeaderAt = (name: string, index: number) => {
    edits.push(`-${name}[${index}]`);
    let i = 0;
    const at = msg.headers.findIndex(([n]) => same(n, name) && i++ === index);
    if (at >= 0) msg.headers.splice(at, 1);
    return removeHeaderAt(name, index);
  };
  return { req: req as RequestContext, msg, replies, edits };
}

/** A UA answering a challenge: parses it and builds credentials (RFC 7616 §3.4). */
function answer(
  challenge: string,
  opts: { user: string; password: string; method: string; uri: string; nc?: number; cnonce?: string; qop?: string | null; body?: string; realm?: string },
): string {
  const get = (k: string) => new RegExp(`${k}="?([^",]+)"?`).exec(challenge)?.[1] ?? null;
  const realm = opts.realm ?? get("realm")!;
  const nonce = get("nonce")!;
  const algToken = get("algorithm") ?? "MD5";
  const alg: AlgorithmInfo = Object.values(ALGORITHMS).find((a) => a.token === algToken)!;
  const offered = get("qop");
  const qop = opts.qop === undefined ? (offered ? offered.split(",")[0]! : null) : opts.qop;
  const nc = qop ? (opts.nc ?? 1).toString(16).padStart(8, "0") : null;
  const cnonce = qop ? (opts.cnonce ?? "0a4f113b") : null;
  const ha1 = computeHa1(alg, opts.user, realm, opts.password);
  const response = computeResponse(alg, ha1, { method: opts.method, uri: opts.uri, nonce, qop, nc, cnonce, body: opts.body });
  let h = `Digest username="${opts.user}", realm="${realm}", nonce="${nonce}", uri="${opts.uri}", response="${response}", algorithm=${algToken}`;
  if (qop) h += `, qop=${qop}, nc=${nc}, cnonce="${cnonce}"`;
  return h;
}

const SUBSCRIBERS = [
  { id: 1, username: "alice", domain: "example.com", password: "wonderland", ha1: "", ha1b: "" },
  { id: 2, username: "bob", domain: "example.com", password: "", ha1: hashHex("md5", "bob:example.com:builder"), ha1b: hashHex("md5", "bob@example.com:example.com:builder") },
  { id: 3, username: "carol", domain: "other.net", password: "secret-c", ha1: "", ha1b: "" },
];

async function setup(config: Record<string, unknown> = {}) {
  const host = createTestHost("auth", { secret: "cluster-wide-secret-123", ...config });
  const auth = (await authModule.init(host)) as AuthApi;
  expect(host.tables.load("subscriber", { subscriber: SUBSCRIBERS }, "v1", "test").ok).toBe(true);
  const events: OleloEvent[] = [];
  host.events.subscribe(["security.*"], (e) => events.push(e));
  return { host, auth, events };
}

/** REGISTER → 401 challenge → the UA answers. */
function challengeFor(auth: AuthApi, method = "REGISTER", flags = 1, algs?: string[]): string[] {
  const { req, replies } = request({ method });
  auth.challenge(req, "example.com", flags, algs);
  return replies[0]!.headers.map(([, v]) => v);
}

describe("auth module: digest flows", () => {
  beforeEach(() => {
    vi.useFakeTimers();
    vi.setSystemTime(new Date("2026-06-01T08:00:00.000Z"));
  });
  afterEach(async () => {
    await authModule.destroy?.();
    vi.useRealTimers();
  });

  it("challenges REGISTER with 401 and other requests with 407, one header per algorithm, same nonce", async () => {
    const { auth, host } = await setup({ algorithms: "SHA-256,MD5" });
    const reg = request({ method: "REGISTER" });
    expect(auth.challenge(reg.req, "example.com", 1)).toBe(true);
    expect(reg.replies[0]!.code).toBe(401);
    expect(reg.replies[0]!.reason).toBe("Unauthorized");
    const names = reg.replies[0]!.headers.map(([n]) => n);
    expect(names).toEqual(["WWW-Authenticate", "WWW-Authenticate"]);
    const [h1, h2] = reg.replies[0]!.headers.map(([, v]) => v);
    expect(h1).toMatch(/^Digest realm="example\.com", nonce="[A-Za-z0-9_-]{44}", qop="auth", algorithm=SHA-256$/);
    expect(h2).toMatch(/algorithm=MD5$/);
    expect(/nonce="([^"]+)"/.exec(h1!)![1]).toBe(/nonce="([^"]+)"/.exec(h2!)![1]);
    const inv = request({ method: "INVITE" });
    auth.challenge(inv.req, "example.com", 3, ["MD5"]);
    expect(inv.replies[0]).toMatchObject({ code: 407, reason: "Proxy Authentication Required" });
    expect(inv.replies[0]!.headers).toHaveLength(1);
    expect(inv.replies[0]!.headers[0]![0]).toBe("Proxy-Authenticate");
    expect(inv.replies[0]!.headers[0]![1]).toContain('qop="auth,auth-int"');
    const noQop = request({ method: "OPTIONS" });
    auth.challenge(noQop.req, "ex\"ample", 0);
    expect(noQop.replies[0]!.headers[0]![1]).toMatch(/^Digest realm="ex\\"ample", nonce="[^"]+", algorithm=SHA-256$/);
    expect(host.stats.select("auth:challenges")).toEqual([["auth:challenges", 3]]);
  });

  it("accepts correct credentials (password and stored ha1, ha1b for user@domain), MD5 / SHA-256 / SHA-512-256", async () => {
    const { auth, host, events } = await setup({ algorithms: ["SHA-512-256", "SHA-256", "MD5"] });
    const ch = challengeFor(auth);
    let nc = 0; // the challenges share one nonce: every answer needs its own nc
    for (const c of ch) {
      const alice = request({ method: "REGISTER", headers: [["Authorization", answer(c, { user: "alice", password: "wonderland", method: "REGISTER", uri: "sip:example.com", nc: ++nc })]] });
      expect(auth.check(alice.req, "example.com", "subscriber", 1)).toBe(1);
      expect(alice.req.vars.get("auth:username")).toBe("alice");
    }
    // bob has only ha1 (MD5): usable for MD5 only
    const md5 = ch.find((c) => c.endsWith("MD5"))!;
    const bob = request({ method: "REGISTER", fromUser: "bob", toUser: "bob", headers: [["Authorization", answer(md5, { user: "bob", password: "builder", method: "REGISTER", uri: "sip:example.com", nc: ++nc })]] });
    expect(auth.check(bob.req, "example.com")).toBe(1);
    const bobAt = request({ method: "REGISTER", fromUser: "bob", toUser: "bob", headers: [["Authorization", answer(md5, { user: "bob@example.com", password: "builder", method: "REGISTER", uri: "sip:example.com", nc: ++nc })]] });
    expect(auth.check(bobAt.req, "example.com")).toBe(1);
    const sha = ch.find((c) => c.endsWith("SHA-256"))!;
    const bobSha = request({ method: "REGISTER", fromUser: "bob", toUser: "bob", headers: [["Authorization", answer(sha, { user: "bob", password: "builder", method: "REGISTER", uri: "sip:example.com", nc: ++nc })]] });
    expect(auth.check(bobSha.req, "example.com")).toBe(-2);
    expect(host.stats.select("auth:success")).toEqual([["auth:success", 5]]);
    expect(events.filter((e) => e.kind === "security.auth_failed")).toHaveLength(1);
  });

  it("answers a wrong password and an unknown user alike: same reply, only the code differs", async () => {
    const { auth, events } = await setup();
    const c = challengeFor(auth, "INVITE")[0]!;
    const wrong = request({ method: "INVITE", headers: [["Proxy-Authorization", answer(c, { user: "alice", password: "guess", method: "INVITE", uri: "sip:bob@example.com" })]] });
    const unknown = request({ method: "INVITE", fromUser: "mallory", headers: [["Proxy-Authorization", answer(c, { user: "mallory", password: "guess", method: "INVITE", uri: "sip:bob@example.com" })]] });
    const rw = auth.verify(wrong.req, "example.com");
    const ru = auth.verify(unknown.req, "example.com");
    expect([rw.code, rw.outcome]).toEqual([-2, "wrong-password"]);
    expect([ru.code, ru.outcome]).toEqual([-3, "unknown-user"]);
    auth.challenge(wrong.req, "example.com", 1);
    auth.challenge(unknown.req, "example.com", 1);
    const shape = (s: TestReply) => ({ code: s.code, reason: s.reason, headers: s.headers.map(([n, v]) => [n, v.replace(/nonce="[^"]+"/, 'nonce="*"')]) });
    expect(shape(wrong.replies[0]!)).toEqual(shape(unknown.replies[0]!));
    expect(events.map((e) => [e.kind, e.data.reason, e.data.user, e.data.source])).toEqual([
      ["security.auth_failed", "wrong-password", "alice", "192.0.2.50"],
      ["security.auth_failed", "unknown-user", "mallory", "192.0.2.50"],
    ]);
  });

  it("rejects a replayed nc (-6) and accepts the next nc", async () => {
    const { auth } = await setup();
    const c = challengeFor(auth)[0]!;
    const h1 = answer(c, { user: "alice", password: "wonderland", method: "REGISTER", uri: "sip:example.com", nc: 1 });
    expect(auth.check(request({ method: "REGISTER", headers: [["Authorization", h1]] }).req, "example.com")).toBe(1);
    const replay = request({ method: "REGISTER", headers: [["Authorization", h1]] });
    expect(auth.verify(replay.req, "example.com")).toMatchObject({ code: -6, outcome: "nonce-reused", stale: false });
    const h2 = answer(c, { user: "alice", password: "wonderland", method: "REGISTER", uri: "sip:example.com", nc: 2 });
    expect(auth.check(request({ method: "REGISTER", headers: [["Authorization", h2]] }).req, "example.com")).toBe(1);
  });

  it("a bad response with a reused nc does not burn the nc for the genuine client", async () => {
    const { auth } = await setup();
    const c = challengeFor(auth)[0]!;
    const forged = answer(c, { user: "alice", password: "wrong", method: "REGISTER", uri: "sip:example.com", nc: 1 });
    expect(auth.check(request({ method: "REGISTER", headers: [["Authorization", forged]] }).req, "example.com")).toBe(-2);
    const real = answer(c, { user: "alice", password: "wonderland", method: "REGISTER", uri: "sip:example.com", nc: 1 });
    expect(auth.check(request({ method: "REGISTER", headers: [["Authorization", real]] }).req, "example.com")).toBe(1);
  });

  it("an expired nonce with a valid response gives -4 and the next challenge carries stale=true", async () => {
    const { auth, host } = await setup({ nonce_expire: 60 });
    const c = challengeFor(auth)[0]!;
    vi.advanceTimersByTime(60_000);
    const r = request({ method: "REGISTER", headers: [["Authorization", answer(c, { user: "alice", password: "wonderland", method: "REGISTER", uri: "sip:example.com" })]] });
    expect(auth.verify(r.req, "example.com")).toMatchObject({ code: -4, outcome: "stale-nonce", stale: true });
    auth.challenge(r.req, "example.com", 1);
    expect(r.replies[0]!.headers[0]![1]).toContain(", stale=true");
    // wrong password with an expired nonce: no stale (the UA must ask its user)
    const w = request({ method: "REGISTER", headers: [["Authorization", answer(c, { user: "alice", password: "nope", method: "REGISTER", uri: "sip:example.com" })]] });
    expect(auth.check(w.req, "example.com")).toBe(-2);
    auth.challenge(w.req, "example.com", 1);
    expect(w.replies[0]!.headers[0]![1]).not.toContain("stale");
    expect(host.stats.select("auth:stale")).toEqual([["auth:stale", 1]]);
  });

  it("rejects a nonce from a foreign secret (-1, invalid-nonce) and a made-up nonce", async () => {
    const { auth, events } = await setup();
    const foreignHost = createTestHost("auth", { secret: "some-other-cluster-secret" });
    const foreign = (await authModule.init(foreignHost)) as AuthApi;
    const c = challengeFor(foreign)[0]!;
    const r = request({ method: "REGISTER", headers: [["Authorization", answer(c, { user: "alice", password: "wonderland", method: "REGISTER", uri: "sip:example.com" })]] });
    expect(auth.verify(r.req, "example.com")).toMatchObject({ code: -1, outcome: "invalid-nonce", detail: "nonce not issued with this secret" });
    const made = answer('Digest realm="example.com", nonce="dcd98b7102dd2f0e8b11d0f600bfb0c093", qop="auth"', { user: "alice", password: "wonderland", method: "REGISTER", uri: "sip:example.com" });
    expect(auth.check(request({ method: "REGISTER", headers: [["Authorization", made]] }).req, "example.com")).toBe(-1);
    expect(events.map((e) => e.data.reason)).toEqual(["invalid-nonce", "invalid-nonce"]);
  });

  it("a second node with the same secret accepts the first node's nonces", async () => {
    const { auth } = await setup();
    const c = challengeFor(auth)[0]!;
    const host2 = createTestHost("auth", { secret: "cluster-wide-secret-123" });
    const node2 = (await authModule.init(host2)) as AuthApi;
    host2.tables.load("subscriber", { subscriber: SUBSCRIBERS }, "v1", "test");
    const r = request({ method: "REGISTER", headers: [["Authorization", answer(c, { user: "alice", password: "wonderland", method: "REGISTER", uri: "sip:example.com" })]] });
    expect(node2.check(r.req, "example.com")).toBe(1);
  });

  it("reports malformed credentials (for a 400), missing credentials (-5) and skips ACK/CANCEL/PRACK", async () => {
    const { auth, host } = await setup();
    const bad = request({ method: "REGISTER", headers: [["Authorization", 'Digest username="alice", realm="example.com", nonce="x"']] });
    const r = auth.verify(bad.req, "example.com");
    expect(r).toMatchObject({ code: -1, outcome: "malformed", detail: "missing parameter uri" });
    const other = request({ method: "REGISTER", headers: [["Authorization", "Basic Zm9vOmJhcg=="]] });
    expect(auth.check(other.req, "example.com")).toBe(-5);
    const otherRealm = request({ method: "REGISTER", headers: [["Authorization", `Digest username="alice", realm="elsewhere", nonce="n", uri="sip:x", response="${"0".repeat(32)}"`]] });
    expect(auth.check(otherRealm.req, "example.com")).toBe(-5);
    expect(auth.check(request({ method: "INVITE", headers: [["Authorization", "whatever"]] }).req, "example.com")).toBe(-5); // INVITE uses Proxy-Authorization
    for (const m of ["ACK", "CANCEL", "PRACK"]) expect(auth.check(request({ method: m }).req, "example.com")).toBe(1);
    expect(auth.check(request({ method: "REGISTER" }).req, "")).toBe(-1);
    expect(auth.check(request({ method: "REGISTER" }).req, "example.com", "no_such_table")).toBe(-1);
    expect(host.stats.select("auth:malformed")).toEqual([["auth:malformed", 1]]);
  });

  it("identity checks (flag 1): auth user must match From (To for REGISTER), flag 2 skips forwarded methods", async () => {
    const { auth } = await setup();
    const c = challengeFor(auth, "INVITE")[0]!;
    let nc = 0;
    const creds = (method: string) => answer(c, { user: "alice", password: "wonderland", method, uri: "sip:x@example.com", nc: ++nc });
    const spoof = request({ method: "INVITE", fromUser: "bob", headers: [["Proxy-Authorization", creds("INVITE")]] });
    expect(auth.check(spoof.req, "example.com", "subscriber", 1)).toBe(-8);
    expect(auth.check(request({ method: "INVITE", fromUser: "bob", headers: [["Proxy-Authorization", creds("INVITE")]] }).req, "example.com", "subscriber", 0)).toBe(1);
    expect(auth.check(request({ method: "INVITE", fromUser: "bob", headers: [["Proxy-Authorization", creds("INVITE")]] }).req, "example.com", "subscriber", 3)).toBe(1);
    const rc = challengeFor(auth, "REGISTER")[0]!;
    const regOther = request({ method: "REGISTER", fromUser: "alice", toUser: "bob", headers: [["Authorization", answer(rc, { user: "alice", password: "wonderland", method: "REGISTER", uri: "sip:example.com" })]] });
    expect(auth.check(regOther.req, "example.com", "subscriber", 1)).toBe(-8);
  });

  it("consume_credentials removes only the field that authorized the request", async () => {
    const { auth } = await setup();
    const c = challengeFor(auth, "INVITE")[0]!;
    const downstream = `Digest username="x", realm="carrier.net", nonce="n", uri="sip:x", response="${"1".repeat(32)}"`;
    const r = request({ method: "INVITE", headers: [["Proxy-Authorization", downstream], ["Proxy-Authorization", answer(c, { user: "alice", password: "wonderland", method: "INVITE", uri: "sip:x@example.com" })]] });
    expect(auth.consumeCredentials(r.req)).toBe(false); // nothing authorized yet
    expect(auth.check(r.req, "example.com")).toBe(1);
    expect(auth.consumeCredentials(r.req)).toBe(true);
    expect(r.msg.headers).toEqual([["Proxy-Authorization", downstream]]);
    expect(r.edits).toEqual(["-Proxy-Authorization[1]"]);
  });

  it("has_credentials and credentialsUser ($au)", async () => {
    const { auth } = await setup();
    const r = request({ method: "INVITE", headers: [["Proxy-Authorization", `Digest username="alice", realm="example.com", nonce="n", uri="sip:x", response="${"2".repeat(32)}"`]] });
    expect(auth.hasCredentials(r.req, "example.com")).toBe(true);
    expect(auth.hasCredentials(r.req, "EXAMPLE.com")).toBe(true);
    expect(auth.hasCredentials(r.req, "other.org")).toBe(false);
    expect(auth.credentialsUser(r.req, "example.com")).toBe("alice");
    expect(auth.credentialsUser(r.req)).toBe("alice");
    expect(auth.credentialsUser(r.req, "other.org")).toBeNull();
  });

  it("auth-int covers the body; one-time nonces are good once", async () => {
    const { auth } = await setup({ one_time_nonce: 1 });
    const c = challengeFor(auth, "MESSAGE", 2)[0]!;
    const body = "hello";
    const h = answer(c, { user: "alice", password: "wonderland", method: "MESSAGE", uri: "sip:bob@example.com", body, qop: "auth-int" });
    expect(auth.check(request({ method: "MESSAGE", body, headers: [["Proxy-Authorization", h]] }).req, "example.com")).toBe(1);
    const again = request({ method: "MESSAGE", body, headers: [["Proxy-Authorization", answer(c, { user: "alice", password: "wonderland", method: "MESSAGE", uri: "sip:bob@example.com", body, qop: "auth-int", nc: 2 })]] });
    const r = auth.verify(again.req, "example.com");
    expect(r).toMatchObject({ code: -6, stale: true });
    const tampered = request({ method: "MESSAGE", body: "hellO", headers: [["Proxy-Authorization", h]] });
    expect(auth.check(tampered.req, "example.com")).toBe(-2);
  });

  it("use_domain=1 looks users up in the realm's domain", async () => {
    const { auth } = await setup({ use_domain: 1 });
    const c = challengeFor(auth)[0]!.replace('realm="example.com"', 'realm="other.net"');
    const carol = (realm: string) =>
      request({ method: "REGISTER", fromUser: "carol", toUser: "carol", host: realm, headers: [["Authorization", answer(c, { user: "carol", password: "secret-c", method: "REGISTER", uri: `sip:${realm}`, realm })]] });
    expect(auth.check(carol("other.net").req, "other.net")).toBe(1);
    const { auth: auth0 } = await setup({ use_domain: 0 });
    expect(auth0.check(carol("other.net").req, "other.net")).toBe(1); // found by username alone
    expect(auth.check(carol("example.com").req, "example.com")).toBe(-3); // no carol in domain example.com
  });

  it("stores the result for the script in req.vars", async () => {
    const { auth } = await setup();
    const r = request({ method: "REGISTER" });
    auth.check(r.req, "example.com");
    expect((r.req.vars.get(AUTH_RESULT_VAR) as AuthResult).outcome).toBe("no-credentials");
  });

  it("sweeps the nonce tracker on a timer that destroy clears", async () => {
    await setup();
    expect(vi.getTimerCount()).toBe(1);
    await authModule.destroy?.();
    expect(vi.getTimerCount()).toBe(0);
  });
});

describe("auth module: failure limiter and parameters", () => {
  afterEach(async () => {
    await authModule.destroy?.();
    vi.useRealTimers();
  });

  it("blocks a user after 3 failures for 900 s using an htable, and calls onBlock once", async () => {
    vi.useFakeTimers();
    const { auth } = await setup();
    const table = new HashTable(parseHtableDefinition("a=>size=8"));
    const blocked: string[] = [];
    const lim = auth.createFailureLimiter({ store: table, maxFailures: 3, blockSeconds: 900, onBlock: (id) => blocked.push(id) });
    expect(lim.recordFailure("alice")).toBe(1);
    expect(lim.recordFailure("alice")).toBe(2);
    expect(lim.isBlocked("alice")).toBe(false);
    expect(lim.recordFailure("alice")).toBe(3);
    expect(lim.isBlocked("alice")).toBe(true);
    expect(table.get("alice::auth_count")).toBe(3);
    lim.recordFailure("alice");
    expect(blocked).toEqual(["alice"]);
    vi.advanceTimersByTime(899_000);
    expect(lim.isBlocked("alice")).toBe(true);
    vi.advanceTimersByTime(1_000);
    expect(lim.isBlocked("alice")).toBe(false);
    lim.recordFailure("bob");
    lim.reset("bob");
    expect(lim.failures("bob")).toBe(0);
  });

  it("validates parameters at init", async () => {
    const init = (cfg: Record<string, unknown>) => Promise.resolve().then(() => authModule.init(createTestHost("auth", cfg)));
    await expect(init({ secret: "short" })).rejects.toThrow(/secret/);
    await expect(init({ algorithms: "SHA-1" })).rejects.toThrow(/unsupported algorithm/);
    await expect(init({ algorithms: ["MD5-sess"] })).rejects.toThrow(/unsupported algorithm/);
    await expect(init({ nonce_expire: 0 })).rejects.toThrow(/nonce_expire/);
    await expect(init({ nonce_count: "maybe" })).rejects.toThrow(/nonce_count/);
    await expect(init({ realm_prefix: "x" })).rejects.toThrow(/unknown parameter 'realm_prefix'/);
  });
});
