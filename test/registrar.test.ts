/**
 * Registrar and location service over real UDP sockets with raw SIP peers: RFC 3261 §10.3 rules
 * (CSeq order, retransmissions, expiry sources and limits, wildcard errors, q), max_contacts,
 * +sip.instance / reg-id, Path (RFC 3327) stored and used as Route, method filtering, save flags,
 * registered/unregister, serial forking through the API, the ul.* RPCs (positional and named),
 * events and statistics. Ports: a block of 100 from test/kit/ports.ts (freePortBlock).
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { join } from "node:path";
import { startProxy, TEST_SCRIPTS } from "./helpers/proxy.js";
import { UdpPeer, headerOf, statusOf } from "./helpers/udp-peer.js";
import type { DataPlane } from "../data-plane/node.js";
import { RpcError } from "../lib/rpc/errors.js";
import { captureEvents, register, usrlocOf } from "./scripts/registrar-helpers.js";
import { results } from "./scripts/registrar-api-test.js";
import { freePortBlock } from "./kit/ports.js";
import { waitUpTo } from "./kit/wait.js";

const P = await freePortBlock(100);
const SCRIPT = join(TEST_SCRIPTS, "registrar-api-test.ts");

async function proxy(port: number, registrar: Record<string, unknown> = {}, usrloc: Record<string, unknown> = {}): Promise<DataPlane> {
  return startProxy({ listen: [`udp:127.0.0.1:${port}`], modules: { usrloc, registrar }, script: { file: SCRIPT } });
}

/** Sends a REGISTER from `peer` and waits for its final reply. */
async function reg(peer: UdpPeer, proxyPort: number, o: Omit<Parameters<typeof register>[0], "proxyPort" | "viaPort">): Promise<string> {
  const text = register({ ...o, proxyPort, viaPort: peer.port });
  peer.send(text, proxyPort);
  return peer.wait((t) => t.startsWith("SIP/2.0") && !t.startsWith("SIP/2.0 100") && t.includes(`Call-ID: ${o.callId}\r\n`) && t.includes(`CSeq: ${o.cseq} REGISTER`));
}

/** A MESSAGE to `user` through the proxy; resolves with the final reply the sender sees. */
async function message(from: UdpPeer, proxyPort: number, user: string, callId: string, extra: string[] = []): Promise<string> {
  const text = [
    `MESSAGE sip:${user}@127.0.0.1:${proxyPort} SIP/2.0`,
    `Via: SIP/2.0/UDP 127.0.0.1:${from.port};branch=z9hG4bK-m${Math.random().toString(36).slice(2)};rport`,
    `From: <sip:tester@127.0.0.1>;tag=m1`,
    `To: <sip:${user}@127.0.0.1>`,
    `Call-ID: ${callId}`,
    `CSeq: 1 MESSAGE`,
    `Max-Forwards: 70`,
    ...extra,
    `Content-Length: 0`,
    ``,
    ``,
  ].join("\r\n");
  from.send(text, proxyPort);
  return from.wait((t) => t.startsWith("SIP/2.0") && !t.startsWith("SIP/2.0 1") && t.includes(`Call-ID: ${callId}\r\n`), 8000);
}

/** Makes a peer answer every request it gets with `code` (a registered phone). */
function answerAll(peer: UdpPeer, code = 200): void {
  peer.onMessage = (text, r) => {
    if (!text.startsWith("SIP/2.0") && !text.startsWith("ACK")) {
      const keep = text
        .split("\r\n")
        .filter((l) => /^(Via|From|Call-ID|CSeq|Record-Route):/i.test(l))
        .concat(text.split("\r\n").filter((l) => /^To:/i.test(l)).map((l) => `${l};tag=ph`));
      peer.send([`SIP/2.0 ${code} ${code === 200 ? "OK" : "Busy Here"}`, ...keep, "Content-Length: 0", "", ""].join("\r\n"), r.port, r.address);
    }
  };
}

const ctStatus = (t: string) => ({ status: statusOf(t), contact: headerOf(t, "Contact").join(", "), err: headerOf(t, "P-Registrar-Error")[0] });

