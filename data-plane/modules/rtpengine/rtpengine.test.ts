import { describe, expect, it } from "vitest";
import { bdecode, bencode, BencodeError } from "./bencode.js";
import { parseFlags } from "./flags.js";
import { callHash, parseSockParam, parseUrl, pickNode } from "./nodes.js";
import { isSdp, sdpMedia } from "./sdp.js";
import { compileRtpengine } from "../../../tables/rtpengine/rtpengine-table.js";

describe("bencode", () => {
  it("encodes the ng protocol's shapes with sorted keys", () => {
    expect(bencode({ command: "ping" }).toString()).toBe("d7:command4:pinge");
    expect(bencode({ b: 1, a: ["x", -3], "call-id": "c1" }).toString()).toBe("d1:al1:xi-3ee1:bi1e7:call-id2:c1e");
    expect(bencode({ sdp: "v=0\r\n" }).toString()).toBe("d3:sdp5:v=0\r\ne");
  });
  it("round-trips 8-bit bytes through latin1 strings", () => {
    const s = "caf\u00e9 \u00ff";
    const b = bencode({ s });
    expect(b.length).toBe("d1:s6:caf\u00e9 \u00ffe".length);
    expect(bdecode(b)).toEqual({ s });
  });
  it("decodes rtpengine's replies", () => {
    expect(bdecode("d6:result4:ponge")).toEqual({ result: "pong" });
    expect(bdecode("d6:result5:error12:error-reason15:Unknown call-ide")).toEqual({ result: "error", "error-reason": "Unknown call-id" });
    expect(bdecode("d4:listli0ei42eee")).toEqual({ list: [0, 42] });
  });
  it("refuses malformed input without throwing anything but BencodeError", () => {
    for (const bad of ["", "d", "d3:abc", "5:ab", "i01e", "i-0e", "ie", "l", "x", "d1:ai1ee junk", "di1ei2ee", "-1:a"]) {
      expect(() => bdecode(bad), bad).toThrow(BencodeError);
    }
    expect(() => bdecode("l".repeat(100) + "e".repeat(100))).toThrow(/too deep/);
  });
});

describe("flags", () => {
  it("maps Kamailio's words to ng keys", () => {
    const f = parseFlags("replace-origin replace-session-connection ICE=remove RTP/AVP trust-address direction=internal direction=external record-call");
    expect(f.dict).toEqual({
      replace: ["origin", "session-connection"],
      ICE: "remove",
      "transport-protocol": "RTP/AVP",
      flags: ["trust-address"],
      direction: ["internal", "external"],
      "record call": "yes",
    });
  });
  it("WebRTC side: ICE=force, SAVPF, DTLS, SDES and rtcp-mux lists", () => {
    const f = parseFlags("ICE=force UDP/TLS/RTP/SAVPF DTLS=passive SDES-off rtcp-mux-offer codec-strip-PCMA");
    expect(f.dict).toEqual({ ICE: "force", "transport-protocol": "UDP/TLS/RTP/SAVPF", DTLS: "passive", SDES: ["off"], "rtcp-mux": ["offer"], codec: { strip: ["PCMA"] } });
  });
  it("call identification overrides and via-branch", () => {
    const f = parseFlags("call-id=abc from-tag=f1 to-tag=t1 via-branch=1");
    expect([f.callId, f.fromTag, f.toTag, f.viaBranch]).toEqual(["abc", "f1", "t1", "1"]);
    expect(f.dict).toEqual({});
    expect(parseFlags(undefined).dict).toEqual({});
  });
});

