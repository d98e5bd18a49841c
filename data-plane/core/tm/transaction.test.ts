/**
 * Transaction timers with fake time (RFC 3261 §17): retransmission schedules (Timers A, E, G),
 * final-response timers (fr_timer / fr_inv_timer → local 408 and CANCEL), ACK absorption.
 * The transport is replaced by a recorder so the schedule is exact.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import type { CoreConfig } from "../config.js";
import { createSipHarness } from "../../testing/sip-harness.js";
import type { Endpoint } from "../../../lib/sip/types.js";
import type { RoutingScript } from "../script/context.js";

function setup(script: RoutingScript, tm: Partial<CoreConfig["tm"]> = {}) {
  const { core, sent, inject, t0 } = createSipHarness({ script, tm });
  return { core, sent, inject, t0 };
}

const UAC: Endpoint = { proto: "udp", address: "127.0.0.1", port: 5555 };
const UAS: Endpoint = { proto: "udp", address: "127.0.0.1", port: 5070 };

function invite(method = "INVITE", branch = "z9hG4bK-c1"): string {
  return `${method} sip:bob@127.0.0.1:5060 SIP/2.0
Via: SIP/2.0/UDP 127.0.0.1:5555;branch=${branch}
From: <sip:alice@127.0.0.1>;tag=a1
To: <sip:bob@127.0.0.1>
Call-ID: call-1@test
CSeq: 1 ${method}
Max-Forwards: 70
Content-Length: 0

`;
}

/** Builds a reply to the forwarded request `fwd` (as the UAS would). */
function replyTo(fwd: string, status: number, reason: string, toTag = "b1"): string {
  const lines = fwd.split("\r\n");
  const keep = lines.filter((l) => /^(Via|From|Call-ID|CSeq):/i.test(l));
  const to = lines.find((l) => l.startsWith("To:"))!;
  return [`SIP/2.0 ${status} ${reason}`, ...keep, status > 100 ? `${to};tag=${toTag}` : to, "Content-Length: 0", "", ""].join("\r\n");
}

const relayTo: RoutingScript = {
  request(req) {
    if (req.method === "ACK" && req.hasToTag) return;
    req.setDst("sip:127.0.0.1:5070");
    req.relay();
  },
};

