import { describe, expect, it } from "vitest";
import type { Endpoint, RequestState, SipMessageView } from "../../core/api.js";
import { addContactAlias, aliasToUri, fixNatedContact, handleRuriAlias, receivedUri, setContactAlias, type ContactEditable } from "./contact-rewrite.js";
import { isRfc1918, sameIp } from "./ip-private.js";
import { NatTest, natUacTest, sdpAddresses } from "./nat-test.js";
import { parseNathelperParams } from "./params.js";
import { pingPlan } from "./keepalive.js";
import { Binding } from "../usrloc/api.js";

/** A message view with just what nathelper reads. */
function view(o: { via?: string; viaPort?: number | null; contact?: string; sdp?: string }): SipMessageView {
  const headers: Record<string, string[]> = { contact: o.contact ? [o.contact] : [] };
  return {
    topVia: { host: o.via ?? "10.0.0.5", port: o.viaPort === undefined ? 5060 : o.viaPort },
    headerAll: (n: string) => headers[n.toLowerCase()] ?? [],
    contentType: o.sdp ? "application/sdp" : null,
    body: o.sdp ?? "",
  } as unknown as SipMessageView;
}

const src = (address: string, port: number, proto: Endpoint["proto"] = "udp"): Endpoint => ({ proto, address, port });

describe("is_rfc1918", () => {
  it("knows RFC 1918, RFC 6598 and RFC 7335 ranges", () => {
    for (const ip of ["10.1.2.3", "172.16.0.1", "172.31.255.255", "192.168.7.7", "100.64.0.1", "100.127.255.254", "192.0.0.5"]) expect(isRfc1918(ip), ip).toBe(true);
    for (const ip of ["172.32.0.1", "8.8.8.8", "100.128.0.1", "192.169.0.1", "127.0.0.1", "::1", "fd00::1", "example.com"]) expect(isRfc1918(ip), ip).toBe(false);
    expect(isRfc1918("192.0.0.100", true)).toBe(true);
    expect(isRfc1918("192.0.0.100", false)).toBe(false);
  });

  it("compares IP literals (IPv6 written differently)", () => {
    expect(sameIp("2001:db8::1", "[2001:DB8:0:0:0:0:0:1]")).toBe(true);
    expect(sameIp("10.0.0.1", "10.0.0.2")).toBe(false);
  });
});

