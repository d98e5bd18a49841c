/**
 * The To-tag of local replies: built from the From tag without parsing From for plain From
 * values, the same tag the parsed From gives for every form (quoted names, case, white space,
 * addr-spec, tag-like URI parameters), so INVITE, its CANCEL and retransmissions keep one tag.
 */
import { describe, expect, it } from "vitest";
import { parseMessage } from "../sip/parse.js";
import { LOCAL_TAG_PREFIX, localToTag } from "./builders.js";
import { fnvHex } from "./hash.js";

function request(from: string, method = "OPTIONS"): ReturnType<typeof parseMessage> {
  return parseMessage(
    `${method} sip:127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP 10.0.0.1:5060;branch=z9hG4bK-x1\r\nFrom: ${from}\r\nTo: <sip:b@127.0.0.1>\r\nCall-ID: c1@h\r\nCSeq: 7 ${method}\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n`,
  );
}

const FROMS = [
  "<sip:a@h>;tag=abc",
  "<sip:a@h>;tag=abc;x=1",
  "sip:a@h;tag=abc",
  "Alice <sip:a@h>;tag=abc",
  '"Al;tag=zz" <sip:a@h>;tag=abc',
  "<sip:a@h;tag=uri>;tag=abc",
  "<sip:a@h>;TAG=abc",
  "<sip:a@h> ; tag = abc",
  "<sip:a@h>;x=1;tag=abc",
  "<sip:a@h>;xtag=1;tag=abc",
  "<sip:a@h>;tag=",
  "<sip:a@h>",
  "<sip:TAG@h>;tag=tagtag",
  "<sip:a@h>;tag=a.b-c_d!%*+`'~",
];

describe("localToTag", () => {
  for (const from of FROMS) {
    it(`equals the hash over the parsed From tag: ${from}`, () => {
      const r = request(from);
      expect(r.ok).toBe(true);
      if (!r.ok) return;
      const want = LOCAL_TAG_PREFIX + fnvHex("c1@h", r.msg.fromTag ?? "", "7", "z9hG4bK-x1");
      expect(localToTag(r.msg)).toBe(want);
    });
  }

  it("is the same for an INVITE and its CANCEL", () => {
    const inv = request("<sip:a@h>;tag=abc", "INVITE");
    const cancel = request("<sip:a@h>;tag=abc", "CANCEL");
    if (!inv.ok || !cancel.ok) throw new Error("parse");
    expect(localToTag(inv.msg)).toBe(localToTag(cancel.msg));
  });
});
