/**
 * Digest authentication end to end with sipp doing real MD5 digest (`[authentication]` after a
 * 401/407 received with auth="true"): the default routing script's AUTH route with the auth module
 * (plus htable, pike, permissions, sanity, as deployed). REGISTER → 401 www challenge; INVITE from a
 * local user → 407 proxy challenge, credentials consumed before relaying; wrong password and
 * unknown user get the same 401. Security events are read with events.since over HTTP JSON-RPC.
 * The next hop is an in-process UAS (SipResponder) that records what the proxy forwarded.
 * Ports: a block of 50 from test/kit/ports.ts (freePortBlock) (sipp sources on distinct loopback addresses, so failure counting per source
 * never mixes runs).
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { DataPlane } from "../data-plane/node.js";
import { startProxy } from "./helpers/proxy.js";
import { runSipp } from "./helpers/sipp.js";
import { counters, rpc, type StreamEvent } from "./scripts/firewall-control.js";
import { SipResponder } from "./scripts/firewall-responder.js";
import { freePortBlock } from "./kit/ports.js";

const BASE = await freePortBlock(50); // this file's ports: BASE … BASE + 49
const PORT = BASE;
const CONTROL = BASE + 1;
const UAS = BASE + 10;
const remote = `127.0.0.1:${PORT}`;

describe("digest authentication with sipp (MD5, qop=auth)", () => {
  let dp: DataPlane;
  let uas: SipResponder;
  let base: string;

  beforeAll(async () => {
    uas = await SipResponder.open(UAS);
    dp = await startProxy({
      listen: [`udp:127.0.0.1:${PORT}`],
      control: { listen: `127.0.0.1:${CONTROL}` },
      script: { settings: { nextHop: `sip:127.0.0.1:${UAS}`, authMaxFailures: 5, authBanSeconds: 60 } },
      modules: {
        htable: { htable: ["ipban=>size=8;autoexpire=300", "auth_fail=>size=8"] },
        pike: { reqs_density_per_unit: 400, ipban: 1 },
        permissions: {},
        sanity: {},
        auth: { secret: "olelo-test-secret-0123456789" },
      },
    });
    const r = dp.tables.load(
      "subscriber",
      {
        subscriber: [
          { id: 1, username: "alice", domain: "127.0.0.1", password: "wonderland" },
          { id: 2, username: "bob", domain: "127.0.0.1", password: "builder" },
        ],
      },
      "v1",
      "test",
    );
    expect(r.ok).toBe(true);
    base = dp.control!.url.replace(/\/RPC$/, "");
  });
  afterAll(async () => {
    await dp?.stop();
    uas?.close();
  });

  const securityEvents = async (since: number): Promise<StreamEvent[]> =>
    ((await rpc(base, "events.since", { since, kinds: ["security.*"] })) as { events: StreamEvent[] }).events;

  it("REGISTER: 401 challenge, then 200 with the right password (20 registrations)", async () => {
    const before = await counters(base, "auth");
    const r = await runSipp({ scenario: "auth_register.xml", port: BASE + 20, remote, calls: 20, rate: 20, templ: { user: "alice", pass: "wonderland", final: "200" } });
    expect(r.failed, r.errors).toBe(0);
    expect(r.successful).toBe(20);
    const regs = uas.requests("REGISTER");
    expect(regs).toHaveLength(20);
    expect(regs.every((t) => /^Authorization: Digest username="alice"/m.test(t))).toBe(true); // REGISTER keeps its credentials (Kamailio)
    const after = await counters(base, "auth");
    expect(after["auth.success"]! - before["auth.success"]!).toBe(20);
    expect(after["auth.challenges"]! - before["auth.challenges"]!).toBe(20);
    expect(after["auth.failure"]).toBe(before["auth.failure"]);
  });

  it("wrong password and unknown user both end in 401, reported as security.auth_failed", async () => {
    const since = dp.events.lastSeq;
    const before = await counters(base, "auth");
    const wrong = await runSipp({ scenario: "auth_register.xml", port: BASE + 21, ip: "127.0.0.11", remote, calls: 2, rate: 10, templ: { user: "alice", pass: "guess", final: "401" } });
    expect(wrong.failed, wrong.errors).toBe(0);
    expect(wrong.successful).toBe(2);
    const unknown = await runSipp({ scenario: "auth_register.xml", port: BASE + 22, ip: "127.0.0.12", remote, calls: 2, rate: 10, templ: { user: "mallory", pass: "guess", final: "401" } });
    expect(unknown.failed, unknown.errors).toBe(0);
    expect(unknown.successful).toBe(2);
    const ev = (await securityEvents(since)).filter((e) => e.kind === "security.auth_failed");
    expect(ev.map((e) => [e.data.user, e.data.source, e.data.reason, e.data.method, e.data.realm])).toEqual([
      ["alice", "127.0.0.11", "wrong-password", "REGISTER", "127.0.0.1"],
      ["alice", "127.0.0.11", "wrong-password", "REGISTER", "127.0.0.1"],
      ["mallory", "127.0.0.12", "unknown-user", "REGISTER", "127.0.0.1"],
      ["mallory", "127.0.0.12", "unknown-user", "REGISTER", "127.0.0.1"],
    ]);
    const after = await counters(base, "auth");
    expect(after["auth.failure"]! - before["auth.failure"]!).toBe(4);
    expect(after["auth.success"]).toBe(before["auth.success"]);
    // below authMaxFailures: no ban, the counters live in the auth_fail htable
    expect(await rpc(base, "htable.get", ["auth_fail", "127.0.0.11::auth_count"])).toMatchObject({ item: { value: 2 } });
    expect(((await rpc(base, "pike.bans")) as unknown[]).length).toBe(0);
  });

  it("INVITE from a local user: 407 proxy challenge, authorized call relayed without Proxy-Authorization (20 calls)", async () => {
    const invites0 = uas.requests("INVITE").length;
    const byes0 = uas.requests("BYE").length;
    const r = await runSipp({ scenario: "auth_invite.xml", port: BASE + 23, remote, calls: 20, rate: 10, service: "carol", templ: { user: "bob", pass: "builder" } });
    expect(r.failed, r.errors).toBe(0);
    expect(r.successful).toBe(20);
    const invites = uas.requests("INVITE").slice(invites0);
    expect(invites).toHaveLength(20); // only authorized INVITEs reach the next hop
    expect(invites.every((t) => /^CSeq: 2 INVITE$/m.test(t))).toBe(true);
    expect(invites.some((t) => /^Proxy-Authorization:/im.test(t))).toBe(false); // consume_credentials
    expect(uas.requests("BYE").length - byes0).toBe(20); // in-dialog BYE is never challenged
    const stats = await counters(base, "auth", "sl");
    expect(stats["sl.407_replies"]).toBeGreaterThanOrEqual(20);
  });
});
