/**
 * Issue 15, topology hiding (topos, memory storage, mask_callid) through CANCEL, 3xx and forking,
 * over one real data plane process (data-plane/main.ts with usrloc + registrar + topos and the
 * default script's LOCATION route) and scripted UDP agents (test/helpers/raw-agent.ts) that choose
 * every reply and keep every message they receive (the callee-side capture):
 * - CANCEL: 180, CANCEL from the caller; the callee's CANCEL carries the hidden Via branch,
 *   Call-ID and tags of the INVITE it saw; the 487 reaches the caller with its own Via and
 *   Call-ID; tm's ACK for the 487 reaches the callee, the caller's ACK stops the 487;
 * - 3xx: the default script does not follow redirects (no get_redirects), so the 302 is relayed;
 *   its Contact is kept as the callee wrote it (Kamailio topos keeps 3xx Contacts too);
 * - forking: bob registered twice; both branches get hidden copies, one answers, the other gets
 *   a CANCEL for its own branch; BYE from the callee, then (second call) from the caller.
 * Every request the callees receive has one Via (Olelo's), no Record-Route, a btpsh- Contact and a
 * tpsh- Call-ID, and no capture on the callee side contains the caller's port, branches, Contact
 * or Call-ID. Ports: a block of 12 from test/kit/ports.ts (freePortBlock).
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { SipMessage } from "../data-plane/core/sip/message.js";
import { rpcResult, startDataPlaneProcess, stopAllProcesses, type DataPlaneProcess } from "./helpers/processes.js";
import { buildRequest, calleeSide, newBranch, RawAgent, type DialogSide } from "./helpers/raw-agent.js";
import { freePortBlock } from "./kit/ports.js";
import { letTimePass } from "./kit/wait.js";

const BASE = await freePortBlock(12);
const SIP = BASE;
let node: DataPlaneProcess;
const agents: RawAgent[] = [];

async function agent(off: number, user: string): Promise<RawAgent> {
  const a = new RawAgent(BASE + off, user);
  await a.open();
  agents.push(a);
  return a;
}

/** REGISTER `a` as `user` (one contact per agent; two agents under one user = two contacts). */
async function register(a: RawAgent, user: string): Promise<void> {
  const d: DialogSide = { callId: `reg-${a.port}@t`, localTag: a.tag, remoteTag: "", localUri: `sip:${user}@127.0.0.1:${SIP}`, remoteUri: `sip:${user}@127.0.0.1:${SIP}`, cseq: 1, target: `sip:127.0.0.1:${SIP}`, routes: [] };
  a.send(buildRequest(a, d, "REGISTER", newBranch(), 1, ["Expires: 600"]), SIP);
  expect((await a.reply("REGISTER", 200)).status).toBe(200);
}

/** The caller's side of a new call to `user`. */
function newCall(caller: RawAgent, user: string): DialogSide {
  return { callId: `${newBranch().slice(7)}-secret@10.1.2.3`, localTag: caller.tag, remoteTag: "", localUri: `sip:caller@caller.invalid`, remoteUri: `sip:${user}@127.0.0.1:${SIP}`, cseq: 1, target: `sip:${user}@127.0.0.1:${SIP}`, routes: [] };
}

/** What every message the callee side got must (not) show. */
function expectHidden(callee: RawAgent, caller: RawAgent, callerCallId: string, callerBranches: string[]): void {
  const all = callee.received.map((m) => m.raw).join("\n");
  expect(all).not.toContain(`:${caller.port}`);
  expect(all).not.toContain(caller.contact);
  expect(all).not.toContain(callerCallId);
  expect(all).not.toContain("10.1.2.3");
  for (const b of callerBranches) expect(all).not.toContain(b);
  for (const m of callee.received) {
    if (m.cseqOrNull?.method === "REGISTER") continue; // its own registration
    expect(m.callId, m.raw).toMatch(/^tpsh-/);
    expect(m.headerAll("record-route"), m.raw).toEqual([]);
    if (!m.isRequest) continue;
    expect(m.headerValues("via"), m.raw).toHaveLength(1);
    expect(m.topVia.host).toBe("127.0.0.1");
    expect(m.topVia.port).toBe(SIP);
    for (const c of m.headerValues("contact")) expect(c).toMatch(/^<sip:btpsh-[0-9a-z]+@127\.0\.0\.1:\d+>$/);
  }
}

const viaOf = (m: SipMessage) => m.headerValues("via");

