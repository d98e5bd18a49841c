import { describe, expect, it } from "vitest";
import { EventBus, StatsRegistry, createLogger, type UacRequestOptions } from "../../core/api.js";
import { Usrloc, parseUsrlocParams } from "../usrloc/index.js";
import { presenceParams } from "./params.js";
import { REGINFO_NS, RegInfoSource, contactEventOf, reginfoBody } from "./reginfo.js";
import { PresenceServer, nowS } from "./server.js";
import { SubsStatus, type Watcher } from "./types.js";
import { letTimePass, waitUpTo } from "../../../test/kit/wait.js";

/** A strict little well-formedness check: balanced tags, quoted attributes, escaped text, one root. */
function wellFormed(xml: string): { root: string; attrs: Record<string, string>; names: string[] } {
  const body = xml.replace(/^<\?xml[^?]*\?>\s*/, "");
  const stack: string[] = [];
  const names: string[] = [];
  let root = "";
  let rootAttrs: Record<string, string> = {};
  let i = 0;
  while (i < body.length) {
    const lt = body.indexOf("<", i);
    const text = body.slice(i, lt < 0 ? body.length : lt);
    if (/[<>]|&(?!amp;|lt;|gt;|quot;|apos;)/.test(text)) throw new Error(`bad text '${text}'`);
    if (text.trim() !== "" && stack.length === 0) throw new Error("text outside the root");
    if (lt < 0) break;
    const gt = body.indexOf(">", lt);
    if (gt < 0) throw new Error("unclosed tag");
    const tag = body.slice(lt + 1, gt);
    i = gt + 1;
    if (tag.startsWith("/")) {
      const want = stack.pop();
      if (want !== tag.slice(1).trim()) throw new Error(`</${tag.slice(1)}> closes <${want}>`);
      continue;
    }
    const m = /^([A-Za-z_][\w.-]*)((?:\s+[A-Za-z_][\w:.+-]*="[^"<]*")*)\s*(\/?)$/.exec(tag);
    if (!m) throw new Error(`bad tag <${tag}>`);
    if (stack.length === 0) {
      if (root !== "") throw new Error("two roots");
      root = m[1]!;
      rootAttrs = Object.fromEntries([...m[2]!.matchAll(/([\w:.+-]+)="([^"]*)"/g)].map((a) => [a[1]!, a[2]!]));
    }
    names.push(m[1]!);
    if (m[3] !== "/") stack.push(m[1]!);
  }
  if (stack.length > 0) throw new Error(`unclosed <${stack.join("><")}>`);
  return { root, attrs: rootAttrs, names };
}

function setup() {
  const sent: UacRequestOptions[] = [];
  const events = new EventBus("t");
  const log = createLogger("reginfo-test");
  const srv = new PresenceServer({
    params: presenceParams.parse({}),
    sip: { request: async (o) => (sent.push(o), { code: 200, reason: "OK", latencyMs: 0 }), sendRaw: () => undefined },
    log,
    events,
    stats: new StatsRegistry().group("presence"),
    db: null,
  });
  const ul = new Usrloc({ params: parseUsrlocParams({}), events, log, store: null });
  const reg = new RegInfoSource(srv, ul, "location");
  srv.regInfo = reg;
  const now = nowS();
  const w: Watcher = {
    presentityUri: "sip:bob@example.com", watcherUsername: "alice", watcherDomain: "example.com", toUser: "bob", toDomain: "example.com",
    event: "reg", eventId: null, toTag: "tt", fromTag: "ft", callId: "c1", localCseq: 0, remoteCseq: 1,
    contact: "sip:alice@127.0.0.1:5070", recordRoute: null, expires: now + 60, status: SubsStatus.ACTIVE, reason: null, version: 0,
    socketInfo: "udp:127.0.0.1:5060", localContact: "sip:127.0.0.1:5060", fromUser: "alice", fromDomain: "example.com",
    updated: now, updatedWinfo: now, flags: 0, userAgent: "",
  };
  return { srv, ul, reg, sent, w, events };
}

const REG = { source: "udp:127.0.0.1:5099" };

describe("reg event package (RFC 3680)", () => {
  it("writes a well-formed reginfo document in the RFC 3680 namespace and element names", () => {
    const xml = reginfoBody(
      [{ aor: "sip:bob@example.com", id: "r1", state: "active", contacts: [
        { id: "c1", state: "active", event: "registered", expires: 3600, q: "0.5", callid: "a&b<c>", cseq: 7, uri: "sip:bob@10.0.0.1:5060;transport=udp", instance: '"<urn:uuid:1>"' },
        { id: "c2", state: "terminated", event: "unregistered", expires: 0, q: "", callid: "x", cseq: 2, uri: "sip:bob@10.0.0.2", instance: null },
      ] }],
      3,
      "full",
    );
    const doc = wellFormed(xml);
    expect(doc.root).toBe("reginfo");
    expect(doc.attrs).toEqual({ xmlns: REGINFO_NS, version: "3", state: "full" });
    expect(REGINFO_NS).toBe("urn:ietf:params:xml:ns:reginfo");
    expect(new Set(doc.names)).toEqual(new Set(["reginfo", "registration", "contact", "uri", "unknown-param"]));
    expect(xml).toContain('<registration aor="sip:bob@example.com" id="r1" state="active">');
    expect(xml).toContain('<contact id="c1" state="active" event="registered" expires="3600" q="0.5" callid="a&amp;b&lt;c&gt;" cseq="7">');
    expect(xml).toContain('<unknown-param name="+sip.instance">&quot;&lt;urn:uuid:1&gt;&quot;</unknown-param>');
    expect(xml).toContain('<contact id="c2" state="terminated" event="unregistered" expires="0" callid="x" cseq="2">');
    expect(() => wellFormed("<reginfo><registration></reginfo>")).toThrow();
    expect(wellFormed(reginfoBody([], 0, "full")).root).toBe("reginfo");
  });

  it("maps usrloc changes to contact events", () => {
    expect(contactEventOf({ kind: "added", source: "udp:1.2.3.4:5060" })).toBe("registered");
    expect(contactEventOf({ kind: "added", source: "rpc" })).toBe("created");
    expect(contactEventOf({ kind: "refreshed", source: "tcp:1.2.3.4:5060" })).toBe("refreshed");
    expect(contactEventOf({ kind: "removed", source: "udp:1.2.3.4:5060" })).toBe("unregistered");
    expect(contactEventOf({ kind: "removed", source: "rpc" })).toBe("deactivated");
    expect(contactEventOf({ kind: "expired", source: "timer" })).toBe("expired");
  });

  it("NOTIFYs the watchers of an AoR on each binding change with the full state and a growing version", async () => {
    const { srv, ul, sent, w } = setup();
    srv.addWatcher(w);
    await srv.notify(w, null);
    expect(sent[0]!.headers!["Content-Type"]).toBe("application/reginfo+xml");
    expect(sent[0]!.body).toContain('version="0" state="full"');
    expect(sent[0]!.body).toContain('<registration aor="sip:bob@example.com" id="');
    expect(sent[0]!.body).toMatch(/state="init">\n<\/registration>/);

    const t = ul.table("location");
    const b = t.insert("bob", { contact: "sip:bob@127.0.0.1:5099", expires: nowS() + 120, q: -1, callid: "reg-1", cseq: 1 }, REG);
    t.insert("carol", { contact: "sip:carol@127.0.0.1:5098", expires: nowS() + 120, q: -1, callid: "reg-2", cseq: 1 }, REG);
    await waitUpTo(() => sent.length >= 2, 1000);
    expect(sent.length).toBe(2); // carol has no watcher
    const n1 = sent[1]!.body as string;
    wellFormed(n1);
    expect(n1).toContain('version="1"');
    expect(n1).toMatch(/<registration [^>]*state="active">/);
    expect(n1).toMatch(new RegExp(`<contact id="${b.ruid}" state="active" event="registered" expires="(119|120)" callid="reg-1" cseq="1">\\n<uri>sip:bob@127.0.0.1:5099</uri>`));

    t.update(b, { contact: b.contact, expires: nowS() + 300, q: -1, callid: "reg-1", cseq: 2 }, REG);
    await waitUpTo(() => sent.length >= 3, 1000);
    expect(sent[2]!.body).toMatch(/state="active" event="refreshed" expires="(299|300)" callid="reg-1" cseq="2"/);

    t.remove(b, REG);
    await waitUpTo(() => sent.length >= 4, 1000);
    const n3 = sent[3]!.body as string;
    expect(n3).toContain('version="3"');
    expect(n3).toMatch(/<registration [^>]*state="terminated">/);
    expect(n3).toContain(`<contact id="${b.ruid}" state="terminated" event="unregistered" expires="0"`);
    // the terminated contact is reported once; the next full state is empty again
    await srv.notify(w, null);
    expect(sent[4]!.body).toMatch(/state="init">\n<\/registration>/);
    await ul.close();
  });

  it("sends one NOTIFY for the contacts one REGISTER changes, reports expiry, and stops after unwatch", async () => {
    const { srv, ul, sent, w } = setup();
    srv.addWatcher(w);
    const t = ul.table("location");
    const now = nowS();
    t.insert("bob", { contact: "sip:bob@10.0.0.1", expires: now + 60, q: 1000, callid: "a", cseq: 1 }, REG);
    const b2 = t.insert("bob", { contact: "sip:bob@10.0.0.2", expires: now + 1, q: 500, callid: "b", cseq: 1 }, REG);
    await waitUpTo(() => sent.length >= 1, 1000);
    expect(sent.length).toBe(1);
    expect((sent[0]!.body as string).match(/<contact /g)!.length).toBe(2);
    expect(sent[0]!.body).toContain('q="1"');
    t.expire(now + 2);
    await waitUpTo(() => sent.length >= 2, 1000);
    expect(sent[1]!.body).toContain(`<contact id="${b2.ruid}" state="terminated" event="expired"`);
    expect(sent[1]!.body).toMatch(/<registration [^>]*state="active">/);
    srv.removeWatcher(w);
    t.insert("bob", { contact: "sip:bob@10.0.0.3", expires: now + 60, q: -1, callid: "c", cseq: 1 }, REG);
    await letTimePass(5, "a NOTIFY to the removed watcher would be sent within this");
    expect(sent.length).toBe(2);
    await ul.close();
  });
});
