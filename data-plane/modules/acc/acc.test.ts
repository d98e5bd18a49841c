import { describe, expect, it } from "vitest";
import { EventBus, StatsRegistry, type Logger } from "../../core/api.js";
import { Acc } from "./acc.js";
import { parseAccParams } from "./params.js";
import { fakeMsg, fakeReq, sendBranch, sendReply, type FakeReq } from "../../testing/dialog-fakes.js";
import type { CallEndedData } from "../dialog/api.js";

function setup(cfg: Record<string, unknown> = {}) {
  const lines: string[] = [];
  const log = { info: (m: string) => lines.push(m), warn: () => undefined, error: () => undefined, debug: () => undefined } as unknown as Logger;
  const events = new EventBus("n1");
  const stats = new StatsRegistry();
  const acc = new Acc(parseAccParams(cfg), { log, events, stats: stats.group("acc"), db: null, file: null });
  return { acc, lines, events, stat: (n: string) => stats.select(`acc:${n}`)[0]?.[1] };
}

function inviteReq(flags: number[], o: { method?: string } = {}): FakeReq {
  const req = fakeReq(
    fakeMsg({ method: o.method ?? "INVITE", callId: "c1", from: "sip:alice@a.example", fromTag: "AT", to: "sip:bob@b.example", headers: { "user-agent": ["ua/1"] } }),
    { source: { proto: "udp", address: "192.0.2.10", port: 5062 } },
  );
  for (const f of flags) req.setFlag(f);
  return req;
}

const reply = (status: number, reason: string, extra: Record<string, string[]> = {}, body = "") =>
  fakeMsg({ status, reason, callId: "c1", fromTag: "AT", toTag: "BT", headers: extra, body });

describe("Acc transaction records", () => {
  it("logs a 200 with Kamailio's line format and log_extra", () => {
    const { acc, lines, stat } = setup({ log_extra: "src_user=$fU;src_ip=$si;dst_user=$rU;ua=$ua;lit=x" });
    const req = inviteReq([1]);
    acc.track(req);
    acc.track(req); // once per request
    expect(req.observers).toHaveLength(1);
    sendBranch(req, 0, "sip:carol@c.example", null, { proto: "udp", address: "10.0.0.1", port: 5060 });
    sendReply(req, reply(180, "Ringing"));
    sendReply(req, reply(200, "OK"));
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(
      /^ACC: transaction answered: timestamp=\d+;method=INVITE;from_tag=AT;to_tag=BT;call_id=c1;code=200;reason=OK;src_user=alice;src_ip=192\.0\.2\.10;dst_user=carol;ua=ua\/1;lit=x$/,
    );
    expect(stat("acc_records")).toBe(1);
    // a retransmitted 2xx relayed again on the same branch is not accounted twice; another branch's is
    sendReply(req, reply(200, "OK"));
    sendReply(req, reply(200, "OK"), 1);
    expect(lines).toHaveLength(2);
  });

  it("accounts negative replies only with failed_transaction_flag, minus failed_filter", () => {
    const { acc, lines } = setup({ failed_filter: "404,407" });
    const a = inviteReq([1]);
    acc.track(a);
    sendReply(a, reply(486, "Busy Here"));
    expect(lines).toEqual([]);
    const b = inviteReq([1, 3]);
    acc.track(b);
    sendReply(b, reply(486, "Busy Here"));
    expect(lines[0]).toMatch(/code=486;reason=Busy Here$/);
    const c = inviteReq([1, 3]);
    acc.track(c);
    sendReply(c, reply(404, "Not Found"));
    expect(lines).toHaveLength(1);
  });

  it("reports a missed call once for a failed INVITE with the missed flag, and resets the flag", () => {
    const { acc, lines, stat } = setup();
    const req = inviteReq([2]);
    acc.track(req);
    sendReply(req, reply(480, "Temporarily Unavailable"), -1, true);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^ACC: call missed: timestamp=\d+;method=INVITE;from_tag=AT;to_tag=BT;call_id=c1;code=480;reason=Temporarily Unavailable$/);
    expect(req.isFlagSet(2)).toBe(false);
    expect(stat("missed_records")).toBe(1);
    // a BYE with the missed flag is not a missed call
    const bye = inviteReq([2], { method: "BYE" });
    acc.track(bye);
    sendReply(bye, reply(481, "Call Does Not Exist"));
    expect(lines).toHaveLength(1);
  });

  it("reads the flags when the reply goes out (a failure route may change them)", () => {
    const { acc, lines } = setup();
    const req = inviteReq([]);
    acc.track(req);
    req.setFlag(1);
    sendReply(req, reply(200, "OK"));
    expect(lines).toHaveLength(1);
  });

  it("early_media accounts a 183 with a body; reason_from_hf uses the Reason header", () => {
    const { acc, lines } = setup({ early_media: 1, reason_from_hf: 1 });
    const req = inviteReq([1, 3]);
    acc.track(req);
    sendReply(req, reply(180, "Ringing"));
    sendReply(req, reply(183, "Session Progress", {}, "v=0\r\n"));
    sendReply(req, reply(503, "Service Unavailable", { reason: ['Q.850;cause=34;text="No circuit"'] }));
    expect(lines).toHaveLength(2);
    expect(lines[0]).toMatch(/code=183;reason=Session Progress$/);
    expect(lines[1]).toMatch(/code=503;reason=Q\.850;cause=34;text="No circuit"$/);
  });

  it("does not track ACK or CANCEL; logRequest writes 'request accounted'", () => {
    const { acc, lines } = setup();
    const ack = inviteReq([1], { method: "ACK" });
    acc.track(ack);
    expect(ack.observers).toEqual([]);
    acc.logRequest(inviteReq([]), "403 Forbidden");
    acc.logRequest(inviteReq([]), "just a note");
    expect(lines[0]).toMatch(/^ACC: request accounted: timestamp=\d+;method=INVITE;from_tag=AT;to_tag=;call_id=c1;code=403;reason=Forbidden$/);
    expect(lines[1]).toMatch(/;code=;reason=just a note$/);
    expect(() => acc.dbRequest(inviteReq([]), "200 OK", "acc")).toThrow(/no db_url/);
  });
});

