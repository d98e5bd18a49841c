/**
 * The dialog module end to end: sipp calls through an in-process data plane over real loopback
 * sockets, with the call events read like a billing system would — over the real control API
 * (WebSocket events.subscribe and HTTP events.since) — and dlg.* RPCs over HTTP JSON-RPC.
 * Covers an answered call (default script), a call refused with 486, profile call limits (503),
 * dialog timeout with BYE to both sides, and dlg.list / dlg.terminate_dlg / dlg.end_dlg.
 * Ports: a block of 100 from test/kit/ports.ts (freePortBlock), P + offset.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { join } from "node:path";
import { startProxy, TEST_SCRIPTS } from "./helpers/proxy.js";
import { runSipp, startSippServer, type SippServer } from "./helpers/sipp.js";
import { EventStream, eventsSince, rpc, until, type StreamEvent } from "./scripts/dialog-control.js";
import type { DataPlane } from "../data-plane/node.js";
import { freePortBlock } from "./kit/ports.js";

const P = await freePortBlock(100);

const DLG_SCRIPT = join(TEST_SCRIPTS, "dialog-test.ts");
const stat = (dp: DataPlane, name: string) => dp.stats.select(`dialog:${name}`)[0]?.[1];
const ms = (iso: string) => new Date(iso).getTime();

describe("an answered call through the default script", () => {
  const SIP = P;
  const CTL = P + 2;
  let dp: DataPlane;
  let uas: SippServer;
  let stream: EventStream;
  beforeAll(async () => {
    uas = await startSippServer({ scenario: "uas_rr.xml", port: P + 10 });
    dp = await startProxy({
      node: "dlg-node-1",
      listen: [`udp:127.0.0.1:${SIP}`],
      script: { settings: { nextHop: `sip:127.0.0.1:${P + 10}` } },
      modules: { dialog: {} },
      control: { listen: `127.0.0.1:${CTL}` },
    });
    stream = await EventStream.open(CTL, ["call.*"]);
  });
  afterAll(async () => {
    stream?.close();
    await uas?.stop();
    await dp?.stop();
  });

  it("publishes call.started, call.answered and call.ended with the billing fields", async () => {
    const since = dp.events.lastSeq;
    const r = await runSipp({ scenario: "dlg_uac_call.xml", port: P + 1, remote: `127.0.0.1:${SIP}`, calls: 1, service: "bob" });
    expect(r.failed, r.errors).toBe(0);
    expect(r.successful).toBe(1);
    const evs = await stream.waitFor((e) => e.some((x) => x.kind === "call.ended"));
    expect(evs.map((e) => e.kind)).toEqual(["call.started", "call.answered", "call.ended"]);
    const [started, answered, ended] = evs as [StreamEvent, StreamEvent, StreamEvent];
    for (const e of evs) expect(e.node).toBe("dlg-node-1");
    const callId = started.data.call_id as string;
    expect(callId).toMatch(/^1-\d+@127\.0\.0\.1$/);
    expect(started.data).toMatchObject({
      call_id: callId,
      from: `sip:sipp@127.0.0.1:${P + 1}`,
      to: `sip:bob@127.0.0.1:${SIP}`,
      from_tag: expect.stringMatching(/SIPpTag001$/),
      ruri: `sip:bob@127.0.0.1:${SIP}`,
      src_ip: "127.0.0.1",
      src_port: P + 1,
      proto: "udp",
      gateway: `sip:127.0.0.1:${P + 10}`,
      gateway_addr: `udp:127.0.0.1:${P + 10}`,
      node: "dlg-node-1",
    });
    expect(answered.data).toMatchObject({ call_id: callId, code: 200, reason: "OK", to_tag: expect.stringMatching(/SIPpTag011$/), gateway: `sip:127.0.0.1:${P + 10}` });
    expect(ended.data).toMatchObject({
      call_id: callId,
      from_tag: started.data.from_tag,
      to_tag: answered.data.to_tag,
      code: 200,
      reason: "OK",
      ended_by: "caller",
      end_reason: "bye",
      gateway: `sip:127.0.0.1:${P + 10}`,
      start_time: started.data.start_time,
      answer_time: answered.data.answer_time,
    });
    // sipp holds the call 1000 ms between ACK and BYE
    const d = ended.data.duration as number;
    expect(d).toBeGreaterThanOrEqual(0.99);
    expect(d).toBeLessThan(2);
    expect(ms(ended.data.end_time) - ms(ended.data.answer_time)).toBe(Math.round(d * 1000));
    expect(ms(answered.data.answer_time)).toBeGreaterThanOrEqual(ms(started.data.start_time));
    // the same events by polling over HTTP
    const polled = await eventsSince(CTL, since, ["call.*"]);
    expect(polled.map((e) => [e.seq, e.kind])).toEqual(evs.map((e) => [e.seq, e.kind]));
    expect(polled[2]!.data).toEqual(ended.data);
    expect(stat(dp, "processed_dialogs")).toBe(1);
    expect(stat(dp, "active_dialogs")).toBe(0);
    expect(await rpc(CTL, "dlg.list")).toEqual([]);
  });
});

describe("a call refused with 486", () => {
  const SIP = P + 20;
  const CTL = P + 22;
  let dp: DataPlane;
  let uas: SippServer;
  let stream: EventStream;
  beforeAll(async () => {
    uas = await startSippServer({ scenario: "uas_486.xml", port: P + 30 });
    dp = await startProxy({
      listen: [`udp:127.0.0.1:${SIP}`],
      script: { file: DLG_SCRIPT, settings: { target: `sip:127.0.0.1:${P + 30}` } },
      modules: { dialog: {} },
      control: { listen: `127.0.0.1:${CTL}` },
    });
    stream = await EventStream.open(CTL, ["call.*"]);
  });
  afterAll(async () => {
    stream?.close();
    await uas?.stop();
    await dp?.stop();
  });

  it("ends with call.ended code 486 from the callee, duration 0", async () => {
    const r = await runSipp({ scenario: "uac_expect.xml", port: P + 21, remote: `127.0.0.1:${SIP}`, calls: 1, service: "bob", templ: { code: "486" } });
    expect(r.failed, r.errors).toBe(0);
    const evs = await stream.waitFor((e) => e.some((x) => x.kind === "call.ended"));
    expect(evs.map((e) => e.kind)).toEqual(["call.started", "call.ended"]);
    expect(evs[1]!.data).toMatchObject({
      code: 486,
      reason: "Busy Here",
      ended_by: "callee",
      end_reason: "failed",
      answer_time: null,
      duration: 0,
      gateway: `sip:127.0.0.1:${P + 30}`,
      to_tag: expect.stringMatching(/SIPpTag011$/),
      vars: { account: "sipp" },
    });
    expect(stat(dp, "failed_dialogs")).toBe(1);
    expect(stat(dp, "active_dialogs")).toBe(0);
  });
});

describe("profiles limit concurrent calls", () => {
  const SIP = P + 40;
  const CTL = P + 42;
  const GW = `sip:127.0.0.1:${P + 50}`;
  let dp: DataPlane;
  let uas: SippServer;
  let stream: EventStream;
  beforeAll(async () => {
    uas = await startSippServer({ scenario: "uas_rr.xml", port: P + 50 });
    dp = await startProxy({
      listen: [`udp:127.0.0.1:${SIP}`],
      script: { file: DLG_SCRIPT, settings: { target: GW, callLimit: 2 } },
      modules: { dialog: { profiles_with_value: "trunk" } },
      control: { listen: `127.0.0.1:${CTL}` },
    });
    stream = await EventStream.open(CTL, ["call.*"]);
  });
  afterAll(async () => {
    stream?.close();
    await uas?.stop();
    await dp?.stop();
  });

  it("rejects the third concurrent call with 503 and admits calls again once they end", async () => {
    const held = runSipp({ scenario: "dlg_uac_hold.xml", port: P + 41, remote: `127.0.0.1:${SIP}`, calls: 2, rate: 10, service: "bob", templ: { hold_ms: "3000" } });
    await until(async () => (await rpc(CTL, "dlg.profile_get_size", ["trunk", GW])) === 2, 10000, "two calls in the profile");
    expect(await rpc(CTL, "dlg.profile_get_size", ["trunk"])).toBe(2);
    const members = await rpc(CTL, "dlg.profile_list", { profile: "trunk", value: GW });
    expect(members).toHaveLength(2);
    for (const m of members) expect(m.profiles).toEqual([{ trunk: GW }]);
    const third = await runSipp({ scenario: "uac_expect.xml", port: P + 43, remote: `127.0.0.1:${SIP}`, calls: 1, service: "bob", templ: { code: "503" } });
    expect(third.failed, third.errors).toBe(0);
    expect(third.successful).toBe(1);
    const rejected = stream.ofKind("call.ended").find((e) => e.data.code === 503);
    expect(rejected?.data).toMatchObject({ reason: "Too many calls", ended_by: "proxy", end_reason: "failed", gateway: null });
    // a call refused before it was relayed has no call.started
    expect(stream.ofKind("call.started").some((e) => e.data.call_id === rejected!.data.call_id)).toBe(false);
    const r = await held;
    expect(r.failed, r.errors).toBe(0);
    expect(r.successful).toBe(2);
    await until(async () => (await rpc(CTL, "dlg.profile_get_size", ["trunk", GW])) === 0, 5000, "profile emptied");
    const again = await runSipp({ scenario: "dlg_uac_call.xml", port: P + 44, remote: `127.0.0.1:${SIP}`, calls: 1, service: "bob" });
    expect(again.successful, again.errors).toBe(1);
    await expect(rpc(CTL, "dlg.profile_get_size", ["nosuch"])).rejects.toMatchObject({ code: 404, message: "Profile not found: nosuch" });
  });
});

describe("dialog timeout", () => {
  const SIP = P + 60;
  const CTL = P + 62;
  let dp: DataPlane;
  let uas: SippServer;
  let stream: EventStream;
  beforeAll(async () => {
    uas = await startSippServer({ scenario: "uas_rr.xml", port: P + 70 });
    dp = await startProxy({
      listen: [`udp:127.0.0.1:${SIP}`, `tcp:127.0.0.1:${SIP}`],
      script: { file: DLG_SCRIPT, settings: { target: `sip:127.0.0.1:${P + 70}`, timeoutS: 1, timeoutBye: true } },
      modules: { dialog: {} },
      control: { listen: `127.0.0.1:${CTL}` },
    });
    stream = await EventStream.open(CTL, ["call.*"]);
  });
  afterAll(async () => {
    stream?.close();
    await uas?.stop();
    await dp?.stop();
  });

  it("ends the call after 1 s with a BYE to the caller and to the callee", async () => {
    const r = await runSipp({ scenario: "dlg_uac_wait_bye.xml", port: P + 61, remote: `127.0.0.1:${SIP}`, calls: 1, service: "bob", timeoutS: 10 });
    expect(r.failed, r.errors).toBe(0);
    expect(r.successful).toBe(1); // the caller got the proxy's BYE
    // the callee got its BYE too (uas_rr ends a call after BYE + 4 s timewait)
    await until(() => uas.stats().successful === 1, 8000, "UAS saw the BYE");
    const ended = (await stream.waitFor((e) => e.some((x) => x.kind === "call.ended"))).find((e) => e.kind === "call.ended")!;
    expect(ended.data).toMatchObject({ ended_by: "timeout", end_reason: "proxy_bye", code: 200 });
    expect(ended.data.duration).toBeGreaterThanOrEqual(0.99);
    expect(ended.data.duration).toBeLessThan(2);
    expect(stat(dp, "expired_dialogs")).toBe(1);
    expect(stat(dp, "active_dialogs")).toBe(0);
  });

  it("reaches a TCP caller over its connection (caller on TCP, callee on UDP, double Record-Route)", async () => {
    const before = stream.ofKind("call.ended").length;
    const r = await runSipp({ scenario: "dlg_uac_wait_bye.xml", port: P + 63, remote: `127.0.0.1:${SIP}`, calls: 1, service: "bob", transport: "t1", timeoutS: 10 });
    expect(r.failed, r.errors + r.stderr).toBe(0);
    expect(r.successful).toBe(1);
    await until(() => uas.stats().successful === 2, 8000, "UAS saw the second BYE");
    const ended = (await stream.waitFor((e) => e.filter((x) => x.kind === "call.ended").length === before + 1)).filter((e) => e.kind === "call.ended").at(-1)!;
    expect(ended.data).toMatchObject({ proto: "tcp", ended_by: "timeout", end_reason: "proxy_bye" });
    expect(stat(dp, "expired_dialogs")).toBe(2);
  });
});

describe("dlg.list, dlg.terminate_dlg and dlg.end_dlg over the control API", () => {
  const SIP = P + 80;
  const CTL = P + 82;
  let dp: DataPlane;
  let uas: SippServer;
  let stream: EventStream;
  beforeAll(async () => {
    uas = await startSippServer({ scenario: "uas_rr.xml", port: P + 90 });
    dp = await startProxy({
      listen: [`udp:127.0.0.1:${SIP}`],
      script: { file: DLG_SCRIPT, settings: { target: `sip:127.0.0.1:${P + 90}` } },
      modules: { dialog: { default_timeout: 3600 } },
      control: { listen: `127.0.0.1:${CTL}` },
    });
    stream = await EventStream.open(CTL, ["call.ended"]);
  });
  afterAll(async () => {
    stream?.close();
    await uas?.stop();
    await dp?.stop();
  });

  it("lists two confirmed calls and hangs them up with BYEs to both sides", async () => {
    const calls = runSipp({ scenario: "dlg_uac_wait_bye.xml", port: P + 81, remote: `127.0.0.1:${SIP}`, calls: 2, rate: 10, service: "bob", timeoutS: 15 });
    const list = (await until(async () => {
      const l = (await rpc(CTL, "dlg.list")) as any[];
      return l.length === 2 && l.every((d) => d.state === 4) ? l : null;
    }, 10000, "two confirmed dialogs"))!;
    const now = Math.floor(Date.now() / 1000);
    for (const d of list) {
      expect(d).toMatchObject({
        from_uri: `sip:sipp@127.0.0.1:${P + 81}`,
        to_uri: `sip:bob@127.0.0.1:${SIP}`,
        state: 4,
        lifetime: 3600,
        caller: { tag: expect.stringMatching(/SIPpTag00\d$/), contact: `sip:sipp@127.0.0.1:${P + 81}`, route_set: "", socket: `udp:127.0.0.1:${SIP}` },
        callee: { tag: expect.stringMatching(/SIPpTag01\d$/), contact: `sip:127.0.0.1:${P + 90};transport=UDP`, route_set: "" },
        profiles: [],
        variables: [{ account: "sipp" }],
      });
      expect(d.timeout).toBeGreaterThanOrEqual(now + 3590);
      expect(Math.abs(d.init_ts - now)).toBeLessThanOrEqual(5);
      expect(d.start_ts).toBeGreaterThanOrEqual(d.init_ts);
    }
    expect(await rpc(CTL, "dlg.stats_active")).toEqual({ starting: 0, connecting: 0, answering: 0, ongoing: 2, all: 2 });
    const brief = await rpc(CTL, "dlg.briefing", ["cFs"]);
    expect(brief).toHaveLength(2);
    expect(Object.keys(brief[0]).sort()).toEqual(["call-id", "from_tag", "h_entry", "h_id", "state"]);
    const [a, b] = list as [any, any];
    expect(await rpc(CTL, "dlg.dlg_list", [a["call-id"], a.caller.tag])).toHaveLength(1);
    expect(await rpc(CTL, "dlg.is_alive", [a["call-id"], a.caller.tag, a.callee.tag])).toBe("Alive");
    const ctx = await rpc(CTL, "dlg.list_ctx");
    expect(ctx[0].context).toMatchObject({ gateway: `sip:127.0.0.1:${P + 90}`, gateway_addr: `udp:127.0.0.1:${P + 90}`, code: 200 });

    expect(await rpc(CTL, "dlg.terminate_dlg", [a["call-id"], a.caller.tag, a.callee.tag])).toBeNull();
    expect(await rpc(CTL, "dlg.end_dlg", { h_entry: b.h_entry, h_id: b.h_id })).toBeNull();
    const r = await calls;
    expect(r.failed, r.errors).toBe(0);
    expect(r.successful).toBe(2); // both callers got a BYE
    await until(() => uas.stats().successful === 2, 8000, "both callees got a BYE");
    const ended = await stream.waitFor((e) => e.length === 2);
    for (const e of ended) expect(e.data).toMatchObject({ ended_by: "rpc", end_reason: "proxy_bye", code: 200 });
    expect(await rpc(CTL, "dlg.list")).toEqual([]);
  });

  it("answers bad or unknown dialogs with Kamailio's faults", async () => {
    await expect(rpc(CTL, "dlg.terminate_dlg", ["nosuch", "a", "b"])).rejects.toMatchObject({ code: 500, message: "Couldnt find callid in dialog" });
    await expect(rpc(CTL, "dlg.end_dlg", [1, 2])).rejects.toMatchObject({ code: 404, message: "Dialog not found" });
    await expect(rpc(CTL, "dlg.end_dlg", ["x", 2])).rejects.toMatchObject({ code: -32602, message: /h_entry/ });
    await expect(rpc(CTL, "dlg.briefing", ["fz"])).rejects.toMatchObject({ code: -32602, message: /fmt/ });
    await expect(rpc(CTL, "dlg.list_match", ["furi", "re", "("])).rejects.toMatchObject({ code: -32602, message: /mval/ });
  });
});
