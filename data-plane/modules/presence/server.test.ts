import { describe, expect, it } from "vitest";
import { EventBus, StatsRegistry, createLogger, type UacRequestOptions } from "../../core/api.js";
import { aggregatePidf, eventName, simplePidf } from "./packages.js";
import { presenceParams } from "./params.js";
import { PresenceServer, nowS, splitRoutes } from "./server.js";
import { SubsStatus, type Presentity, type Watcher } from "./types.js";

function server(replyCode = 200) {
  const sent: UacRequestOptions[] = [];
  const events = new EventBus("t");
  const seen: string[] = [];
  events.subscribe(["presence.*"], (e) => seen.push(e.kind));
  const srv = new PresenceServer({
    params: presenceParams.parse({}),
    sip: { request: async (o) => (sent.push(o), { code: replyCode, reason: "x", latencyMs: 0 }), sendRaw: () => undefined },
    log: createLogger("presence-test"),
    events,
    stats: new StatsRegistry().group("presence"),
    db: null,
  });
  return { srv, sent, seen };
}

function watcher(over: Partial<Watcher> = {}): Watcher {
  const now = nowS();
  return {
    presentityUri: "sip:bob@example.com", watcherUsername: "alice", watcherDomain: "example.com", toUser: "bob", toDomain: "example.com",
    event: "presence", eventId: null, toTag: "tt", fromTag: "ft", callId: "c1", localCseq: 0, remoteCseq: 1,
    contact: "sip:alice@10.0.0.1:5060", recordRoute: "<sip:p1.example.com;lr>,<sip:p2.example.com;lr>", expires: now + 60,
    status: SubsStatus.ACTIVE, reason: null, version: 0, socketInfo: "udp:127.0.0.1:5060", localContact: "sip:127.0.0.1:5060",
    fromUser: "alice", fromDomain: "example.com", updated: now, updatedWinfo: now, flags: 0, userAgent: "", ...over,
  };
}

function pub(etag: string, note: string, receivedTime: number, expires = nowS() + 60): Presentity {
  return { username: "bob", domain: "example.com", event: "presence", etag, expires, receivedTime, body: simplePidf("sip:bob@example.com", "open", note).replace('id="olelo"', `id="${etag}"`), sender: "", priority: 0, ruid: etag };
}

describe("presence server", () => {
  it("aggregates the tuples of several publishers into one PIDF, newest first (RFC 3863)", () => {
    const body = aggregatePidf("sip:bob@example.com", [pub("a", "desk", 100), pub("b", "mobile", 200)])!;
    expect(body).toMatch(/^<\?xml[^>]*>\n<presence xmlns="urn:ietf:params:xml:ns:pidf" entity="sip:bob@example.com">/);
    expect(body.indexOf("mobile")).toBeLessThan(body.indexOf("desk"));
    expect(body.match(/<tuple/g)!.length).toBe(2);
    expect(aggregatePidf("sip:bob@example.com", [])).toBeNull();
  });

  it("sends NOTIFYs in the subscription dialog: tags swapped, route set, increasing CSeq, Subscription-State", async () => {
    const { srv, sent } = server();
    const w = watcher();
    srv.addWatcher(w);
    srv.putPublication(pub("a", "away", nowS()), null);
    srv.changed("sip:bob@example.com", "presence", false);
    await srv.notify(w, null);
    expect(sent.length).toBe(2);
    const n = sent[1]!;
    expect(n).toMatchObject({ method: "NOTIFY", uri: "sip:alice@10.0.0.1:5060", destination: "sip:p1.example.com;lr", from: "sip:bob@example.com", fromTag: "tt", toTag: "ft", callId: "c1", cseq: 2 });
    expect(n.routes).toEqual(["<sip:p1.example.com;lr>", "<sip:p2.example.com;lr>"]);
    expect(n.headers!["Subscription-State"]).toMatch(/^active;expires=(59|60)$/);
    expect(n.headers!["Content-Type"]).toBe("application/pidf+xml");
    expect(n.body).toContain("<note>away</note>");
  });

  it("on expiry: a final NOTIFY terminated;reason=timeout and the watcher is gone; an expired publication NOTIFYs the rest", async () => {
    const { srv, sent, seen } = server();
    srv.addWatcher(watcher({ expires: nowS() - 1 }));
    srv.addWatcher(watcher({ callId: "c2", toTag: "t2" }));
    srv.putPublication(pub("old", "gone", nowS() - 100, nowS() - 1), null);
    srv.sweep();
    await Promise.resolve();
    expect(srv.watchers.size).toBe(1);
    expect(sent.map((s) => [s.callId, s.headers!["Subscription-State"]!.split(";")[0]])).toEqual(
      expect.arrayContaining([["c1", "terminated"], ["c2", "active"]]),
    );
    expect(sent.find((s) => s.callId === "c1")!.headers!["Subscription-State"]).toBe("terminated;reason=timeout");
    expect(sent.find((s) => s.callId === "c2")!.body).toBeUndefined(); // nothing published any more
    expect(seen).toContain("presence.changed");
  });

  it("a 481 to a NOTIFY ends the subscription", async () => {
    const { srv } = server(481);
    const w = watcher();
    srv.addWatcher(w);
    expect(await srv.notify(w, null)).toBe(481);
    expect(srv.watchers.size).toBe(0);
  });

  it("watcher policy: same domain, allow list, all", () => {
    const mk = (cfg: Record<string, unknown>) => new PresenceServer({ ...server().srv.d, params: presenceParams.parse(cfg) });
    expect(mk({}).authorize("a", "example.com", "b", "EXAMPLE.com")).toBe(true);
    expect(mk({}).authorize("a", "other.net", "b", "example.com")).toBe(false);
    const l = mk({ watcher_policy: "allow_list", allow_list: "sip:carol@other.net, @partner.org" });
    expect(l.authorize("carol", "other.net", "b", "example.com")).toBe(true);
    expect(l.authorize("dave", "partner.org", "b", "example.com")).toBe(true);
    expect(l.authorize("dave", "other.net", "b", "example.com")).toBe(false);
    expect(mk({ watcher_policy: "all" }).authorize("x", "y.z", "b", "example.com")).toBe(true);
    expect(() => presenceParams.parse({ watcher_policy: "xcap" })).toThrow(/watcher_policy/);
  });

  it("presence.winfo: a change of the watcher list NOTIFYs the presentity's winfo subscriber (RFC 3858 body)", async () => {
    const { srv, sent } = server();
    srv.addWatcher(watcher({ event: "presence.winfo", callId: "w1", watcherUsername: "bob", fromUser: "bob" }));
    srv.addWatcher(watcher());
    srv.watchersChanged("sip:bob@example.com", "presence");
    await Promise.resolve();
    await Promise.resolve();
    const n = sent.find((x) => x.callId === "w1")!;
    expect(n.headers!["Content-Type"]).toBe("application/watcherinfo+xml");
    expect(n.body).toMatch(/<watcher-list resource="sip:bob@example.com" package="presence">\n<watcher [^>]*status="active">sip:alice@example.com<\/watcher>/);
  });

  it("parses Event headers and stored route sets", () => {
    expect(eventName("Presence;id=7")).toEqual({ name: "presence", id: "7" });
    expect(splitRoutes('<sip:a;lr>, "x, y" <sip:b;lr>')).toEqual(["<sip:a;lr>", '"x, y" <sip:b;lr>']);
  });
});