describe("client transaction timers (fake time)", () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it("INVITE: 100 Trying upstream, Timer A doubles from T1, fr_timer ends with a local 408", async () => {
    const { sent, inject } = setup(relayTo, { frTimer: 8000 });
    inject(invite(), UAC);
    expect(sent[0]!.text).toMatch(/^SIP\/2.0 100 Trying/);
    expect(sent[0]!.dest).toEqual(UAC);
    expect(sent[1]!.text).toMatch(/^INVITE /);
    await vi.advanceTimersByTimeAsync(9000);
    const copies = sent.filter((s) => s.text.startsWith("INVITE")).map((s) => s.t);
    // sent at 0, then 500, 1500, 3500, 7500 (T1 doubling), fr_timer fires at 8000
    expect(copies).toEqual([0, 500, 1500, 3500, 7500]);
    const final = sent.filter((s) => s.text.startsWith("SIP/2.0 408"));
    expect(final[0]!.t).toBe(8000);
    expect(final.map((f) => f.t)).toEqual([8000, 8500]); // then Timer G retransmits it until an ACK
    expect(final[0]!.dest).toEqual(UAC);
  });

  it("non-INVITE: Timer E doubles up to T2 and keeps going at T2", async () => {
    const { sent, inject } = setup(relayTo, { frTimer: 12_000 });
    inject(invite("OPTIONS"), UAC);
    await vi.advanceTimersByTimeAsync(12_500);
    const copies = sent.filter((s) => s.text.startsWith("OPTIONS")).map((s) => s.t);
    expect(copies).toEqual([0, 500, 1500, 3500, 7500, 11500]);
    expect(sent.some((s) => s.text.startsWith("SIP/2.0 100"))).toBe(false); // no 100 for non-INVITE
    expect(sent.filter((s) => s.text.startsWith("SIP/2.0 408"))).toHaveLength(1);
  });

  it("a provisional reply stops Timer A, switches to fr_inv_timer, and on expiry CANCELs the branch", async () => {
    const { sent, inject } = setup(relayTo, { frTimer: 5000, frInvTimer: 10_000 });
    inject(invite(), UAC);
    const fwd = sent.find((s) => s.text.startsWith("INVITE"))!.text;
    await vi.advanceTimersByTimeAsync(700); // one retransmission at 500
    inject(replyTo(fwd, 180, "Ringing"), UAS);
    const ringing = sent.filter((s) => s.text.startsWith("SIP/2.0 180"));
    expect(ringing).toHaveLength(1);
    expect(ringing[0]!.dest).toEqual(UAC);
    await vi.advanceTimersByTimeAsync(9000);
    expect(sent.filter((s) => s.text.startsWith("INVITE")).length).toBe(2); // 0 and 500 only
    expect(sent.some((s) => s.text.startsWith("SIP/2.0 408"))).toBe(false); // fr_timer no longer applies
    await vi.advanceTimersByTimeAsync(1500); // fr_inv_timer fires 10 s after the 180
    const cancel = sent.find((s) => s.text.startsWith("CANCEL"));
    expect(cancel, "branch CANCELled on timeout").toBeDefined();
    expect(cancel!.dest).toEqual(UAS);
    expect(/branch=([^\r;]+)/.exec(cancel!.text)![1]).toBe(/branch=([^\r;]+)/.exec(fwd)![1]);
    expect(sent.filter((s) => s.text.startsWith("SIP/2.0 408"))[0]!.t).toBe(10_700);
  });

  it("relays a negative final, ACKs it downstream, retransmits it upstream on Timer G until the ACK", async () => {
    const { sent, inject } = setup(relayTo);
    inject(invite(), UAC);
    const fwd = sent.find((s) => s.text.startsWith("INVITE"))!.text;
    inject(replyTo(fwd, 486, "Busy Here"), UAS);
    const ack = sent.find((s) => s.text.startsWith("ACK"));
    expect(ack, "hop-by-hop ACK to the UAS").toBeDefined();
    expect(ack!.dest).toEqual(UAS);
    expect(ack!.text).toContain("CSeq: 1 ACK");
    expect(ack!.text).toContain(";tag=b1");
    await vi.advanceTimersByTimeAsync(3600);
    const busy = sent.filter((s) => s.text.startsWith("SIP/2.0 486")).map((s) => s.t);
    expect(busy).toEqual([0, 500, 1500, 3500]);
    // the UAC's ACK (same branch as the INVITE) is absorbed and stops Timer G
    inject(invite("ACK").replace("To: <sip:bob@127.0.0.1>", "To: <sip:bob@127.0.0.1>;tag=b1"), UAC);
    const before = sent.length;
    await vi.advanceTimersByTimeAsync(10_000);
    expect(sent.slice(before).filter((s) => s.text.startsWith("SIP/2.0 486"))).toHaveLength(0);
    expect(sent.filter((s) => s.text.startsWith("ACK")).length).toBe(1); // the UAC's ACK was not forwarded
  });

  it("keeps the server transaction for wt_timer after a 2xx, then frees it", async () => {
    const { core, sent, inject } = setup(relayTo, { wtTimer: 5000 });
    inject(invite(), UAC);
    const fwd = sent.find((s) => s.text.startsWith("INVITE"))!.text;
    inject(replyTo(fwd, 200, "OK"), UAS);
    expect(core.serverTxns.size).toBe(1);
    // a retransmitted INVITE is answered with the 200 again and not forwarded
    inject(invite(), UAC);
    expect(sent.filter((s) => s.text.startsWith("SIP/2.0 200")).length).toBe(2);
    expect(sent.filter((s) => s.text.startsWith("INVITE")).length).toBe(1);
    await vi.advanceTimersByTimeAsync(5100);
    expect(core.serverTxns.size).toBe(0);
    expect(core.clientTxns.size).toBe(0);
  });

  it("chooses the best final reply across parallel branches (6xx over 4xx, 4xx over 5xx)", async () => {
    const fork: RoutingScript = {
      request(req) {
        req.setDst("sip:127.0.0.1:5070");
        req.appendBranch("sip:bob@127.0.0.1:5060", { dst: "sip:127.0.0.1:5071" });
        req.appendBranch("sip:bob@127.0.0.1:5060", { dst: "sip:127.0.0.1:5072" });
        req.relay();
      },
    };
    const { sent, inject } = setup(fork);
    inject(invite(), UAC);
    const fwds = sent.filter((s) => s.text.startsWith("INVITE"));
    expect(fwds.map((f) => f.dest.port)).toEqual([5070, 5071, 5072]);
    inject(replyTo(fwds[0]!.text, 503, "Unavailable"), { ...UAS, port: 5070 });
    inject(replyTo(fwds[1]!.text, 404, "Not Found"), { ...UAS, port: 5071 });
    expect(sent.some((s) => /^SIP\/2.0 [3-6]/.test(s.text) && s.dest.port === 5555)).toBe(false); // waits for all
    inject(replyTo(fwds[2]!.text, 603, "Decline"), { ...UAS, port: 5072 });
    const finals = sent.filter((s) => /^SIP\/2.0 [3-6]/.test(s.text) && s.dest.port === 5555);
    expect(finals).toHaveLength(1);
    expect(finals[0]!.text).toMatch(/^SIP\/2.0 603/);
  });

  it("relays a 503 upstream as 500 (remap_503_500)", async () => {
    const { sent, inject } = setup(relayTo);
    inject(invite("OPTIONS"), UAC);
    const fwd = sent.find((s) => s.text.startsWith("OPTIONS"))!.text;
    inject(replyTo(fwd, 503, "Service Unavailable"), UAS);
    expect(sent.filter((s) => s.dest.port === 5555).map((s) => s.text.split("\r\n")[0])).toEqual(["SIP/2.0 500 Service Unavailable"]);
  });
});