beforeAll(async () => {
  node = await startDataPlaneProcess({
    node: "tps-edge",
    sipPort: SIP,
    controlPort: BASE + 1,
    controlPlane: `127.0.0.1:${BASE + 11}`,
    modules: { usrloc: {}, registrar: {}, topos: { mask_callid: 1 } },
    settings: {},
  });
}, 30_000);

afterAll(async () => {
  for (const a of agents) a.close();
  await stopAllProcesses();
});

describe("topos through CANCEL, 3xx and forking (one node, memory storage, mask_callid)", () => {
  it("CANCEL after 180: the callee's CANCEL matches the INVITE it saw; 487 and ACK flow; nothing leaks", async () => {
    const caller = await agent(2, "caller");
    const carol = await agent(3, "carol");
    await register(carol, "carol");
    const d = newCall(caller, "carol");
    const br = newBranch();
    caller.send(buildRequest(caller, d, "INVITE", br), SIP);
    const inv = await carol.request("INVITE");
    carol.answer(inv, SIP, 180, "Ringing", [`Contact: ${carol.contact}`]);
    const ringing = await caller.reply("INVITE", 180);
    expect(ringing.headerValues("contact")[0]).toMatch(/^<sip:atpsh-/);
    expect(ringing.callId).toBe(d.callId);

    caller.send(buildRequest(caller, d, "CANCEL", br), SIP);
    expect((await caller.reply("CANCEL", 200)).callId).toBe(d.callId);
    const cancel = await carol.request("CANCEL");
    expect(cancel.topVia.branch).toBe(inv.topVia.branch);
    expect(viaOf(cancel)).toEqual(viaOf(inv));
    expect(cancel.callId).toBe(inv.callId);
    expect(cancel.fromTag).toBe(inv.fromTag);
    expect(cancel.header("to")).toBe(inv.header("to"));
    expect(cancel.requestUri).toBe(inv.requestUri);
    expect(cancel.cseq.seq).toBe(inv.cseq.seq);
    carol.answer(cancel, SIP, 200, "OK");
    carol.answer(inv, SIP, 487, "Request Terminated");

    const ack = await carol.request("ACK"); // tm's hop-by-hop ACK for the 487
    expect(ack.topVia.branch).toBe(inv.topVia.branch);
    const terminated = await caller.reply("INVITE", 487);
    expect(terminated.topVia.branch).toBe(br);
    expect(viaOf(terminated)[0]).toContain(`127.0.0.1:${caller.port}`);
    expect(viaOf(terminated)).toHaveLength(1);
    expect(terminated.callId).toBe(d.callId);
    expect(terminated.headerAll("record-route")).toEqual([]);
    caller.send(buildRequest(caller, { ...d, remoteTag: terminated.toTag ?? "" }, "ACK", br), SIP);
    await letTimePass(1200, "T1 = 500 ms: an unACKed 487 would come again");
    expect(caller.received.filter((m) => m.status === 487)).toHaveLength(1);
    expect(carol.received.filter((m) => m.isRequest && m.method === "ACK")).toHaveLength(1); // the caller's ACK stays hop-by-hop
    expectHidden(carol, caller, d.callId, [br]);
  }, 20_000);

  it("3xx: the 302 reaches the caller with its Contact as the callee wrote it; nothing leaks toward the callee", async () => {
    const caller = await agent(4, "caller");
    const carol = await agent(5, "carol");
    await register(carol, "carol3xx");
    const d = newCall(caller, "carol3xx");
    const br = newBranch();
    caller.send(buildRequest(caller, d, "INVITE", br), SIP);
    const inv = await carol.request("INVITE");
    const target = "<sip:dave@192.0.2.10:5090>";
    carol.answer(inv, SIP, 302, "Moved Temporarily", [`Contact: ${target}`]);
    expect((await carol.request("ACK")).topVia.branch).toBe(inv.topVia.branch);
    const moved = await caller.reply("INVITE", 302);
    expect(moved.headerValues("contact")).toEqual([target]); // kept, as Kamailio's topos keeps 3xx Contacts
    expect(viaOf(moved)).toHaveLength(1);
    expect(moved.topVia.branch).toBe(br);
    expect(moved.callId).toBe(d.callId);
    expect(moved.raw).not.toContain(`:${carol.port}`);
    caller.send(buildRequest(caller, { ...d, remoteTag: moved.toTag ?? "" }, "ACK", br), SIP);
    await letTimePass(700, "an unACKed 302 would come again");
    expect(caller.received.filter((m) => m.status === 302)).toHaveLength(1);
    expectHidden(carol, caller, d.callId, [br]);
  }, 20_000);

  it.each(["callee", "caller"] as const)("forking to two contacts: both branches hidden, one answers, the other is cancelled; BYE from the %s", async (byeFrom) => {
    const off = byeFrom === "callee" ? 6 : 9;
    const caller = await agent(off, "caller");
    const b1 = await agent(off + 1, "bob");
    const b2 = await agent(off + 2, "bob");
    await register(b1, `bob${off}`);
    await register(b2, `bob${off}`);
    const d = newCall(caller, `bob${off}`);
    const br = newBranch();
    caller.send(buildRequest(caller, d, "INVITE", br), SIP);
    const [i1, i2] = await Promise.all([b1.request("INVITE"), b2.request("INVITE")]);
    expect(i1.topVia.branch).not.toBe(i2.topVia.branch);
    expect(i1.callId).toBe(i2.callId);
    b1.answer(i1, SIP, 180, "Ringing", [`Contact: ${b1.contact}`]);
    b2.answer(i2, SIP, 180, "Ringing", [`Contact: ${b2.contact}`]);
    await caller.reply("INVITE", 180);
    await caller.reply("INVITE", 180);
    b1.answer(i1, SIP, 200, "OK", [`Contact: ${b1.contact}`]);
    const ok = await caller.reply("INVITE", 200);
    // a late provisional of the other branch (crossing tm's CANCEL) must not take the dialog over
    b2.answer(i2, SIP, 180, "Ringing", [`Contact: ${b2.contact}`]);
    expect(ok.callId).toBe(d.callId);
    expect(viaOf(ok)).toHaveLength(1);
    expect(ok.raw).not.toContain(`:${b1.port}`);
    // the other branch: CANCEL of its own INVITE, 487, tm's ACK
    const c2 = await b2.request("CANCEL");
    expect(c2.topVia.branch).toBe(i2.topVia.branch);
    expect(c2.callId).toBe(i2.callId);
    b2.answer(c2, SIP, 200, "OK");
    b2.answer(i2, SIP, 487, "Request Terminated");
    expect((await b2.request("ACK")).topVia.branch).toBe(i2.topVia.branch);

    // the caller's dialog: Olelo's Record-Route and atpsh- Contact
    d.remoteTag = ok.toTag ?? "";
    d.target = (ok.headerValues("contact")[0] ?? "").replace(/^.*<([^>]*)>.*$/, "$1");
    d.routes = ok.headerValues("record-route").reverse();
    expect(d.target).toMatch(/^sip:atpsh-/);
    caller.send(buildRequest(caller, d, "ACK", newBranch()), SIP);
    const ack = await b1.request("ACK");
    expect(ack.callId).toBe(i1.callId);
    const branches = [br];
    if (byeFrom === "callee") {
      const s = calleeSide(i1, b1.tag);
      expect(s.target).toMatch(/^sip:btpsh-/);
      b1.send(buildRequest(b1, s, "BYE", newBranch(), 101), SIP);
      const bye = await caller.request("BYE");
      expect(bye.callId).toBe(d.callId);
      expect(bye.requestUri).toBe(`sip:caller@127.0.0.1:${caller.port}`);
      caller.answer(bye, SIP, 200, "OK", [], null);
      expect((await b1.reply("BYE", 200)).callId).toBe(i1.callId);
    } else {
      const bb = newBranch();
      branches.push(bb);
      caller.send(buildRequest(caller, d, "BYE", bb, 2), SIP);
      const bye = await b1.request("BYE");
      expect(bye.requestUri).toBe(`sip:bob@127.0.0.1:${b1.port}`);
      b1.answer(bye, SIP, 200, "OK", [], null);
      expect((await caller.reply("BYE", 200)).callId).toBe(d.callId);
    }
    expect(b2.received.filter((m) => m.isRequest && m.method === "BYE")).toEqual([]);
    for (const b of [b1, b2]) expectHidden(b, caller, d.callId, branches);
  }, 20_000);

  it("counts the dialogs and the restored messages", async () => {
    const st = await rpcResult<Record<string, number>>(node.rpcUrl, "stats.fetchn", ["topos:"]);
    expect(st["topos.dialogs"]).toBe(4);
    expect(st["topos.restored_requests"]).toBeGreaterThanOrEqual(4); // ACK + BYE of each forked call
  });
});