describe("REGISTER rules (RFC 3261 §10.3, Kamailio registrar)", () => {
  let dp: DataPlane;
  let ua: UdpPeer;
  beforeAll(async () => {
    dp = await proxy(P, { max_expires: 7200, default_expires: 1200, max_contacts: 3 });
    ua = await UdpPeer.open(P + 1);
  });
  afterAll(async () => {
    ua?.close();
    await dp?.stop();
  });

  it("takes expires from the contact parameter, then the Expires header, then default_expires; clamps to max_expires", async () => {
    let r = ctStatus(await reg(ua, P, { user: "exp", callId: "exp-1", cseq: 1, contacts: ["<sip:exp@10.0.0.1>;expires=300", "<sip:exp@10.0.0.2>"], expires: 600 }));
    expect(r.status).toBe(200);
    expect(r.contact).toBe("<sip:exp@10.0.0.1>;expires=300, <sip:exp@10.0.0.2>;expires=600");
    r = ctStatus(await reg(ua, P, { user: "exp2", callId: "exp-2", cseq: 1, contacts: ["<sip:exp2@10.0.0.3>"] }));
    expect(r.contact).toBe("<sip:exp2@10.0.0.3>;expires=1200");
    r = ctStatus(await reg(ua, P, { user: "exp3", callId: "exp-3", cseq: 1, contacts: ["<sip:exp3@10.0.0.4>"], expires: 99999 }));
    expect(r.contact).toBe("<sip:exp3@10.0.0.4>;expires=7200");
  });

  it("answers a query (no Contact) with every binding, and leaves them alone", async () => {
    const r = ctStatus(await reg(ua, P, { user: "exp", callId: "q-1", cseq: 1, contacts: [] }));
    expect(r.status).toBe(200);
    expect(r.contact).toMatch(/^<sip:exp@10\.0\.0\.1>;expires=(300|299), <sip:exp@10\.0\.0\.2>;expires=(600|599)$/);
    expect(results.at(-1)).toEqual({ fn: "save", rc: 4 });
  });

  it("rejects an older CSeq of the same Call-ID with 400, and treats a quick repeat as a retransmission", async () => {
    await reg(ua, P, { user: "cs", callId: "cs-1", cseq: 5, contacts: ["<sip:cs@10.0.0.9>"], expires: 600 });
    let r = ctStatus(await reg(ua, P, { user: "cs", callId: "cs-1", cseq: 4, contacts: ["<sip:cs@10.0.0.9>"], expires: 900 }));
    expect(r.status).toBe(400);
    expect(r.err).toBe("Invalid CSeq number");
    expect(results.at(-1)).toEqual({ fn: "save", rc: -1 });
    r = ctStatus(await reg(ua, P, { user: "cs", callId: "cs-1", cseq: 5, contacts: ["<sip:cs@10.0.0.9>"], expires: 900 }));
    expect(r.status).toBe(200);
    expect(r.contact).toMatch(/expires=(600|599)$/); // unchanged: a retransmission is skipped
    // another Call-ID (the phone rebooted) may start at any CSeq
    r = ctStatus(await reg(ua, P, { user: "cs", callId: "cs-2", cseq: 1, contacts: ["<sip:cs@10.0.0.9>"], expires: 900 }));
    expect(r.contact).toBe("<sip:cs@10.0.0.9>;expires=900");
    expect(results.at(-1)).toEqual({ fn: "save", rc: 2 });
  });

  it("refuses malformed requests: '*' with Expires != 0, '*' mixed with contacts, bad q, bad Expires", async () => {
    let r = ctStatus(await reg(ua, P, { user: "bad", callId: "bad-1", cseq: 1, contacts: ["*"], expires: 60 }));
    expect([r.status, r.err]).toEqual([400, "* used in contact and expires is not zero"]);
    // '*' mixed with a contact is a malformed Contact: the core's parser refuses it already
    r = ctStatus(await reg(ua, P, { user: "bad", callId: "bad-2", cseq: 1, contacts: ["*", "<sip:bad@10.0.0.1>"], expires: 0 }));
    expect(r.status).toBe(400);
    r = ctStatus(await reg(ua, P, { user: "bad", callId: "bad-3", cseq: 1, contacts: ["<sip:bad@10.0.0.1>;q=1.5"], expires: 60 }));
    expect([r.status, r.err]).toEqual([400, "Invalid q param in contact"]);
    r = ctStatus(await reg(ua, P, { user: "bad", callId: "bad-4", cseq: 1, contacts: ["<sip:bad@10.0.0.1>"], expires: null, extra: ["Expires: soon"] }));
    expect(r.status).toBe(400); // the core's message checks refuse a non-numeric Expires already
    r = ctStatus(await reg(ua, P, { user: "bad", callId: "bad-5", cseq: 1, contacts: ["<sip:bad@10.0.0.1>"], expires: 60, extra: ["Require: foo-ext"] }));
    expect(r.status).toBe(420);
    expect(usrlocOf(dp).table("location").has("bad")).toBe(false);
  });

  it("enforces max_contacts with 503 and changes nothing", async () => {
    const ok = ctStatus(await reg(ua, P, { user: "many", callId: "many-1", cseq: 1, contacts: ["<sip:many@10.0.0.1>", "<sip:many@10.0.0.2>", "<sip:many@10.0.0.3>"], expires: 600 }));
    expect(ok.status).toBe(200);
    const r = await reg(ua, P, { user: "many", callId: "many-2", cseq: 1, contacts: ["<sip:many@10.0.0.4>"], expires: 600 });
    expect(ctStatus(r)).toMatchObject({ status: 503, err: "Too many registered contacts" });
    expect(headerOf(r, "Contact")[0]!.split(",").length).toBe(3);
    expect(results.at(-1)).toEqual({ fn: "save", rc: -2 });
    // replacing one within the limit works: remove .1 and add .4 in one request
    const swap = ctStatus(await reg(ua, P, { user: "many", callId: "many-3", cseq: 1, contacts: ["<sip:many@10.0.0.1>;expires=0", "<sip:many@10.0.0.4>"], expires: 600 }));
    expect(swap.status).toBe(200);
    expect(usrlocOf(dp).table("location").valid("many").map((b) => b.contact).sort()).toEqual(["sip:many@10.0.0.2", "sip:many@10.0.0.3", "sip:many@10.0.0.4"]);
  });

  it("keeps one binding per +sip.instance and reg-id (RFC 5626) and echoes them", async () => {
    const inst = '"<urn:uuid:00000000-0000-1000-8000-000A95A0E128>"';
    let r = await reg(ua, P, { user: "dev", callId: "dev-1", cseq: 1, contacts: [`<sip:dev@10.0.0.1:5060>;+sip.instance=${inst};reg-id=1`], expires: 600 });
    expect(headerOf(r, "Contact")[0]).toBe(`<sip:dev@10.0.0.1:5060>;expires=600;+sip.instance=${inst};reg-id=1`);
    // the device moved (new address, new Call-ID): same instance + reg-id → the binding is replaced
    r = await reg(ua, P, { user: "dev", callId: "dev-2", cseq: 1, contacts: [`<sip:dev@10.0.0.7:5062>;+sip.instance=${inst};reg-id=1`], expires: 600 });
    expect(headerOf(r, "Contact")[0]).toBe(`<sip:dev@10.0.0.7:5062>;expires=600;+sip.instance=${inst};reg-id=1`);
    // a second flow of the same instance (reg-id 2) is a second binding
    r = await reg(ua, P, { user: "dev", callId: "dev-2", cseq: 2, contacts: [`<sip:dev@10.0.0.8:5064>;+sip.instance=${inst};reg-id=2`], expires: 600 });
    expect(usrlocOf(dp).table("location").valid("dev").map((b) => [b.contact, b.regId])).toEqual([
      ["sip:dev@10.0.0.7:5062", 1],
      ["sip:dev@10.0.0.8:5064", 2],
    ]);
    const bad = ctStatus(await reg(ua, P, { user: "dev", callId: "dev-3", cseq: 1, contacts: [`<sip:dev@10.0.0.9>;+sip.instance=${inst};reg-id=abc`], expires: 600 }));
    expect([bad.status, bad.err]).toEqual([400, "Invalid Reg-Id number"]);
  });
});

