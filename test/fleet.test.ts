/**
 * A fleet of two data planes — real child processes (`tsx data-plane/main.ts --config <file>`) —
 * sharing one Redis location store: a phone registers through node A and is called through node
 * B with sipp (0 failed); a removal through B is seen by A; an expiry is reported once for the
 * fleet; node B restarts and still knows the binding. Ports: a block of 100 from test/kit/ports.ts (freePortBlock); Redis keys
 * olelo:test:reg:fleet:*.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Redis } from "ioredis";
import { runSipp, startSippServer } from "./helpers/sipp.js";
import { UdpPeer, statusOf } from "./helpers/udp-peer.js";
import { register, startChild, waitFor, type ChildDataPlane } from "./scripts/registrar-helpers.js";
import { freePortBlock } from "./kit/ports.js";
import { letTimePass } from "./kit/wait.js";

const P = await freePortBlock(100);
const A = P;
const B = P + 10;
const UAS = P + 20;
const REDIS_URL = "redis://127.0.0.1:6379";
const prefix = `olelo:test:reg:fleet:${process.pid}:`;

function nodeConfig(name: string, sip: number, control: number): Record<string, unknown> {
  return {
    node: name,
    listen: [`udp:127.0.0.1:${sip}`],
    control: { listen: `127.0.0.1:${control}` },
    modules: { usrloc: { db_mode: 1, db_url: REDIS_URL, redis_prefix: prefix }, registrar: { min_expires: 1 } },
  };
}

/** JSON-RPC 2.0 over the node's control API; resolves with the result or the error object. */
async function rpc(port: number, method: string, params: unknown): Promise<{ result?: unknown; error?: { code: number; message: string } }> {
  const res = await fetch(`http://127.0.0.1:${port}/RPC`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ jsonrpc: "2.0", method, params, id: 1 }),
  });
  return (await res.json()) as { result?: unknown; error?: { code: number; message: string } };
}

const contactsOf = async (port: number, aor: string): Promise<string[]> => {
  const r = await rpc(port, "ul.lookup", ["location", aor]);
  if (!r.result) return [];
  return (r.result as { Contacts: Array<{ Contact: { Address: string } }> }).Contacts.map((c) => c.Contact.Address);
};

describe("two data planes sharing a Redis location store", () => {
  let a: ChildDataPlane;
  let b: ChildDataPlane;
  let redis: Redis;
  let ua: UdpPeer;
  beforeAll(async () => {
    redis = new Redis(REDIS_URL);
    [a, b] = await Promise.all([startChild(nodeConfig("reg-a", A, P + 91), A), startChild(nodeConfig("reg-b", B, P + 92), B)]);
    ua = await UdpPeer.open(P + 30);
  }, 60_000);
  afterAll(async () => {
    ua?.close();
    await Promise.all([a?.stop(), b?.stop()]);
    const keys = await redis.keys(`${prefix}*`);
    if (keys.length) await redis.del(...keys);
    await redis.quit();
  });

  it("registers through node A and is called through node B with sipp, 0 failed", async () => {
    const r = await runSipp({
      scenario: "reg_add.xml",
      port: P + 31,
      remote: `127.0.0.1:${A}`,
      calls: 1,
      templ: { reg_user: "fleet", reg_contact: `sip:fleet@127.0.0.1:${UAS}`, reg_cparams: "", reg_expires: "600" },
    });
    expect(r.failed, r.errors + r.stderr).toBe(0);
    expect(await waitFor(async () => (await contactsOf(P + 92, "fleet")).length === 1, 3000)).toBe(true);
    expect(await contactsOf(P + 92, "fleet")).toEqual([`sip:fleet@127.0.0.1:${UAS}`]);
    const uas = await startSippServer({ scenario: "reg_uas_answer.xml", port: UAS });
    let calls;
    try {
      calls = await runSipp({ scenario: "uac_rr.xml", port: P + 32, remote: `127.0.0.1:${B}`, calls: 20, rate: 10, service: "fleet" });
      await letTimePass(500, "the phone's sipp sees the last messages before it is stopped");
    } finally {
      const u = await uas.stop();
      expect(u.successful, u.errors).toBe(20);
    }
    expect(calls.failed, calls.errors + calls.stderr).toBe(0);
    expect(calls.successful).toBe(20);
  });

  it("sees on node A a removal made through node B", async () => {
    const send = (port: number, cseq: number, expires: number) => {
      ua.send(register({ user: "mover", proxyPort: port, viaPort: ua.port, callId: "mover-1", cseq, contacts: ["<sip:mover@10.0.0.1>"], expires }), port);
      return ua.wait((t) => t.startsWith("SIP/2.0") && t.includes(`CSeq: ${cseq} REGISTER`));
    };
    expect(statusOf(await send(A, 1, 600))).toBe(200);
    expect(await waitFor(async () => (await contactsOf(P + 92, "mover")).length === 1, 3000)).toBe(true);
    expect(statusOf(await send(B, 2, 0))).toBe(200);
    expect(await waitFor(async () => (await contactsOf(P + 91, "mover")).length === 0, 3000)).toBe(true);
    expect((await rpc(P + 91, "ul.lookup", ["location", "mover"])).error?.message).toBe("AOR not found in location table");
    expect(await redis.exists(`${prefix}location:aor:mover`)).toBe(0);
  });

  it("expires a binding on every node and reports the expiry once for the fleet", async () => {
    const since = async (port: number) => {
      const r = await rpc(port, "events.since", { since: 0, kinds: ["registration.expired"] });
      return ((r.result as { events: Array<{ data: { aor: string } }> }).events ?? []).filter((e) => e.data.aor === "blink");
    };
    ua.send(register({ user: "blink", proxyPort: A, viaPort: ua.port, callId: "blink-1", cseq: 1, contacts: ["<sip:blink@10.0.0.2>"], expires: 2 }), A);
    await ua.wait((t) => t.startsWith("SIP/2.0") && t.includes("Call-ID: blink-1"));
    expect(await waitFor(async () => (await contactsOf(P + 92, "blink")).length === 1, 2000)).toBe(true);
    expect(await waitFor(async () => (await contactsOf(P + 91, "blink")).length === 0 && (await contactsOf(P + 92, "blink")).length === 0, 5000)).toBe(true);
    await letTimePass(500, "a second event would be published within this");
    const events = [...(await since(P + 91)), ...(await since(P + 92))];
    expect(events.length).toBe(1);
  });

  it("restarts node B without losing the binding, and B still routes the call", async () => {
    await b.stop();
    b = await startChild(nodeConfig("reg-b", B, P + 92), B);
    expect(await contactsOf(P + 92, "fleet")).toEqual([`sip:fleet@127.0.0.1:${UAS}`]);
    const uas = await startSippServer({ scenario: "reg_uas_answer.xml", port: UAS });
    let calls;
    try {
      calls = await runSipp({ scenario: "uac_rr.xml", port: P + 33, remote: `127.0.0.1:${B}`, calls: 5, rate: 5, service: "fleet" });
      await letTimePass(500, "the phone's sipp sees the last messages before it is stopped");
    } finally {
      const u = await uas.stop();
      expect(u.successful, u.errors).toBe(5);
    }
    expect(calls.failed, calls.errors + calls.stderr).toBe(0);
  }, 60_000);
});
