/**
 * Digest authentication end to end with a test client that computes the digest itself
 * (test/scripts/firewall-digest.ts, independent of the auth module): SHA-256 (which sipp 3.6
 * cannot do), one answer for unknown user and wrong password, replayed nonce (nc tracking),
 * expired nonce (stale=true), proxy authentication on INVITE with SHA-256, trusted peers, the
 * 403 "Not relaying" rule, a password-guessing run that gets its source banned (auth_fail htable
 * counter → pike guard ban → dropped before parsing), and malformed Authorization headers (400,
 * never a crash). Events over the WebSocket event stream, counters over HTTP JSON-RPC.
 * Ports: a block of 100 from test/kit/ports.ts (freePortBlock).
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { DataPlane } from "../data-plane/node.js";
import { startProxy } from "./helpers/proxy.js";
import { UdpPeer, headerOf, statusOf } from "./helpers/udp-peer.js";
import { counters, EventStream, rpc } from "./scripts/firewall-control.js";
import { answerChallenge, parseChallenge } from "./scripts/firewall-digest.js";
import { SipResponder } from "./scripts/firewall-responder.js";
import { freePortBlock } from "./kit/ports.js";
import { letTimePass } from "./kit/wait.js";

const BASE = await freePortBlock(100);
const PORT = BASE; // SHA-256 + MD5, nonce_expire 300
const CONTROL = BASE + 1;
const UAS = BASE + 10;
const STALE_PORT = BASE + 50; // nonce_expire 1, no pike
const MAX_FAILURES = 5;
const LOCAL = `127.0.0.1:${PORT}`;

let seq = 0;

interface Req {
  method?: string;
  ruri?: string;
  user?: string;
  from?: string;
  to?: string;
  cseq?: number;
  callId?: string;
  extra?: string[];
  proxyPort?: number;
}

/** Sends one request from `peer` and waits for its final reply (null after `ms` without one). */
async function send(peer: UdpPeer, r: Req, ms = 3000): Promise<string | null> {
  const method = r.method ?? "REGISTER";
  const port = r.proxyPort ?? PORT;
  const user = r.user ?? "alice";
  const callId = r.callId ?? `fw-${++seq}-${Date.now()}`;
  const cseq = r.cseq ?? 1;
  const ruri = r.ruri ?? (method === "REGISTER" ? `sip:127.0.0.1:${port}` : `sip:carol@127.0.0.1:${port}`);
  const from = r.from ?? `sip:${user}@127.0.0.1:${port}`;
  const to = r.to ?? (method === "REGISTER" ? from : ruri);
  const text = [
    `${method} ${ruri} SIP/2.0`,
    `Via: SIP/2.0/UDP ${peer.host}:${peer.port};branch=z9hG4bK-fw${++seq};rport`,
    `From: <${from}>;tag=ft${seq}`,
    `To: <${to}>`,
    `Call-ID: ${callId}`,
    `CSeq: ${cseq} ${method}`,
    `Contact: <sip:${user}@${peer.host}:${peer.port}>`,
    `Max-Forwards: 70`,
    ...(method === "REGISTER" ? ["Expires: 60"] : []),
    ...(r.extra ?? []),
    `Content-Length: 0`,
    ``,
    ``,
  ].join("\r\n");
  peer.send(text, port);
  return peer
    .wait((t) => statusOf(t) >= 200 && t.includes(`Call-ID: ${callId}\r\n`) && new RegExp(`^CSeq: ${cseq} ${method}\\r$`, "m").test(t), ms)
    .catch(() => null);
}

/** Reason phrase of a reply. */
const reasonOf = (t: string) => t.slice(t.indexOf(" ", 8) + 1, t.indexOf("\r\n"));