describe("lookup, Path and method filtering", () => {
  let dp: DataPlane;
  let ua: UdpPeer;
  let phoneA: UdpPeer;
  let phoneB: UdpPeer;
  let edge: UdpPeer;
  beforeAll(async () => {
    dp = await proxy(P + 10, { use_path: 1, path_mode: 2, method_filtering: 1 });
    ua = await UdpPeer.open(P + 11);
    phoneA = await UdpPeer.open(P + 12);
    phoneB = await UdpPeer.open(P + 13);
    edge = await UdpPeer.open(P + 14);
    for (const p of [phoneA, phoneB, edge]) answerAll(p);
  });
  afterAll(async () => {
    for (const p of [ua, phoneA, phoneB, edge]) p?.close();
    await dp?.stop();
  });
  afterEach(() => {
    for (const p of [phoneA, phoneB, edge]) p.received.length = 0;
  });

  it("sends to the highest-q contact as R-URI and to the others as branches", async () => {
    await reg(ua, P + 10, { user: "fan", callId: "fan-1", cseq: 1, contacts: [`<sip:fan@127.0.0.1:${P + 12}>;q=0.4`, `<sip:fan@127.0.0.1:${P + 13}>;q=0.8`], expires: 600 });
    const r = await message(ua, P + 10, "fan", "fan-m1");
    expect(statusOf(r)).toBe(200);
    await waitUpTo(() => phoneA.received.length > 0 && phoneB.received.length > 0, 200);
    expect(phoneA.received.map((m) => m.text.split("\r\n")[0])).toEqual([`MESSAGE sip:fan@127.0.0.1:${P + 12} SIP/2.0`]);
    expect(phoneB.received.map((m) => m.text.split("\r\n")[0])).toEqual([`MESSAGE sip:fan@127.0.0.1:${P + 13} SIP/2.0`]);
    expect(results.at(-1)).toEqual({ fn: "lookup", rc: 1 });
  });

  it("requires Supported: path (path_mode 2) and answers with the Path", async () => {
    const path = `<sip:edge@127.0.0.1:${P + 14};lr>`;
    let r = await reg(ua, P + 10, { user: "pathy", callId: "path-1", cseq: 1, contacts: [`<sip:pathy@10.9.9.9:5070>`], expires: 600, extra: [`Path: ${path}`] });
    expect(statusOf(r)).toBe(420);
    expect(headerOf(r, "Unsupported")).toEqual(["path"]);
    expect(usrlocOf(dp).table("location").has("pathy")).toBe(false);
    r = await reg(ua, P + 10, { user: "pathy", callId: "path-1", cseq: 2, contacts: [`<sip:pathy@10.9.9.9:5070>`], expires: 600, extra: [`Path: ${path}`, "Supported: path"] });
    expect(statusOf(r)).toBe(200);
    expect(headerOf(r, "Path")).toEqual([path]);
    expect(usrlocOf(dp).table("location").valid("pathy")[0]!.path).toBe(path);
  });

  it("routes a request for a contact behind a Path through the Path (Route header, sent to the first hop)", async () => {
    const r = await message(ua, P + 10, "pathy", "path-m1");
    expect(statusOf(r)).toBe(200);
    const got = edge.received.find((m) => m.text.startsWith("MESSAGE"))!.text;
    expect(got.split("\r\n")[0]).toBe("MESSAGE sip:pathy@10.9.9.9:5070 SIP/2.0");
    expect(headerOf(got, "Route")).toEqual([`<sip:edge@127.0.0.1:${P + 14};lr>`]);
  });

  it("returns -2 (405) when no contact allows the method (method_filtering)", async () => {
    await reg(ua, P + 10, { user: "voice", callId: "voice-1", cseq: 1, contacts: [`<sip:voice@127.0.0.1:${P + 12}>`], expires: 600, extra: ["Allow: INVITE, ACK, BYE, CANCEL"] });
    const r = await message(ua, P + 10, "voice", "voice-m1");
    expect(statusOf(r)).toBe(405);
    expect(results.at(-1)).toEqual({ fn: "lookup", rc: -2 });
    const n = await message(ua, P + 10, "nobody", "nobody-m1");
    expect(statusOf(n)).toBe(404);
    expect(results.at(-1)).toEqual({ fn: "lookup", rc: -1 });
  });

  it("forks serially through loadContacts / nextContacts: 486 on the first group, then the next", async () => {
    answerAll(phoneB, 486);
    await reg(ua, P + 10, { user: "ser", callId: "ser-1", cseq: 1, contacts: [`<sip:ser@127.0.0.1:${P + 13}>;q=1.0`, `<sip:ser@127.0.0.1:${P + 12}>;q=0.1`], expires: 600 });
    results.length = 0;
    const r = await message(ua, P + 10, "ser", "ser-m1", ["X-Serial: 1"]);
    answerAll(phoneB, 200);
    expect(statusOf(r)).toBe(200);
    expect(results).toEqual([
      { fn: "lookup", rc: 1 },
      { fn: "loadContacts", rc: 1 },
      { fn: "nextContacts", rc: 1 },
      { fn: "nextContacts", rc: 1 },
    ]);
    expect(phoneB.received.filter((m) => m.text.startsWith("MESSAGE")).length).toBe(1);
    expect(phoneA.received.filter((m) => m.text.startsWith("MESSAGE")).length).toBe(1);
  });
});

