import { describe, expect, it } from "vitest";
import type { SipUac, UacRequestOptions, UacResult } from "../api.js";
import { GatewayProber, isUpReply, type ProbeOutcome } from "./index.js";

function scriptedUac(throwOn?: string) {
  const sent: Array<{ opts: UacRequestOptions; answer: (code: number) => void; fail: (e: Error) => void }> = [];
  const uac: SipUac = {
    request: (opts) => {
      if (opts.uri === throwOn) throw new Error("no route");
      return new Promise<UacResult>((resolve, reject) => sent.push({ opts, answer: (code) => resolve({ code, reason: `R${code}`, latencyMs: 7 }), fail: reject }));
    },
    sendRaw: () => undefined,
  };
  return { uac, sent };
}
const flush = () => new Promise((r) => setImmediate(r));

describe("GatewayProber", () => {
  it("sends one probe per gateway until it is answered, with the request options asked for", async () => {
    const { uac, sent } = scriptedUac();
    const gw = {};
    const got: ProbeOutcome[] = [];
    const p: GatewayProber = new GatewayProber({ uac, intervalS: 0, timeoutMs: 900, upReplies: { codes: [403], classes: [5] }, round: (): number => (p.send(gw, { uri: "sip:gw", from: "sip:ping@x", socket: "", destination: "sip:ob" }, (o) => got.push(o)) ? 1 : 0) });
    expect(p.tick()).toBe(1);
    expect(p.tick()).toBe(0);
    expect(p.inFlight(gw)).toBe(true);
    expect(sent[0]!.opts).toEqual({ method: "OPTIONS", uri: "sip:gw", to: "sip:gw", from: "sip:ping@x", destination: "sip:ob", timeoutMs: 900 });
    sent[0]!.answer(503);
    await flush();
    expect(got).toEqual([{ code: 503, reason: "R503", latencyMs: 7, up: true }]);
    expect(p.tick()).toBe(1);
    sent[1]!.answer(404);
    await flush();
    expect(got[1]!.up).toBe(false);
  });

  it("reports a probe that cannot be sent as the failure code, and drops results after stop()", async () => {
    const { uac, sent } = scriptedUac("sip:bad");
    const errors: string[] = [];
    const got: ProbeOutcome[] = [];
    const p = new GatewayProber({ uac, intervalS: 1, round: () => 0, failure: { code: 0, reason: "" }, onError: (e, probe) => errors.push(`${probe.uri}: ${(e as Error).message}`) });
    p.send({}, { uri: "sip:bad", from: "sip:f" }, (o) => got.push(o));
    await flush();
    expect(errors).toEqual(["sip:bad: no route"]);
    expect(got).toMatchObject([{ code: 0, latencyMs: -1, up: false }]);
    p.start();
    expect(p.running).toBe(true);
    p.send({}, { uri: "sip:gw", from: "sip:f", method: "INFO" }, (o) => got.push(o));
    expect(sent[0]!.opts.method).toBe("INFO");
    p.stop();
    expect(p.running).toBe(false);
    sent[0]!.answer(200);
    await flush();
    expect(got).toHaveLength(1);
    expect(p.send({}, { uri: "sip:gw", from: "sip:f" }, () => undefined)).toBe(false);
  });

  it("isUpReply: any 2xx, listed codes and classes", () => {
    expect([200, 299, 404, 486, 503, 500, 302].map((c) => isUpReply(c, { codes: [503], classes: [4] }))).toEqual([true, true, true, true, true, false, false]);
    expect(isUpReply(404)).toBe(false);
  });
});