describe("nat_uac_test", () => {
  const t = (flags: number, v: Parameters<typeof view>[0], s = src("203.0.113.9", 40000), extra: { ruri?: string; dst?: string | null } = {}) =>
    natUacTest({ msg: view(v), source: s, ...extra }, flags);

  it("test 1: private Contact", () => {
    expect(t(NatTest.CONTACT_PRIVATE, { contact: "<sip:a@192.168.1.20:5060>" })).toBe(true);
    expect(t(NatTest.CONTACT_PRIVATE, { contact: "<sip:a@198.51.100.1:5060>" })).toBe(false);
    expect(t(NatTest.CONTACT_PRIVATE, { contact: "*" })).toBe(false);
  });

  it("test 2: Via host differs from the source; test 16: source port differs from the Via port", () => {
    expect(t(NatTest.VIA_RECEIVED, { via: "203.0.113.9" })).toBe(false);
    expect(t(NatTest.VIA_RECEIVED, { via: "192.168.1.20" })).toBe(true);
    expect(t(NatTest.VIA_RPORT, { via: "203.0.113.9", viaPort: 40000 })).toBe(false);
    expect(t(NatTest.VIA_RPORT, { via: "203.0.113.9", viaPort: null }, src("203.0.113.9", 5060))).toBe(false);
    expect(t(NatTest.VIA_RPORT, { via: "203.0.113.9", viaPort: 5060 })).toBe(true);
  });

  it("tests 4, 32, 64, 128: private Via, private source, WebSocket, Contact port", () => {
    expect(t(NatTest.VIA_PRIVATE, { via: "10.0.0.9" })).toBe(true);
    expect(t(NatTest.SOURCE_PRIVATE, {}, src("172.20.0.1", 5060))).toBe(true);
    expect(t(NatTest.SOURCE_PRIVATE, {})).toBe(false);
    expect(t(NatTest.WEBSOCKET, {}, src("203.0.113.9", 443, "wss"))).toBe(true);
    expect(t(NatTest.CONTACT_PORT, { contact: "<sip:a@203.0.113.9:40000>" })).toBe(false);
    expect(t(NatTest.CONTACT_PORT, { contact: "<sip:a@203.0.113.9>" })).toBe(true);
  });

  it("tests 8 and 256: SDP with a private address / another address than the source", () => {
    const sdp = "v=0\r\no=- 1 1 IN IP4 192.168.1.20\r\ns=-\r\nc=IN IP4 192.168.1.20\r\nt=0 0\r\nm=audio 4000 RTP/AVP 0\r\n";
    expect(sdpAddresses(sdp)).toEqual(["192.168.1.20"]);
    expect(t(NatTest.SDP_PRIVATE, { sdp })).toBe(true);
    expect(t(NatTest.SDP_CLINE, { sdp })).toBe(true);
    const pub = sdp.replace(/192\.168\.1\.20/g, "203.0.113.9");
    expect(t(NatTest.SDP_PRIVATE | NatTest.SDP_CLINE, { sdp: pub })).toBe(false);
  });

  it("test 512: $du differs from the R-URI", () => {
    expect(t(NatTest.DESTINATION, {}, undefined, { ruri: "sip:a@10.0.0.1:5060", dst: "sip:203.0.113.9:40000" })).toBe(true);
    expect(t(NatTest.DESTINATION, {}, undefined, { ruri: "sip:a@10.0.0.1:5060", dst: "sip:10.0.0.1" })).toBe(false);
    expect(t(NatTest.DESTINATION, {}, undefined, { ruri: "sip:a@10.0.0.1;transport=ws", dst: null })).toBe(true);
  });

  it("19 (Kamailio's default) combines 1, 2 and 16", () => {
    expect(t(19, { via: "203.0.113.9", viaPort: 40000, contact: "<sip:a@203.0.113.9:40000>" })).toBe(false);
    expect(t(19, { via: "203.0.113.9", viaPort: 40000, contact: "<sip:a@10.0.0.3:40000>" })).toBe(true);
  });
});

/** A Contact holder recording what replaceHeader wrote. */
function editable(contact: string, s = src("203.0.113.9", 40000)): ContactEditable & { written: string | null } {
  const e = {
    written: null as string | null,
    msg: view({ contact }),
    source: s,
    replaceHeader(name: string, index: number, value: string) {
      if (name !== "Contact" || index !== 0 || e.written !== null) return false;
      e.written = value;
      return true;
    },
  };
  return e;
}