describe("save flags, registered, unregister", () => {
  let dp: DataPlane;
  let ua: UdpPeer;
  beforeAll(async () => {
    dp = await proxy(P + 20);
    ua = await UdpPeer.open(P + 21);
  });
  afterAll(async () => {
    ua?.close();
    await dp?.stop();
  });

  it("0x04 keeps one contact per AoR; 0x02|0x10 prepares the reply for sendReply; X-Save-Uri picks the AoR", async () => {
    await reg(ua, P + 20, { user: "one", callId: "one-1", cseq: 1, contacts: ["<sip:one@10.0.0.1>", "<sip:one@10.0.0.2>"], expires: 600 });
    const r = await reg(ua, P + 20, { user: "one", callId: "one-2", cseq: 1, contacts: ["<sip:one@10.0.0.3>"], expires: 600, extra: ["X-Save-Flags: 4"] });
    expect(headerOf(r, "Contact")).toEqual(["<sip:one@10.0.0.3>;expires=600"]);
    const p = await reg(ua, P + 20, { user: "two", callId: "two-1", cseq: 1, contacts: ["<sip:two@10.0.0.1>"], expires: 600, extra: ["X-Save-Flags: 18"] });
    expect(statusOf(p)).toBe(200);
    expect(headerOf(p, "Contact")).toEqual(["<sip:two@10.0.0.1>;expires=600"]);
    await reg(ua, P + 20, { user: "whoever", callId: "uri-1", cseq: 1, contacts: ["<sip:x@10.0.0.5>"], expires: 600, extra: ["X-Save-Uri: sip:Other@example.com"] });
    expect(usrlocOf(dp).table("location").valid("other").map((b) => b.contact)).toEqual(["sip:x@10.0.0.5"]);
  });

  it("registered() and unregister() with and without ruid", async () => {
    const msg = (user: string, cid: string, extra: string[]) => message(ua, P + 20, user, cid, extra);
    expect(statusOf(await msg("registered", "r1", ["X-Check-Uri: sip:one@127.0.0.1"]))).toBe(200);
    expect(statusOf(await msg("registered", "r2", ["X-Check-Uri: sip:nobody@127.0.0.1"]))).toBe(404);
    const b = usrlocOf(dp).table("location").valid("one")[0]!;
    let r = await msg("unregister", "u1", ["X-Check-Uri: sip:one@127.0.0.1", "X-Ruid: nope"]);
    expect(headerOf(r, "X-Rc")).toEqual(["-3"]);
    r = await msg("unregister", "u2", ["X-Check-Uri: sip:one@127.0.0.1", `X-Ruid: ${b.ruid}`]);
    expect(headerOf(r, "X-Rc")).toEqual(["1"]);
    expect(usrlocOf(dp).table("location").has("one")).toBe(false);
    r = await msg("unregister", "u3", ["X-Check-Uri: sip:two@127.0.0.1"]);
    expect(headerOf(r, "X-Rc")).toEqual(["1"]);
    expect(statusOf(await msg("registered", "r3", ["X-Check-Uri: sip:two@127.0.0.1"]))).toBe(404);
  });
});