describe("instances", () => {
  it("parses rtpengine_sock with weights and sets", () => {
    const ns = parseSockParam("udp:127.0.0.1:2223=2 udp:10.0.0.2:2223 ; 1 == udp6:[::1]:2224");
    expect(ns.map((n) => [n.setid, n.host, n.port, n.weight])).toEqual([
      [0, "127.0.0.1", 2223, 2],
      [0, "10.0.0.2", 2223, 1],
      [1, "::1", 2224, 1],
    ]);
    expect(() => parseSockParam("udp:nohost")).toThrow(/bad rtpengine_sock entry 'udp:nohost'/);
    expect(parseUrl("127.0.0.1:99999")).toBeNull();
  });
  it("picks by weight and call hash, skips disabled and down instances", () => {
    const ns = parseSockParam("udp:127.0.0.1:1=1 udp:127.0.0.1:2=3");
    const counts = [0, 0];
    for (let i = 0; i < 4000; i++) counts[pickNode(ns, `call-${i}`, 0) === ns[0] ? 0 : 1]!++;
    expect(counts[1]! / counts[0]!).toBeGreaterThan(2.4);
    expect(counts[1]! / counts[0]!).toBeLessThan(3.6);
    expect(pickNode(ns, "x", 0)).toBe(pickNode(ns, "x", 0));
    ns[1]!.downUntil = 1000;
    expect(pickNode(ns, "y", 999)).toBe(ns[0]);
    expect(pickNode(ns, "y", 1000)).not.toBeNull();
    ns[0]!.adminDisabled = true;
    expect(pickNode(ns, "y", 999)).toBeNull();
    expect(callHash("a")).not.toBe(callHash("b"));
  });
});

const OFFER = ["v=0", "o=- 1 1 IN IP4 10.0.0.1", "s=-", "c=IN IP4 10.0.0.1", "t=0 0", "m=audio 4000 RTP/AVP 0", "a=sendrecv", "m=video 0 RTP/AVP 96", "c=IN IP4 10.0.0.9", ""].join("\r\n");
const WEBRTC = [
  "v=0", "o=- 2 2 IN IP4 127.0.0.1", "s=-", "t=0 0", "a=fingerprint:sha-256 AA:BB", "m=audio 9 UDP/TLS/RTP/SAVPF 111", "c=IN IP4 0.0.0.0",
  "a=ice-ufrag:abcd", "a=ice-pwd:0123456789abcdef012345", "a=candidate:1 1 udp 2130706431 127.0.0.1 50000 typ host", "a=setup:actpass", "a=rtcp-mux", "",
].join("\r\n");

describe("SDP", () => {
  it("recognises SDP bodies", () => {
    expect(isSdp("application/sdp", OFFER)).toBe(true);
    expect(isSdp("Application/SDP; charset=x", OFFER)).toBe(true);
    expect(isSdp("application/sdp-x", OFFER)).toBe(false);
    expect(isSdp("text/plain", OFFER)).toBe(false);
    expect(isSdp("application/sdp", "")).toBe(false);
    expect(isSdp(null, OFFER)).toBe(false);
  });
  it("reads media ports, protocols, addresses, ICE and DTLS", () => {
    expect(sdpMedia(OFFER)).toEqual([
      { type: "audio", port: 4000, proto: "RTP/AVP", address: "10.0.0.1", ice: false, fingerprint: false, crypto: false, direction: "sendrecv" },
      { type: "video", port: 0, proto: "RTP/AVP", address: "10.0.0.9", ice: false, fingerprint: false, crypto: false, direction: null },
    ]);
    expect(sdpMedia(WEBRTC)[0]).toMatchObject({ proto: "UDP/TLS/RTP/SAVPF", ice: true, fingerprint: true, address: "0.0.0.0" });
    expect(sdpMedia("garbage\nm=audio x\n")).toEqual([{ type: "audio", port: 0, proto: "", address: null, ice: false, fingerprint: false, crypto: false, direction: null }]);
  });
});

describe("rtpengine table", () => {
  it("compiles rows with Kamailio's defaults", () => {
    expect(compileRtpengine({ rtpengine: [{ id: 1, setid: 0, url: "udp:127.0.0.1:2223", weight: 2, disabled: 0 }, { id: 2, url: "10.0.0.1:22222" }] })).toEqual([
      { id: 1, setid: 0, url: "udp:127.0.0.1:2223", weight: 2, disabled: false },
      { id: 2, setid: 0, url: "10.0.0.1:22222", weight: 1, disabled: false },
    ]);
  });
  it("refuses a bad row naming table, key and reason", () => {
    expect(() => compileRtpengine({ rtpengine: [{ id: 7, url: "tcp://x" }] })).toThrow(/rtpengine.*7.*url 'tcp:\/\/x' is not udp:host:port/);
    expect(() => compileRtpengine({ rtpengine: [{ id: 1, url: "udp:a:1" }, { id: 2, url: "udp:a:1" }] })).toThrow(/rtpengine.*2.*also row 1/);
    expect(() => compileRtpengine({ rtpengine: [{ id: 3, url: "udp:a:1", disabled: 2 }] })).toThrow(/rtpengine.*3.*disabled/);
  });
});