describe("digest authentication with an independent client", () => {
  let dp: DataPlane;
  let stale: DataPlane;
  let uas: SipResponder;
  let base: string;
  let stream: EventStream;
  const peers: UdpPeer[] = [];
  const peer = async (host: string) => {
    const p = await UdpPeer.open(0, host);
    peers.push(p);
    return p;
  };
  const subscribers = {
    subscriber: [
      { id: 1, username: "alice", domain: "127.0.0.1", password: "wonderland" },
      { id: 2, username: "bob", domain: "127.0.0.1", password: "builder" },
    ],
  };

  beforeAll(async () => {
    uas = await SipResponder.open(UAS);
    const modules = (auth: Record<string, unknown>, pike = true) => ({
      htable: { htable: ["ipban=>size=8;autoexpire=300", "auth_fail=>size=8"] },
      ...(pike ? { pike: { reqs_density_per_unit: 400, ipban: 1 } } : {}),
      permissions: {},
      sanity: {},
      auth: { secret: "olelo-test-secret-0123456789", ...auth },
    });
    const settings = { nextHop: `sip:127.0.0.1:${UAS}`, authMaxFailures: MAX_FAILURES, authBanSeconds: 60 };
    dp = await startProxy({
      listen: [`udp:127.0.0.1:${PORT}`],
      control: { listen: `127.0.0.1:${CONTROL}` },
      script: { settings },
      modules: modules({ algorithms: "SHA-256,MD5" }),
    });
    stale = await startProxy({ listen: [`udp:127.0.0.1:${STALE_PORT}`], script: { settings }, modules: modules({ nonce_expire: 1 }, false) });
    for (const p of [dp, stale]) expect(p.tables.load("subscriber", subscribers, "v1", "test").ok).toBe(true);
    expect(dp.tables.load("address", { address: [{ id: 1, grp: 1, ip_addr: "127.0.0.8", mask: 32, port: 0, tag: "pbx" }] }, "a1", "test").ok).toBe(true);
    base = dp.control!.url.replace(/\/RPC$/, "");
    stream = await EventStream.open(base, ["security.*"]);
  });
  afterAll(async () => {
    stream?.close();
    for (const p of peers) p.close();
    await stale?.stop();
    await dp?.stop();
    uas?.close();
  });

  it("SHA-256: one challenge per algorithm (SHA-256 first, same nonce); a SHA-256 answer registers", async () => {
    const ua = await peer("127.0.0.7");
    const c401 = (await send(ua, {}))!;
    expect(statusOf(c401)).toBe(401);
    const chs = headerOf(c401, "WWW-Authenticate").map(parseChallenge);
    expect(chs.map((c) => [c.algorithm, c.realm, c.qop])).toEqual([
      ["SHA-256", "127.0.0.1", "auth"],
      ["MD5", "127.0.0.1", "auth"],
    ]);
    expect(chs[0]!.nonce).toBe(chs[1]!.nonce);
    const ok = (await send(ua, { cseq: 2, extra: [`Authorization: ${answerChallenge(chs[0]!, { user: "alice", password: "wonderland", method: "REGISTER", uri: `sip:${LOCAL}` })}`] }))!;
    expect(statusOf(ok)).toBe(200);
    const bad = (await send(ua, { cseq: 3, extra: [`Authorization: ${answerChallenge(chs[0]!, { user: "alice", password: "Wonderland", method: "REGISTER", uri: `sip:${LOCAL}`, nc: 2 })}`] }))!;
    expect(statusOf(bad)).toBe(401);
  });

  it("unknown user and wrong password get the same answer", async () => {
    const ua = await peer("127.0.0.7");
    const answerAs = async (user: string) => {
      const c = parseChallenge(headerOf((await send(ua, { user }))!, "WWW-Authenticate")[0]!);
      return (await send(ua, { user, cseq: 2, extra: [`Authorization: ${answerChallenge(c, { user, password: "not-it", method: "REGISTER", uri: `sip:${LOCAL}` })}`] }))!;
    };
    const wrong = await answerAs("alice");
    const unknown = await answerAs("nobody");
    const shape = (t: string) => ({
      status: statusOf(t),
      reason: reasonOf(t),
      headers: t
        .slice(0, t.indexOf("\r\n\r\n"))
        .split("\r\n")
        .slice(1)
        .map((l) => l.slice(0, l.indexOf(":"))),
      challenges: headerOf(t, "WWW-Authenticate").map((v) => v.replace(/nonce="[^"]*"/, 'nonce="…"')),
    });
    expect(shape(unknown)).toEqual(shape(wrong));
    expect(shape(wrong).status).toBe(401);
    expect(shape(wrong).challenges.every((c) => !/stale/i.test(c))).toBe(true);
    const reasons = stream.events.filter((e) => e.kind === "security.auth_failed" && (e.data.user === "nobody" || e.data.reason === "wrong-password"));
    expect(reasons.map((e) => e.data.reason)).toContain("unknown-user");
  });

  it("a replayed nonce count is refused (401, fresh nonce); the next nc is accepted", async () => {
    const ua = await peer("127.0.0.7");
    const c = parseChallenge(headerOf((await send(ua, {}))!, "WWW-Authenticate")[0]!);
    const cred = (nc: number) => `Authorization: ${answerChallenge(c, { user: "alice", password: "wonderland", method: "REGISTER", uri: `sip:${LOCAL}`, nc })}`;
    expect(statusOf((await send(ua, { cseq: 2, extra: [cred(1)] }))!)).toBe(200);
    const replay = (await send(ua, { cseq: 3, extra: [cred(1)] }))!;
    expect(statusOf(replay)).toBe(401);
    const fresh = parseChallenge(headerOf(replay, "WWW-Authenticate")[0]!);
    expect(fresh.nonce).not.toBe(c.nonce);
    expect(fresh.stale).toBe(false);
    await stream.wait((e) => e.kind === "security.auth_failed" && e.data.reason === "nonce-reused" && e.data.user === "alice");
    expect(statusOf((await send(ua, { cseq: 4, extra: [cred(2)] }))!)).toBe(200);
  });

  it("an expired nonce with the right answer gets 401 stale=true, and the new nonce works", async () => {
    const ua = await peer("127.0.0.7");
    const count = (n: string) => stale.stats.select(`auth:${n}`)[0]![1];
    const [stale0, failure0] = [count("stale"), count("failure")];
    const c = parseChallenge(headerOf((await send(ua, { proxyPort: STALE_PORT }))!, "WWW-Authenticate")[0]!);
    expect(c.stale).toBe(false);
    await letTimePass(2200, "nonce_expire 1: the nonce (second resolution) expires");
    const uri = `sip:127.0.0.1:${STALE_PORT}`;
    const r = (await send(ua, { proxyPort: STALE_PORT, cseq: 2, extra: [`Authorization: ${answerChallenge(c, { user: "alice", password: "wonderland", method: "REGISTER", uri })}`] }))!;
    expect(statusOf(r)).toBe(401);
    const again = parseChallenge(headerOf(r, "WWW-Authenticate")[0]!);
    expect(again.stale).toBe(true);
    expect(again.nonce).not.toBe(c.nonce);
    const ok = (await send(ua, { proxyPort: STALE_PORT, cseq: 3, extra: [`Authorization: ${answerChallenge(again, { user: "alice", password: "wonderland", method: "REGISTER", uri })}`] }))!;
    expect(statusOf(ok)).toBe(200);
    expect(count("stale") - stale0).toBe(1);
    expect(count("failure")).toBe(failure0); // a stale nonce with the right password is no failure
  });

  it("INVITE from a local user: 407 with SHA-256 and MD5; the SHA-256-authorized INVITE is relayed with only other realms' credentials", async () => {
    const ua = await peer("127.0.0.7");
    const callId = `inv-${Date.now()}`;
    const r407 = (await send(ua, { method: "INVITE", user: "bob", callId }))!;
    expect(statusOf(r407)).toBe(407);
    const chs = headerOf(r407, "Proxy-Authenticate").map(parseChallenge);
    expect(chs.map((c) => c.algorithm)).toEqual(["SHA-256", "MD5"]);
    const downstream = `Digest username="bob", realm="carrier.example", nonce="abc", uri="sip:carol@127.0.0.1:${PORT}", response="${"0".repeat(32)}"`;
    const cred = answerChallenge(chs[0]!, { user: "bob", password: "builder", method: "INVITE", uri: `sip:carol@${LOCAL}` });
    const n0 = uas.requests("INVITE").length;
    const ok = (await send(ua, { method: "INVITE", user: "bob", callId, cseq: 2, extra: [`Proxy-Authorization: ${downstream}`, `Proxy-Authorization: ${cred}`] }))!;
    expect(statusOf(ok)).toBe(200);
    const fwd = uas.requests("INVITE").slice(n0);
    expect(fwd).toHaveLength(1);
    expect(headerOf(fwd[0]!, "Proxy-Authorization")).toEqual([downstream]);
  });

  it("trusted peers skip authentication except for REGISTER; foreign relaying is refused with 403", async () => {
    const pbx = await peer("127.0.0.8");
    const n0 = uas.requests("INVITE").length;
    expect(statusOf((await send(pbx, { method: "INVITE", user: "bob" }))!)).toBe(200); // no 407 for the trusted PBX
    expect(uas.requests("INVITE").length).toBe(n0 + 1);
    expect(statusOf((await send(pbx, {}))!)).toBe(401); // REGISTER is always authenticated
    const outsider = await peer("127.0.0.9");
    const relay = (await send(outsider, { method: "INVITE", from: "sip:eve@evil.example", ruri: "sip:carol@elsewhere.example" }))!;
    expect([statusOf(relay), reasonOf(relay)]).toEqual([403, "Not relaying"]);
    // a foreign caller reaching a local R-URI is an incoming call: no authentication asked
    expect(statusOf((await send(outsider, { method: "INVITE", from: "sip:eve@evil.example" }))!)).toBe(200);
  });

  it("malformed Authorization headers get 400 and never crash; the proxy keeps serving", async () => {
    const ua = await peer("127.0.0.6");
    const c = parseChallenge(headerOf((await send(ua, {}))!, "WWW-Authenticate")[0]!);
    const n = `nonce="${c.nonce}"`;
    const head = `username="alice", realm="127.0.0.1", ${n}, uri="sip:${LOCAL}"`;
    const hex = "0".repeat(64);
    const malformed = [
      "Digest",
      "Digest ",
      'Digest username="alice"',
      `Digest username="alice", realm="127.0.0.1", nonce="${c.nonce}`,
      `Digest username="alice", username="bob", realm="127.0.0.1", ${n}, uri="sip:x", response="${hex}", algorithm=SHA-256`,
      `Digest ${head}, response="not-hex", algorithm=SHA-256`,
      `Digest ${head}, response="${"0".repeat(31)}", algorithm=MD5`,
      `Digest ${head}, response="${hex}", algorithm=SHA-256, qop=auth, cnonce="x"`,
      `Digest ${head}, response="${hex}", algorithm=SHA-256, qop=auth, nc=zz, cnonce="x"`,
      `Digest ${head}, response="${hex}", algorithm=SHA-256, qop=auth-conf, nc=00000001, cnonce="x"`,
      `Digest ${head}, response="${hex}", algorithm=SHA-256, nc=00000001`,
      `Digest ${head}, response="${hex}", algorithm=SHA-256, qop=auth, nc=00000001`,
      `Digest username=, realm="127.0.0.1", ${n}, uri="sip:x", response="${hex}"`,
      `Digest username="alice" realm="127.0.0.1"`,
      `Digest username="alice"realm="127.0.0.1"`,
      `Digest realm="127.0.0.1", ${n}, uri="sip:x", response="${hex}", algorithm=SHA-256`,
      `Digest username="", realm="127.0.0.1", ${n}, uri="sip:x", response="${hex}"`,
      `Digest username="alice", realm="127.0.0.1", nonce="", uri="sip:x", response="${hex}"`,
      `Digest username="alice", realm="127.0.0.1", ${n}, uri="", response="${hex}"`,
      `Digest ${head}, response="${hex}", algorithm=SHA-256, =oops`,
      `Digest ${head}, response="${hex}", algorithm=SHA-256, userhash=maybe`,
      `Digest username*=UTF-8''%ZZ, realm="127.0.0.1", ${n}, uri="sip:x", response="${hex}"`,
      `Digest username="alice", username*=UTF-8''alice, realm="127.0.0.1", ${n}, uri="sip:x", response="${hex}"`,
      `Digest ${head}, response="${hex}", algorithm=SHA-256, opaque="unterminated\\"`,
      `Digest ,,, username="alice", realm="127.0.0.1", ${n} uri="sip:x"`,
      `Digest ${head}, response="${hex}", algorithm=SHA-256, cnonce="${"x".repeat(9000)}"`,
      `Digest ${head}, response="${hex}", algorithm=SHA-256, x\u00ff=1`,
    ];
    const before = await counters(base, "auth", "core");
    for (let round = 0; round < 2; round++) {
      for (const [i, value] of malformed.entries()) {
        const r = await send(ua, { cseq: 10 + i, extra: [`Authorization: ${value}`] });
        expect(r, `variant ${i}: ${value.slice(0, 80)}`).not.toBeNull();
        expect([statusOf(r!), reasonOf(r!)], `variant ${i}: ${value.slice(0, 80)}`).toEqual([400, "Bad Auth Header"]);
      }
    }
    // other schemes are not Digest credentials: an ordinary challenge
    expect(statusOf((await send(ua, { extra: ["Authorization: Basic YWxpY2U6d29uZGVybGFuZA=="] }))!)).toBe(401);
    const after = await counters(base, "auth", "core");
    expect(after["auth.malformed"]! - before["auth.malformed"]!).toBe(2 * malformed.length);
    // still serving, the malformed requests counted no password failure
    const ok = (await send(ua, { cseq: 99, extra: [`Authorization: ${answerChallenge(c, { user: "alice", password: "wonderland", method: "REGISTER", uri: `sip:${LOCAL}` })}`] }))!;
    expect(statusOf(ok)).toBe(200);
    await expect(rpc(base, "htable.get", ["auth_fail", "127.0.0.6::auth_count"])).rejects.toThrow(/doesn't exist|404|not/i);
  });

  it("a password-guessing run gets its source banned; other sources are still served", async () => {
    const attacker = await peer("127.0.0.5");
    const before = await counters(base, "pike", "auth");
    const answers: number[] = [];
    for (let i = 0; i < 3 * MAX_FAILURES; i++) {
      const ch = await send(attacker, { cseq: 1 }, 800);
      if (ch === null) break;
      const c = parseChallenge(headerOf(ch, "WWW-Authenticate")[0]!);
      const r = await send(attacker, { cseq: 2, extra: [`Authorization: ${answerChallenge(c, { user: "alice", password: `guess-${i}`, method: "REGISTER", uri: `sip:${LOCAL}` })}`] }, 800);
      answers.push(r === null ? 0 : statusOf(r));
      if (r === null) break;
    }
    // MAX_FAILURES - 1 guesses answered 401, the MAX_FAILURES-th bans the source (dropped silently)
    expect(answers).toEqual([...Array(MAX_FAILURES - 1).fill(401), 0]);
    const ban = await stream.wait((e) => e.kind === "security.banned" && e.data.ip === "127.0.0.5");
    expect(ban.data.reason).toBe("auth");
    expect(Date.parse(String(ban.data.until)) - Date.parse(ban.ts)).toBeGreaterThan(59_000);
    expect(await rpc(base, "htable.get", ["auth_fail", "127.0.0.5::auth_count"])).toMatchObject({ item: { value: MAX_FAILURES } });
    expect(await rpc(base, "htable.get", ["ipban", "127.0.0.5"])).toMatchObject({ item: { value: 1 } });
    // banned: even a request without credentials gets nothing now (dropped before parsing)
    expect(await send(attacker, { cseq: 1 }, 800)).toBeNull();
    const after = await counters(base, "pike", "auth");
    expect(after["pike.dropped"]! - before["pike.dropped"]!).toBeGreaterThanOrEqual(1);
    expect(after["pike.banned"]! - before["pike.banned"]!).toBe(1);
    expect(after["auth.failure"]! - before["auth.failure"]!).toBe(MAX_FAILURES);
    const failed = stream.events.filter((e) => e.kind === "security.auth_failed" && e.data.source === "127.0.0.5");
    expect(failed.map((e) => e.data.reason)).toEqual(Array(MAX_FAILURES).fill("wrong-password"));
    // another source keeps registering
    const ua = await peer("127.0.0.7");
    const c = parseChallenge(headerOf((await send(ua, {}))!, "WWW-Authenticate")[0]!);
    expect(statusOf((await send(ua, { cseq: 2, extra: [`Authorization: ${answerChallenge(c, { user: "alice", password: "wonderland", method: "REGISTER", uri: `sip:${LOCAL}` })}`] }))!)).toBe(200);
  });

  it("without pike, a guessing source is answered 403 Try later once it reaches authMaxFailures", async () => {
    const attacker = await peer("127.0.0.13");
    const uri = `sip:127.0.0.1:${STALE_PORT}`;
    const seen: string[] = [];
    for (let i = 0; i < MAX_FAILURES + 1; i++) {
      const ch = (await send(attacker, { proxyPort: STALE_PORT }))!;
      if (statusOf(ch) !== 401) {
        seen.push(`${statusOf(ch)} ${reasonOf(ch)}`);
        continue;
      }
      const c = parseChallenge(headerOf(ch, "WWW-Authenticate")[0]!);
      const r = (await send(attacker, { proxyPort: STALE_PORT, cseq: 2, extra: [`Authorization: ${answerChallenge(c, { user: "bob", password: `guess-${i}`, method: "REGISTER", uri })}`] }))!;
      seen.push(`${statusOf(r)} ${reasonOf(r)}`);
    }
    expect(seen).toEqual([...Array(MAX_FAILURES - 1).fill("401 Unauthorized"), "403 Try later", "403 Try later"]);
    expect(stale.stats.select("pike:banned")).toEqual([]); // no pike module on this proxy
  });
});