describe("Contact fixing and aliases", () => {
  it("fix_nated_contact puts the source host:port into the first Contact, keeping parameters (maddr dropped)", () => {
    const e = editable('"A" <sip:a@192.168.1.20:5060;transport=udp;maddr=192.168.1.1>;expires=60, <sip:a@10.0.0.2>');
    expect(fixNatedContact(e)).toBe(1);
    expect(e.written).toBe('"A" <sip:a@203.0.113.9:40000;transport=udp>;expires=60, <sip:a@10.0.0.2>');
    expect(fixNatedContact(e)).toBe(-1); // a second rewrite of the same header is refused
  });

  it("add_contact_alias inserts ;alias after host:port unless the Contact is the source already", () => {
    const e = editable("sip:a@192.168.1.20:5060;ob");
    expect(addContactAlias(e)).toBe(1);
    // without <> the ;ob belongs to the header, not the URI (RFC 3261 §20.10)
    expect(e.written).toBe("<sip:a@192.168.1.20:5060;alias=203.0.113.9~40000~1>;ob");
    const same = editable("<sip:a@203.0.113.9:40000>");
    expect(addContactAlias(same)).toBe(2);
    expect(same.written).toBeNull();
    const tcp = editable("<sip:a@10.0.0.1>", src("2001:db8::7", 5070, "tcp"));
    expect(addContactAlias(tcp)).toBe(1);
    expect(tcp.written).toBe("<sip:a@10.0.0.1;alias=[2001:db8::7]~5070~2>");
  });

  it("set_contact_alias appends ;alias (trim replaces an old one)", () => {
    const e = editable("<sip:a@192.168.1.20:5060;alias=1.2.3.4~5~1;x=y>");
    expect(setContactAlias(e, true)).toBe(1);
    expect(e.written).toBe("<sip:a@192.168.1.20:5060;x=y;alias=203.0.113.9~40000~1>");
  });

  it("aliases decode back to destination URIs", () => {
    expect(aliasToUri("203.0.113.9~40000~1")).toBe("sip:203.0.113.9:40000");
    expect(aliasToUri("[2001:db8::7]~5070~2")).toBe("sip:[2001:db8::7]:5070;transport=tcp");
    expect(aliasToUri("203.0.113.9~40000~9")).toBeNull();
    expect(aliasToUri("junk")).toBeNull();
  });

  it("handle_ruri_alias moves the alias into $du and removes it from the R-URI", () => {
    const st = { ruri: "sip:a@192.168.1.20:5060;alias=203.0.113.9~40000~3;ob", dst: null as string | null };
    const req = {
      get ruri() {
        return st.ruri;
      },
      setRuri: (u: string) => (st.ruri = u),
      setDst: (d: string | null) => (st.dst = d),
    } as unknown as RequestState;
    expect(handleRuriAlias(req)).toBe(1);
    expect(st).toEqual({ ruri: "sip:a@192.168.1.20:5060;ob", dst: "sip:203.0.113.9:40000;transport=tls" });
    expect(handleRuriAlias(req)).toBe(2);
    st.ruri = "sip:a@h;alias=bad";
    expect(handleRuriAlias(req)).toBe(-1);
  });

  it("fix_nated_register's received URI names the transport except for UDP", () => {
    expect(receivedUri(src("203.0.113.9", 40000))).toBe("sip:203.0.113.9:40000");
    expect(receivedUri(src("2001:db8::1", 5061, "tls"))).toBe("sip:[2001:db8::1]:5061;transport=tls");
  });
});

describe("keep-alive plan and params", () => {
  it("pings the received address, else the contact; SIP pings follow the Path", () => {
    const b = new Binding("a", "r", { contact: "sip:a@192.168.1.20:5060", received: "sip:203.0.113.9:40000", expires: 0, q: -1, callid: "c", cseq: 1 }, 0);
    expect(pingPlan(b, false)).toMatchObject({ proto: "udp", address: "203.0.113.9", port: 40000 });
    b.received = null;
    expect(pingPlan(b, false)).toMatchObject({ address: "192.168.1.20", port: 5060 });
    b.path = "<sip:edge.example.com:5080;lr>";
    expect(pingPlan(b, true)).toMatchObject({ address: "edge.example.com", port: 5080, destination: "sip:edge.example.com:5080;lr" });
  });

  it("validates parameters with their names", () => {
    expect(parseNathelperParams({ natping_interval: 30, sipping_bflag: 7 })).toMatchObject({ natping_interval: 30, sipping_bflag: 7, sipping_method: "OPTIONS" });
    expect(() => parseNathelperParams({ natping_interval: -1 })).toThrow(/natping_interval/);
    expect(() => parseNathelperParams({ udp_keepalive: "x" })).toThrow(/udp_keepalive/);
    expect(() => parseNathelperParams({ bogus: 1 })).toThrow(/unknown parameter 'bogus'/);
  });
});
