import { describe, expect, it } from "vitest";
import { parseMessage, StatGroup, type ListenSocket, type SipMessage } from "../../core/api.js";
import { createLogger } from "../../../lib/log/logger.js";
import { Topos } from "./hide.js";

/** topos rewrite logic on bytes, without sockets: what leaves toward each side, what comes back. */
const sock = { proto: "udp", viaHost: "192.0.2.1", viaPort: 5060 } as unknown as ListenSocket;
const dest = { proto: "udp", address: "127.0.0.1", port: 5070 } as const;
const mk = () => new Topos({ maskCallId: true, branchExpireMs: 60_000, dialogExpireMs: 600_000, contactHost: null, loadTimeoutMs: 100 }, null, new StatGroup("topos"), createLogger("topos"));
const parse = (b: Buffer | string): SipMessage => {
  const r = parseMessage(typeof b === "string" ? Buffer.from(b, "latin1") : b);
  if (!r.ok) throw new Error("unparseable");
  return r.msg;
};
const crlf = (lines: string[]) => lines.join("\r\n") + "\r\n\r\n";

/** The INVITE copy tm sends toward the callee: Olelo's Via on top of the caller's, Olelo's Record-Route. */
const invite = crlf([
  "INVITE sip:bob@127.0.0.1:5070 SIP/2.0",
  "Via: SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bKolelo1",
  "Via: SIP/2.0/UDP 10.0.0.5:5999;branch=z9hG4bKcaller1;rport=5999;received=10.0.0.5",
  "Record-Route: <sip:192.0.2.1:5060;lr>",
  "From: <sip:alice@a.example>;tag=ftag",
  "To: <sip:bob@b.example>",
  "Call-ID: secret@10.0.0.5",
  "CSeq: 1 INVITE",
  "Contact: <sip:alice@10.0.0.5:5999>",
  "Max-Forwards: 69",
  "Content-Length: 0",
]);

/** The callee's reply to that copy. */
const reply = (status: string, toTag: string, contact: string) =>
  crlf([`SIP/2.0 ${status}`, "Via: SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bKolelo1", "From: <sip:alice@a.example>;tag=ftag", `To: <sip:bob@b.example>;tag=${toTag}`, "Call-ID: tpsh-X", "CSeq: 1 INVITE", `Contact: ${contact}`, "Content-Length: 0"]);

describe("topos rewrite (hide.ts)", () => {
  it("an initial INVITE leaves with Olelo's Via only, no Record-Route, a btpsh- Contact and a masked Call-ID", () => {
    const t = mk();
    const out = parse(t.sending(Buffer.from(invite, "latin1"), dest, sock));
    expect(out.headerValues("via")).toEqual(["SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bKolelo1"]);
    expect(out.headerAll("record-route")).toEqual([]);
    expect(out.headerValues("contact")[0]).toMatch(/^<sip:btpsh-[0-9a-z]+@192\.0\.2\.1:5060>$/);
    expect(out.callId).toMatch(/^tpsh-/);
    expect(out.raw).not.toContain("10.0.0.5");
  });

  it("the reply gets the caller's Via and Call-ID back; a late reply of a losing fork does not change the dialog", () => {
    const t = mk();
    const hidden = parse(t.sending(Buffer.from(invite, "latin1"), dest, sock));
    const ok = t.received(parse(reply("200 OK", "b1", "<sip:bob@127.0.0.1:6001>").replace("tpsh-X", hidden.callId)), dest, sock) as SipMessage;
    expect(ok.headerValues("via")).toHaveLength(2);
    expect(ok.headerValues("via")[1]).toContain("branch=z9hG4bKcaller1");
    expect(ok.callId).toBe("secret@10.0.0.5");
    const late = t.received(parse(reply("180 Ringing", "b2", "<sip:bob@127.0.0.1:6002>").replace("tpsh-X", hidden.callId)), dest, sock) as SipMessage;
    expect(late.callId).toBe("secret@10.0.0.5");
    const uuid = /btpsh-([0-9a-z]+)@/.exec(hidden.headerValues("contact")[0]!)![1]!;
    expect(t.dialogs.get(uuid)?.bContact).toBe("sip:bob@127.0.0.1:6001");
    expect(t.dialogs.get(uuid)?.bTag).toBe("b1");
  });

  it("a 3xx keeps its Contact toward the caller; Record-Route only on the replies that set up the dialog", () => {
    const t = mk();
    t.sending(Buffer.from(invite.replace("z9hG4bKolelo1", "z9hG4bKolelo2"), "latin1"), dest, sock); // records the caller's branch
    // what tm relays to the caller (its own Via on top), for the 302, the 487 and a 180
    const toCaller = (status: string, contact: string) =>
      crlf([`SIP/2.0 ${status}`, "Via: SIP/2.0/UDP 10.0.0.5:5999;branch=z9hG4bKcaller1;rport=5999;received=10.0.0.5", "Record-Route: <sip:192.0.2.1:5060;lr>", "From: <sip:alice@a.example>;tag=ftag", "To: <sip:bob@b.example>;tag=b1", "Call-ID: secret@10.0.0.5", "CSeq: 1 INVITE", `Contact: ${contact}`, "Content-Length: 0"]);
    const moved = parse(t.sending(Buffer.from(toCaller("302 Moved", "<sip:dave@198.51.100.7>"), "latin1"), dest, sock));
    expect(moved.headerValues("contact")).toEqual(["<sip:dave@198.51.100.7>"]);
    expect(moved.headerAll("record-route")).toEqual([]);
    const ringing = parse(t.sending(Buffer.from(toCaller("180 Ringing", "<sip:bob@127.0.0.1:6001>"), "latin1"), dest, sock));
    expect(ringing.headerValues("contact")[0]).toMatch(/^<sip:atpsh-/);
    expect(ringing.headerValues("record-route")).toEqual(["<sip:192.0.2.1:5060;lr>"]);
    const terminated = parse(t.sending(Buffer.from(toCaller("487 Request Terminated", "<sip:bob@127.0.0.1:6001>"), "latin1"), dest, sock));
    expect(terminated.headerAll("record-route")).toEqual([]);
    expect(terminated.raw).not.toContain("6001");
  });
});
