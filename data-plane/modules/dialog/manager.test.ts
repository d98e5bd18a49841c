import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { EventBus, StatsRegistry, createLogger, setLogLevel, type OleloEvent } from "../../core/api.js";
import { DialogManager } from "./manager.js";
import { DlgState } from "./dialog.js";
import { parseDialogParams } from "./params.js";
import { fakeMsg, fakeReq, fakeUac, sendBranch, sendReply, type FakeReq } from "../../testing/dialog-fakes.js";

setLogLevel("error");

const GW = { proto: "udp" as const, address: "10.0.0.9", port: 5080 };

function setup(cfg: Record<string, unknown> = {}) {
  const events = new EventBus("n1");
  const stats = new StatsRegistry();
  const sip = fakeUac();
  const m = new DialogManager(parseDialogParams(cfg), { events, log: createLogger("dialog-test"), stats: stats.group("dialog"), sip });
  const evs: OleloEvent[] = [];
  events.subscribe(["call.*"], (e) => evs.push(e));
  const stat = (n: string) => stats.select(`dialog:${n}`)[0]?.[1];
  return { m, events, sip, evs, stat };
}

/** An initial INVITE from alice (with one proxy's Record-Route before us) to bob. */
function invite(m: DialogManager): FakeReq {
  const req = fakeReq(
    fakeMsg({ method: "INVITE", callId: "c1", fromTag: "AT", contact: "sip:alice@192.0.2.10:5060", cseq: 7, headers: { "record-route": ["<sip:p1.example;lr>"] } }),
  );
  expect(m.manage(req)).toBe(true);
  return req;
}

function ok200(did: string, rr: string[] = []): ReturnType<typeof fakeMsg> {
  return fakeMsg({
    status: 200,
    reason: "OK",
    callId: "c1",
    fromTag: "AT",
    toTag: "BT",
    cseq: 7,
    cseqMethod: "INVITE",
    contact: "sip:bob@198.51.100.7:5062",
    headers: { "record-route": [...rr, `<sip:127.0.0.1:5060;lr;did=${did}>`, "<sip:p1.example;lr>"] },
  });
}

function inDialog(method: string, o: { fromTag?: string; toTag?: string; route?: string; cseq?: number } = {}): FakeReq {
  return fakeReq(
    fakeMsg({
      method,
      callId: "c1",
      fromTag: o.fromTag ?? "AT",
      toTag: o.toTag ?? "BT",
      cseq: o.cseq ?? 8,
      headers: o.route ? { route: [o.route] } : {},
    }),
  );
}