describe("ul.* RPCs, events and statistics", () => {
  let dp: DataPlane;
  let ua: UdpPeer;
  const call = (m: string, params: unknown) => dp.rpc.call(m, params, { transport: "internal" });
  beforeAll(async () => {
    dp = await proxy(P + 30, { max_expires: 3600, max_contacts: 10 });
    ua = await UdpPeer.open(P + 31);
  });
  afterAll(async () => {
    ua?.close();
    await dp?.stop();
  });

  it("ul.add with Kamailio's positional parameters and with named ones", async () => {
    const ev = captureEvents(dp, ["registration.*"]);
    await call("ul.add", ["location", "Alice", "sip:alice@10.1.1.1:5060", "600", "0.5", ".", "0", "64", "4294967295", "sip:198.51.100.7:40000", "udp:127.0.0.1:22030"]);
    await call("ul.add", { table: "location", aor: "alice@example.com", contact: "sip:alice@10.1.1.2", expires: 0, q: 1, path: "<sip:edge.example.com;lr>", flags: 0, cflags: 0, methods: -1 });
    ev.stop();
    const bs = usrlocOf(dp).table("location").valid("alice");
    expect(bs.map((b) => [b.contact, b.q, b.expires === 0, b.received, b.socket, b.cflags, b.path])).toEqual([
      ["sip:alice@10.1.1.2", 1000, true, null, null, 0, "<sip:edge.example.com;lr>"],
      ["sip:alice@10.1.1.1:5060", 500, false, "sip:198.51.100.7:40000", "udp:127.0.0.1:22030", 64, null],
    ]);
    expect(ev.events.map((e) => [e.kind, e.data.source, e.data.aor])).toEqual([
      ["registration.added", "rpc", "alice"],
      ["registration.added", "rpc", "alice"],
    ]);
    // same contact again: an update (received not given: cleared, as Kamailio), not a second binding
    await call("ul.add", ["location", "alice", "sip:alice@10.1.1.1:5060", "900", "0.5", ".", "0", "64", "4294967295"]);
    expect(usrlocOf(dp).table("location").valid("alice").length).toBe(2);
    expect(usrlocOf(dp).table("location").valid("alice")[1]!.received).toBeNull();
  });

  it("rejects bad ul.add parameters naming the parameter", async () => {
    await expect(call("ul.add", ["location", "bob", "sip:bob@x", "abc", "1", ".", "0", "0", "0"])).rejects.toThrow(/'expires'/);
    await expect(call("ul.add", ["location", "bob", "sip:bob@x", "60", "2", ".", "0", "0", "0"])).rejects.toThrow(/'q'/);
    await expect(call("ul.add", ["location", "bob", "sip:bob@x"])).rejects.toThrow(/missing parameter 'expires'/);
    await expect(call("ul.add", { table: "nosuch", aor: "bob", contact: "sip:bob@x", expires: 60, q: 1, path: ".", flags: 0, cflags: 0, methods: 0 })).rejects.toThrow(
      "Domain table not found",
    );
  });

  it("ul.lookup / ul.dump return Kamailio's shapes", async () => {
    const l = (await call("ul.lookup", ["location", "alice@anything"])) as { AoR: string; Contacts: Array<{ Contact: Record<string, unknown> }> };
    expect(l.AoR).toBe("alice");
    const c = l.Contacts.find((x) => x.Contact.Address === "sip:alice@10.1.1.1:5060")!.Contact;
    expect(Object.keys(c)).toEqual([
      "Address", "Expires", "Q", "Call-ID", "CSeq", "User-Agent", "Received", "Path", "State", "Flags", "CFlags", "Socket", "Methods", "Ruid",
      "Instance", "Reg-Id", "Server-Id", "Tcpconn-Id", "Keepalive", "Last-Keepalive", "KA-Roundtrip", "Last-Modified",
    ]);
    expect(c).toMatchObject({ Q: 0.5, "Call-ID": "dfjrewr12386fd6-343@kamailio.rpc", CSeq: 1, Received: "[not set]", Path: "[not set]", CFlags: 64, Methods: 4294967295, Instance: "[not set]" });
    expect(c.Expires as number).toBeGreaterThan(890);
    expect(l.Contacts.find((x) => x.Contact.Address === "sip:alice@10.1.1.2")!.Contact.Expires).toBe("permanent");
    await expect(call("ul.lookup", ["location", "nobody"])).rejects.toThrow("AOR not found in location table");
    const d = (await call("ul.dump", [])) as { Domains: Array<{ Domain: { Domain: string; Size: number; AoRs: unknown[]; Stats: { Records: number; "Max-Slots": number } } }> };
    const dom = d.Domains[0]!.Domain;
    expect(dom.Domain).toBe("location");
    expect(dom.Stats.Records).toBe(dom.AoRs.length);
    const info = (dom.AoRs as Array<{ Info: { AoR: string; HashID: number; Contacts: unknown[] } }>).find((a) => a.Info.AoR === "alice")!;
    expect(info.Info.Contacts.length).toBe(2);
    expect(typeof info.Info.HashID).toBe("number");
    const brief = (await call("ul.dump", ["brief"])) as { Domains: Array<{ Domain: { AoRs: unknown[] } }> };
    expect(brief.Domains[0]!.Domain.AoRs).toContainEqual({ AoR: "alice" });
  });

  it("ul.rm_contact and ul.rm remove bindings with events; db RPCs need a database", async () => {
    const ev = captureEvents(dp, ["registration.removed"]);
    await expect(call("ul.rm_contact", ["location", "alice", "sip:alice@10.9.9.9"])).rejects.toMatchObject({ code: 404, message: "Contact not found" });
    await call("ul.rm_contact", { table: "location", aor: "alice", contact: "sip:alice@10.1.1.2" });
    expect(usrlocOf(dp).table("location").valid("alice").length).toBe(1);
    await call("ul.rm", ["location", "alice"]);
    expect(usrlocOf(dp).table("location").has("alice")).toBe(false);
    ev.stop();
    expect(ev.events.length).toBe(2);
    await expect(call("ul.db_users", ["location"])).rejects.toThrow("Command is not supported in db_mode=0");
    await expect(call("ul.flush", [])).resolves.toBeNull();
    await expect(call("ul.rm", ["location", "alice"])).resolves.toBeNull();
    expect(RpcError).toBeDefined();
  });

  it("counts users, contacts and registrations with Kamailio's statistic names", async () => {
    await reg(ua, P + 30, { user: "s1", callId: "s1", cseq: 1, contacts: ["<sip:s1@10.0.0.1>", "<sip:s1@10.0.0.2>"], expires: 600 });
    await reg(ua, P + 30, { user: "s2", callId: "s2", cseq: 1, contacts: ["<sip:s2@10.0.0.1>"], expires: 600 });
    await reg(ua, P + 30, { user: "s3", callId: "s3", cseq: 1, contacts: ["<sip:s3@10.0.0.1>"], expires: 5 });
    const st = Object.fromEntries(dp.stats.select("all").filter(([k]) => k.startsWith("usrloc:") || k.startsWith("registrar:")));
    expect(st).toMatchObject({
      "usrloc:registered_users": 2,
      "usrloc:location-users": 2,
      "usrloc:location-contacts": 3,
      "usrloc:location-expires": 0,
      "registrar:accepted_regs": 2,
      "registrar:rejected_regs": 1,
      "registrar:max_expires": 3600,
      "registrar:max_contacts": 10,
      "registrar:default_expire": 3600,
      "registrar:default_expires_range": 0,
      "registrar:expires_range": 0,
    });
  });
});