function ended(over: Partial<CallEndedData> = {}): CallEndedData {
  return {
    call_id: "c1",
    from: "sip:alice@a.example",
    from_tag: "AT",
    to: "sip:bob@b.example",
    ruri: "sip:bob@b.example",
    src_ip: "192.0.2.10",
    src_port: 5060,
    proto: "udp",
    h_entry: 1,
    h_id: 2,
    node: "n1",
    to_tag: "BT",
    gateway: "sip:10.0.0.1",
    gateway_addr: "udp:10.0.0.1:5060",
    start_time: "2026-01-01T10:00:00.000Z",
    answer_time: "2026-01-01T10:00:02.500Z",
    end_time: "2026-01-01T10:01:00.000Z",
    duration: 57.5,
    code: 200,
    reason: "OK",
    ended_by: "caller",
    end_reason: "bye",
    vars: { acct: "42" },
    ...over,
  };
}

describe("Acc CDRs from call.ended", () => {
  it("writes a CDR line from the INVITE (default) or from the answer (cdr_start_on_confirmed)", () => {
    const a = setup({ cdr_enable: 1, cdr_extra: "callid=$ci;src_user=$fU;dst_user=$rU;acct=$dlg_var(acct);gw=$dlg(gateway);code=$dlg(code)" });
    a.events.publish("call.ended", ended() as unknown as Record<string, unknown>);
    expect(a.lines).toEqual([
      `CDR: start_time=${Date.parse("2026-01-01T10:00:00Z") / 1000}.000;end_time=${Date.parse("2026-01-01T10:01:00Z") / 1000}.000;duration=60.000;callid=c1;src_user=alice;dst_user=bob;acct=42;gw=sip:10.0.0.1;code=200`,
    ]);
    const b = setup({ cdr_enable: 1, cdr_start_on_confirmed: 1 });
    b.events.publish("call.ended", ended() as unknown as Record<string, unknown>);
    expect(b.lines[0]).toMatch(/;duration=57\.500$/);
    expect(b.stat("cdr_records")).toBe(1);
  });

  it("follows cdr_on_failed and cdr_expired_dlg_enable; failed calls have duration 0", () => {
    const failed = ended({ end_reason: "failed", answer_time: null, duration: 0, code: 486 });
    const expired = ended({ end_reason: "expired", ended_by: "timeout" });
    const on = setup({ cdr_enable: 1 });
    on.events.publish("call.ended", failed as unknown as Record<string, unknown>);
    on.events.publish("call.ended", expired as unknown as Record<string, unknown>);
    expect(on.lines).toHaveLength(1);
    expect(on.lines[0]).toMatch(/duration=0\.000$/);
    const off = setup({ cdr_enable: 1, cdr_on_failed: 0, cdr_expired_dlg_enable: 1 });
    off.events.publish("call.ended", failed as unknown as Record<string, unknown>);
    off.events.publish("call.ended", expired as unknown as Record<string, unknown>);
    expect(off.lines).toHaveLength(1);
    expect(off.lines[0]).toMatch(/duration=60\.000$/);
  });

  it("ignores call events unless cdr_enable; close() unsubscribes", () => {
    const a = setup();
    a.events.publish("call.ended", ended() as unknown as Record<string, unknown>);
    expect(a.lines).toEqual([]);
    const b = setup({ cdr_enable: 1 });
    b.acc.close();
    b.events.publish("call.ended", ended() as unknown as Record<string, unknown>);
    expect(b.lines).toEqual([]);
  });
});
