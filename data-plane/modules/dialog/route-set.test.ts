import { describe, expect, it } from "vitest";
import { calleeRouteSet, callerRouteSet, didMatcher, firstHop, uriOfNameAddr } from "./route-set.js";

describe("route sets", () => {
  it("takes the URI out of name-addrs and addr-specs", () => {
    expect(uriOfNameAddr('"P" <sip:p.example;lr>;x=1')).toBe("sip:p.example;lr");
    expect(uriOfNameAddr("sip:p.example;x=1")).toBe("sip:p.example");
  });

  it("caller route set: the INVITE's Record-Route as received", () => {
    expect(callerRouteSet(["<sip:p2;lr>", "<sip:p1;lr>;h=1"])).toEqual(["<sip:p2;lr>", "<sip:p1;lr>"]);
  });

  it("callee route set: the 2xx entries above our own, nearest first, with single or double RR", () => {
    const own = ";did=a.1";
    expect(calleeRouteSet(["<sip:p4;lr>", "<sip:p3;lr>", "<sip:us;lr;did=a.1>", "<sip:p1;lr>"], own)).toEqual(["<sip:p3;lr>", "<sip:p4;lr>"]);
    expect(calleeRouteSet(["<sip:p3;lr>", "<sip:us-out;lr;did=a.1>", "<sip:us-in;lr;did=a.1>"], own)).toEqual(["<sip:p3;lr>"]);
    expect(calleeRouteSet(["<sip:us;lr;did=a.1>"], own)).toEqual([]);
    // another dialog id that only starts like ours is not ours
    expect(calleeRouteSet(["<sip:p3;lr>", "<sip:x;lr;did=a.10>"], own)).toEqual([]);
  });

  it("first hop: the first route, else the remote target", () => {
    expect(firstHop(["<sip:p3;lr>"], "sip:bob@h")).toBe("sip:p3;lr");
    expect(firstHop([], "sip:bob@h")).toBe("sip:bob@h");
  });

  it("finds the dialog id in a Route value", () => {
    const m = didMatcher("did");
    expect(m("<sip:127.0.0.1:5060;lr;did=1f.a0>")).toEqual({ hEntry: 0x1f, hId: 0xa0 });
    expect(m("<sip:127.0.0.1;did=3.4;lr>")).toEqual({ hEntry: 3, hId: 4 });
    expect(m("<sip:127.0.0.1;lr;xdid=3.4>")).toBeNull();
    expect(m("<sip:127.0.0.1;lr;did=3.4x>")).toBeNull();
    expect(didMatcher("dlg")("<sip:h;dlg=5.6>")).toEqual({ hEntry: 5, hId: 6 });
  });
});