describe("DialogManager", () => {
  afterEach(() => vi.useRealTimers());

  it("follows an INVITE through early, answered, ACK and BYE, publishing the call events", () => {
    const { m, evs, stat } = setup();
    const req = invite(m);
    const d = m.current(req)!;
    expect(d.state).toBe(DlgState.UNCONFIRMED);
    expect(req.rrParams).toEqual([`did=${d.did}`]);
    expect(req.observers).toEqual([d]);
    expect(stat("processed_dialogs")).toBe(1);
    sendBranch(req, 0, "sip:bob@b.example", "sip:10.0.0.9:5080", GW);
    expect(evs.map((e) => e.kind)).toEqual(["call.started"]);
    expect(evs[0]!.data).toMatchObject({ call_id: "c1", gateway: "sip:10.0.0.9:5080", gateway_addr: "udp:10.0.0.9:5080", from_tag: "AT", node: "n1" });
    sendReply(req, fakeMsg({ status: 180, callId: "c1", toTag: "BT" }));
    expect(d.state).toBe(DlgState.EARLY);
    expect(stat("early_dialogs")).toBe(1);
    sendReply(req, ok200(d.did, ["<sip:p3.example;lr>", "<sip:p2.example;lr>"]));
    expect(d.state).toBe(DlgState.CONFIRMED_NA);
    expect(stat("early_dialogs")).toBe(0);
    expect(stat("active_dialogs")).toBe(1);
    expect(d.callee).toMatchObject({ tag: "BT", contact: "sip:bob@198.51.100.7:5062", routeSet: ["<sip:p2.example;lr>", "<sip:p3.example;lr>"] });
    expect(d.caller).toMatchObject({ tag: "AT", contact: "sip:alice@192.0.2.10:5060", routeSet: ["<sip:p1.example;lr>"], cseq: 7 });
    expect(evs[1]).toMatchObject({ kind: "call.answered", data: { to_tag: "BT", code: 200 } });
    // ACK matched by the did in its Route
    const ack = inDialog("ACK", { route: `<sip:127.0.0.1:5060;lr;did=${d.did}>`, cseq: 7 });
    expect(m.manage(ack)).toBe(true);
    expect(d.state).toBe(DlgState.CONFIRMED);
    // the callee hangs up (matched by tags: no Route with our did)
    const bye = inDialog("BYE", { fromTag: "BT", toTag: "AT", cseq: 3 });
    expect(m.manage(bye)).toBe(true);
    expect(d.state).toBe(DlgState.DELETED);
    expect(evs[2]).toMatchObject({ kind: "call.ended", data: { ended_by: "callee", end_reason: "bye", code: 200, vars: {} } });
    expect(stat("active_dialogs")).toBe(0);
    expect(m.table.count).toBe(0);
    expect(m.manage(inDialog("BYE"))).toBe(false); // gone
  });

  it("fails an unanswered call: 486 from the callee, 487 after CANCEL, local 408, local 503", () => {
    const cases: Array<[number, boolean, string]> = [
      [486, false, "callee"],
      [487, false, "caller"],
      [408, true, "timeout"],
      [503, true, "proxy"],
    ];
    for (const [code, local, by] of cases) {
      const { m, evs, stat } = setup();
      const req = invite(m);
      sendReply(req, fakeMsg({ status: 183, callId: "c1", toTag: "BT" }));
      sendReply(req, fakeMsg({ status: code, reason: "R", callId: "c1", toTag: "X" }), local ? -1 : 0, local);
      expect(evs.at(-1)).toMatchObject({ kind: "call.ended", data: { code, reason: "R", ended_by: by, end_reason: "failed", duration: 0, answer_time: null, to_tag: "X" } });
      expect(stat("failed_dialogs")).toBe(1);
      expect(stat("early_dialogs")).toBe(0);
    }
  });

  it("keeps the first 2xx of a forked INVITE and ignores later ones", () => {
    const { m, evs } = setup();
    const req = invite(m);
    const d = m.current(req)!;
    sendReply(req, ok200(d.did));
    sendReply(req, fakeMsg({ status: 200, callId: "c1", toTag: "OTHER" }), 1);
    expect(d.callee.tag).toBe("BT");
    expect(evs.filter((e) => e.kind === "call.answered")).toHaveLength(1);
  });

  it("times out a confirmed call and sends BYE to both sides with their route sets, tags and CSeqs", async () => {
    vi.useFakeTimers();
    const { m, sip, evs, stat } = setup({ send_bye: 1 });
    const req = invite(m);
    const d = m.current(req)!;
    expect(m.setTimeout(d, 5)).toBe(true);
    sendReply(req, ok200(d.did, ["<sip:p2.example;lr>"]));
    m.manage(inDialog("ACK", { route: `<sip:127.0.0.1:5060;lr;did=${d.did}>`, cseq: 7 }));
    vi.advanceTimersByTime(4999);
    expect(d.state).toBe(DlgState.CONFIRMED);
    vi.advanceTimersByTime(1);
    expect(d.state).toBe(DlgState.DELETED);
    expect(stat("expired_dialogs")).toBe(1);
    expect(evs.at(-1)).toMatchObject({ kind: "call.ended", data: { ended_by: "timeout", end_reason: "proxy_bye", duration: 5 } });
    expect(sip.sent).toHaveLength(2);
    const [toCaller, toCallee] = sip.sent;
    expect(toCaller).toMatchObject({
      method: "BYE",
      uri: "sip:alice@192.0.2.10:5060",
      destination: "sip:p1.example;lr",
      routes: ["<sip:p1.example;lr>"],
      from: "sip:bob@b.example",
      fromTag: "BT",
      to: "sip:alice@a.example",
      toTag: "AT",
      callId: "c1",
      cseq: 8,
      socket: "udp:127.0.0.1:5060",
    });
    expect(toCallee).toMatchObject({
      method: "BYE",
      uri: "sip:bob@198.51.100.7:5062",
      destination: "sip:p2.example;lr",
      routes: ["<sip:p2.example;lr>"],
      from: "sip:alice@a.example",
      fromTag: "AT",
      to: "sip:bob@b.example",
      toTag: "BT",
      cseq: 8,
    });
  });

  it("without send_bye the timer only expires the dialog; in-dialog requests restart it", () => {
    vi.useFakeTimers();
    const { m, sip, evs } = setup({ default_timeout: 10 });
    const req = invite(m);
    const d = m.current(req)!;
    sendReply(req, ok200(d.did));
    vi.advanceTimersByTime(9000);
    m.manage(inDialog("INFO", { cseq: 9 })); // restarts the 10 s
    expect(d.caller.cseq).toBe(9);
    vi.advanceTimersByTime(9000);
    expect(d.state).toBe(DlgState.CONFIRMED_NA);
    vi.advanceTimersByTime(1000);
    expect(d.state).toBe(DlgState.DELETED);
    expect(evs.at(-1)!.data).toMatchObject({ ended_by: "timeout", end_reason: "expired" });
    expect(sip.sent).toEqual([]);
  });

  it("timeout_noreset keeps the timer running through in-dialog requests", () => {
    vi.useFakeTimers();
    const { m } = setup({ default_timeout: 10, timeout_noreset: 1 });
    const req = invite(m);
    const d = m.current(req)!;
    sendReply(req, ok200(d.did));
    vi.advanceTimersByTime(9000);
    m.manage(inDialog("INFO"));
    vi.advanceTimersByTime(1000);
    expect(d.state).toBe(DlgState.DELETED);
  });

  it("match mode 0 needs the did; mode 2 ignores it; the did must belong to the same Call-ID", () => {
    for (const [mode, withDid, withoutDid] of [
      [0, true, false],
      [1, true, true],
      [2, true, true],
    ] as const) {
      const { m } = setup({ dlg_match_mode: mode });
      const req = invite(m);
      const d = m.current(req)!;
      sendReply(req, ok200(d.did));
      expect(m.match(inDialog("INFO", { route: `<sip:127.0.0.1;lr;did=${d.did}>` })) === d).toBe(withDid);
      expect(m.match(inDialog("INFO")) === d).toBe(withoutDid);
    }
    const { m } = setup({ dlg_match_mode: 0 });
    const req = invite(m);
    const d = m.current(req)!;
    const other = fakeReq(fakeMsg({ method: "BYE", callId: "another", fromTag: "AT", toTag: "BT", headers: { route: [`<sip:127.0.0.1;lr;did=${d.did}>`] } }));
    expect(m.match(other)).toBeNull();
  });

  it("a BYE in an early dialog does not end it; the transaction ending without a final reply does", () => {
    const { m, evs } = setup();
    const req = invite(m);
    const d = m.current(req)!;
    sendReply(req, fakeMsg({ status: 180, callId: "c1", toTag: "BT" }));
    m.manage(inDialog("BYE"));
    expect(d.state).toBe(DlgState.EARLY);
    for (const o of req.observers) o.ended?.();
    expect(d.state).toBe(DlgState.DELETED);
    expect(evs.at(-1)!.data).toMatchObject({ code: 500, ended_by: "proxy", end_reason: "failed" });
  });

  it("bye() hangs up confirmed dialogs only; profiles are released when a dialog ends", () => {
    const { m, sip, evs } = setup({ profiles_with_value: "trunk", profiles_no_value: "out" });
    const req = invite(m);
    const d = m.current(req)!;
    m.profiles.set(d, "trunk", "gw1");
    m.profiles.set(d, "out");
    expect(m.bye(d, "all", "rpc")).toBe(false);
    expect(m.profiles.size("trunk", "gw1")).toBe(1);
    sendReply(req, ok200(d.did));
    m.setVar(d, "acct", "42");
    expect(m.bye(d, "callee", "rpc", { "X-Reason": "admin" })).toBe(true);
    expect(sip.sent).toHaveLength(1);
    expect(sip.sent[0]).toMatchObject({ uri: "sip:bob@198.51.100.7:5062", headers: { "X-Reason": "admin" } });
    expect(m.profiles.size("trunk")).toBe(0);
    expect(m.profiles.size("out")).toBe(0);
    expect(evs.at(-1)!.data).toMatchObject({ ended_by: "rpc", end_reason: "proxy_bye", vars: { acct: "42" } });
  });

  it("does not manage non-INVITE initial requests or INVITEs without a From tag", () => {
    const { m } = setup();
    expect(m.manage(fakeReq(fakeMsg({ method: "SUBSCRIBE" })))).toBe(false);
    expect(m.manage(fakeReq(fakeMsg({ method: "INVITE", fromTag: null })))).toBe(false);
    expect(m.table.count).toBe(0);
  });

  it("a second manage() of the same INVITE reuses its dialog", () => {
    const { m, stat } = setup();
    const req = invite(m);
    expect(m.manage(req)).toBe(true);
    expect(req.rrParams).toHaveLength(1);
    expect(stat("processed_dialogs")).toBe(1);
  });
});

describe("setTimeout", () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());
  it("rejects non-integer or out-of-range seconds", () => {
    const { m } = setup();
    const d = m.current(invite(m))!;
    expect(() => m.setTimeout(d, 0)).toThrow(/1\.\./);
    expect(() => m.setTimeout(d, 1.5)).toThrow(/integer/);
    expect(m.setTimeout(d, 30, true)).toBe(true);
    expect(d.lifetime).toBe(30);
  });
});