describe("routing rules (RFC 3261 §16.4, §18.2.2, RFC 3581)", () => {
  const inDialog: RoutingScript = {
    request(req) {
      if (req.looseRoute()) req.relay();
      else req.reply(404, "Not here");
    },
  };

  function bye(ruri: string, routes: string[], via = "SIP/2.0/UDP 10.1.1.1:5090;branch=z9hG4bK-b1;rport"): string {
    return [`BYE ${ruri} SIP/2.0`, `Via: ${via}`, ...routes.map((r) => `Route: ${r}`), "From: <sip:a@x>;tag=1", "To: <sip:b@y>;tag=2", "Call-ID: rr@test", "CSeq: 2 BYE", "Max-Forwards: 70", "Content-Length: 0", "", ""].join("\r\n");
  }

  it("loose routing: removes its own Route and sends to the next loose router, keeping the R-URI", () => {
    const { sent, inject } = setup(inDialog);
    inject(bye("sip:bob@10.9.9.9:5070", ["<sip:127.0.0.1:5060;lr>", "<sip:10.2.2.2:5080;lr>"]), UAC);
    const out = sent.find((s) => s.text.startsWith("BYE"))!;
    expect(out.dest).toEqual({ proto: "udp", address: "10.2.2.2", port: 5080 });
    expect(out.text.startsWith("BYE sip:bob@10.9.9.9:5070 SIP/2.0")).toBe(true);
    expect(out.text).not.toContain("Route: <sip:127.0.0.1:5060;lr>");
    expect(out.text).toContain("Route: <sip:10.2.2.2:5080;lr>");
  });

  it("strict router previous hop: the R-URI is ours, the remote target is restored from the last Route", () => {
    const { sent, inject } = setup(inDialog);
    inject(bye("sip:127.0.0.1:5060", ["<sip:bob@10.9.9.9:5070>"]), UAC);
    const out = sent.find((s) => s.text.startsWith("BYE"))!;
    expect(out.text.startsWith("BYE sip:bob@10.9.9.9:5070 SIP/2.0")).toBe(true);
    expect(out.dest).toEqual({ proto: "udp", address: "10.9.9.9", port: 5070 });
    expect(out.text).not.toContain("\r\nRoute:");
  });

  it("strict router next hop: it becomes the R-URI and the old R-URI goes last in Route", () => {
    const { sent, inject } = setup(inDialog);
    inject(bye("sip:bob@10.9.9.9:5070", ["<sip:127.0.0.1:5060;lr>", "<sip:10.3.3.3:5060>"]), UAC);
    const out = sent.find((s) => s.text.startsWith("BYE"))!;
    expect(out.text.startsWith("BYE sip:10.3.3.3:5060 SIP/2.0")).toBe(true);
    expect(out.dest).toEqual({ proto: "udp", address: "10.3.3.3", port: 5060 });
    expect(out.text).toContain("Route: <sip:bob@10.9.9.9:5070>");
  });

  it("replies to the sent-by port without rport when force_rport is off, to the source port with rport", () => {
    const script: RoutingScript = { request: (req) => void req.reply(200, "OK") };
    const { core, sent, inject } = setup(script);
    core.config.forceRport = false;
    const opt = (via: string) =>
      ["OPTIONS sip:127.0.0.1:5060 SIP/2.0", `Via: ${via}`, "From: <sip:a@x>;tag=1", "To: <sip:b@y>", "Call-ID: rp@test", "CSeq: 1 OPTIONS", "Content-Length: 0", "", ""].join("\r\n");
    inject(opt("SIP/2.0/UDP 10.1.1.1:5090;branch=z9hG4bK-r1"), { proto: "udp", address: "192.0.2.7", port: 40000 });
    expect(sent[0]!.dest).toEqual({ proto: "udp", address: "192.0.2.7", port: 5090 }); // received IP, sent-by port
    expect(sent[0]!.text).toContain("Via: SIP/2.0/UDP 10.1.1.1:5090;branch=z9hG4bK-r1;received=192.0.2.7\r\n");
    inject(opt("SIP/2.0/UDP 10.1.1.1:5090;branch=z9hG4bK-r2;rport"), { proto: "udp", address: "192.0.2.7", port: 40000 });
    expect(sent[1]!.dest).toEqual({ proto: "udp", address: "192.0.2.7", port: 40000 });
    expect(sent[1]!.text).toContain(";rport=40000;received=192.0.2.7\r\n");
  });

  it("detects a loop (482) when the request comes back with the branch it was sent with", () => {
    const { sent, inject } = setup(relayTo);
    inject(invite(), UAC);
    const fwd = sent.find((s) => s.text.startsWith("INVITE"))!.text;
    // the next hop sends it straight back to us, unchanged
    inject(fwd, UAS);
    const loop = sent.find((s) => s.text.startsWith("SIP/2.0 482"));
    expect(loop, "482 Loop Detected").toBeDefined();
    expect(loop!.dest).toEqual(UAS);
  });
});
