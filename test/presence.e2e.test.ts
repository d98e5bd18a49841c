/**
 * Issue 17, presence and instant messaging with real processes (`npm start`'s data-plane/main.ts)
 * and sipp peers, default script with usrloc + registrar + dialog + presence + msilo:
 * - A subscribes to B's presence, B publishes "away" (SIP-ETag, refresh with SIP-If-Match, 412
 *   for a stale tag), A gets a NOTIFY with B's PIDF, then un-subscribes (terminated;reason=timeout);
 * - MWI: a message summary published through presence.publish_mwi reaches a subscribed phone;
 * - BLF: A watches B's dialog state, B gets a call: NOTIFYs trying / early / confirmed / terminated;
 * - MESSAGE to an online user is relayed to its contact (200), to an offline user stored (202)
 *   and delivered by Olelo at the user's next REGISTER.
 * Ports: a block of 40 from test/kit/ports.ts (freePortBlock).
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { rpcResult, startDataPlaneProcess, stopAllProcesses, waitUntil, type DataPlaneProcess } from "./helpers/processes.js";
import { runSipp, startSippServer } from "./helpers/sipp.js";
import { freePortBlock } from "./kit/ports.js";

const BASE = await freePortBlock(40);
let dp: DataPlaneProcess;
const rpc = <T = any>(m: string, p?: unknown) => rpcResult<T>(dp.rpcUrl, m, p);

beforeAll(async () => {
  dp = await startDataPlaneProcess({
    node: "pres-e2e",
    sipPort: BASE,
    controlPort: BASE + 1,
    controlPlane: `127.0.0.1:${BASE + 39}`, // no control plane: standalone
    settings: {},
    modules: { usrloc: {}, registrar: {}, dialog: {}, presence: { timer_period: 1 }, msilo: {} },
  });
}, 60_000);

afterAll(async () => {
  await stopAllProcesses();
});

const watchers = async (event: string) => (await rpc<Array<{ presentity: string }>>("presence.watcher_list", ["", event])).length;

describe("presence (PUBLISH / SUBSCRIBE / NOTIFY)", () => {
  it("A subscribes to B, B publishes away: A's NOTIFY carries B's PIDF; refresh and stale ETag; un-subscribe ends it", async () => {
    const watch = runSipp({
      scenario: "pres_watch.xml",
      port: BASE + 10,
      remote: `127.0.0.1:${BASE}`,
      calls: 1,
      templ: { pres_user: "bob", watcher: "alice", event: "presence", first_body: "NOTIFY", expect_body: "<note>away</note>", expect_ctype: "application/pidf\\+xml" },
    });
    await waitUntil("alice's subscription", async () => (await watchers("presence")) === 1, 10_000, [dp]);
    const pub = await runSipp({ scenario: "pres_publish.xml", port: BASE + 11, remote: `127.0.0.1:${BASE}`, calls: 1, templ: { pres_user: "bob", note: "away" } });
    expect([pub.successful, pub.failed], pub.errors + pub.stderr).toEqual([1, 0]);
    const w = await watch;
    expect([w.successful, w.failed], w.errors + w.stderr).toEqual([1, 0]);
    const list = await rpc<Array<{ presentity: string; event: string; body: string }>>("presence.presentity_list", ["presence"]);
    expect(list.map((p) => [p.presentity, p.event])).toEqual([["sip:bob@127.0.0.1", "presence"]]);
    expect(list[0]!.body).toContain("<note>away</note>");
    expect(await watchers("presence")).toBe(0);
    const st = await rpc<Record<string, number>>("stats.fetchn", ["presence:"]);
    expect(st["presence.publications_new"]).toBe(1);
    expect(st["presence.publications_refreshed"]).toBe(1);
    expect(st["presence.publish_412"]).toBe(1);
    expect(st["presence.subscriptions_ended"]).toBe(1);
    expect(st["presence.notify_sent"]).toBeGreaterThanOrEqual(3);
  }, 40_000);

  it("MWI: presence.publish_mwi reaches a phone subscribed to message-summary", async () => {
    const watch = runSipp({
      scenario: "pres_watch.xml",
      port: BASE + 12,
      remote: `127.0.0.1:${BASE}`,
      calls: 1,
      templ: { pres_user: "carol", watcher: "carol", event: "message-summary", first_body: "Messages-Waiting: no", expect_body: "Voice-Message: 2/8", expect_ctype: "application/simple-message-summary" },
    });
    await waitUntil("carol's MWI subscription", async () => (await watchers("message-summary")) === 1, 10_000, [dp]);
    const r = await rpc<{ etag: string }>("presence.publish_mwi", ["sip:carol@127.0.0.1", 2, 8]);
    expect(r.etag).toBe("mwi-carol@127.0.0.1");
    const w = await watch;
    expect([w.successful, w.failed], w.errors + w.stderr).toEqual([1, 0]);
  }, 40_000);

  it("refuses an unknown event package with 489 and a watcher of another domain with 403", async () => {
    const expectCode = (port: number, event: string, wdomain: string, code: string) =>
      runSipp({ scenario: "pres_subscribe_expect.xml", port, remote: `127.0.0.1:${BASE}`, calls: 1, templ: { pres_user: "bob", watcher: "eve", wdomain, event, code } });
    const bad = await expectCode(BASE + 13, "foo", "127.0.0.1", "489");
    expect([bad.successful, bad.failed], bad.errors + bad.stderr).toEqual([1, 0]);
    const other = await expectCode(BASE + 14, "presence", "elsewhere.example", "403");
    expect([other.successful, other.failed], other.errors + other.stderr).toEqual([1, 0]);
    const st = await rpc<Record<string, number>>("stats.fetchn", ["presence:"]);
    expect(st["presence.subscriptions_rejected"]).toBe(1);
  }, 30_000);
});

describe("BLF (event dialog)", () => {
  it("A watches B, B gets a call: NOTIFYs show trying, early, confirmed, terminated", async () => {
    const phone = await startSippServer({ scenario: "reg_uas_answer.xml", port: BASE + 20 });
    try {
      const reg = await runSipp({ scenario: "reg_add.xml", port: BASE + 21, remote: `127.0.0.1:${BASE}`, calls: 1, templ: { reg_user: "bert", reg_contact: `sip:bert@127.0.0.1:${BASE + 20}`, reg_cparams: "", reg_expires: "60" } });
      expect(reg.failed, reg.errors).toBe(0);
      const watch = runSipp({ scenario: "pres_watch_blf.xml", port: BASE + 22, remote: `127.0.0.1:${BASE}`, calls: 1, timeoutS: 20, templ: { pres_user: "bert", watcher: "anna" } });
      await waitUntil("anna's dialog subscription", async () => (await watchers("dialog")) === 1, 10_000, [dp]);
      const call = await runSipp({ scenario: "dlg_uac_call.xml", port: BASE + 23, remote: `127.0.0.1:${BASE}`, calls: 1, service: "bert" });
      expect([call.successful, call.failed], call.errors + call.stderr).toEqual([1, 0]);
      const w = await watch;
      expect([w.successful, w.failed], w.errors + w.stderr).toEqual([1, 0]);
    } finally {
      await phone.stop();
    }
  }, 40_000);
});

describe("MESSAGE and msilo", () => {
  it("relays a MESSAGE to an online user's contact (200)", async () => {
    const phone = await startSippServer({ scenario: "msg_uas.xml", port: BASE + 30, templ: { expect_body: "hello online" } });
    try {
      const reg = await runSipp({ scenario: "reg_add.xml", port: BASE + 31, remote: `127.0.0.1:${BASE}`, calls: 1, templ: { reg_user: "olga", reg_contact: `sip:olga@127.0.0.1:${BASE + 30}`, reg_cparams: "", reg_expires: "60" } });
      expect(reg.failed, reg.errors).toBe(0);
      const m = await runSipp({ scenario: "msg_send.xml", port: BASE + 32, remote: `127.0.0.1:${BASE}`, calls: 1, templ: { from_user: "alice", to_user: "olga", text: "hello online", code: "200" } });
      expect([m.successful, m.failed], m.errors + m.stderr).toEqual([1, 0]);
    } finally {
      const s = await phone.stop();
      expect(s.successful, s.errors).toBe(1);
    }
    expect(await rpc("msilo.dump", ["olga@127.0.0.1"])).toEqual([]);
  }, 40_000);

  it("stores a MESSAGE to an offline user (202) and delivers it at the user's next REGISTER", async () => {
    const m = await runSipp({ scenario: "msg_send.xml", port: BASE + 33, remote: `127.0.0.1:${BASE}`, calls: 1, templ: { from_user: "alice", to_user: "ivan", text: "while you were out", code: "202" } });
    expect([m.successful, m.failed], m.errors + m.stderr).toEqual([1, 0]);
    const stored = await rpc<Array<{ username: string; body: string; src_addr: string }>>("msilo.dump", ["ivan@127.0.0.1"]);
    expect(stored.length).toBe(1);
    expect(stored[0]!.body).toContain("while you were out");
    // ivan comes online: a phone at BASE + 35 registers, Olelo sends it the stored MESSAGE itself
    const phone = await startSippServer({ scenario: "msg_uas.xml", port: BASE + 35, templ: { expect_body: "while you were out" } });
    try {
      const reg = await runSipp({ scenario: "reg_add.xml", port: BASE + 34, remote: `127.0.0.1:${BASE}`, calls: 1, templ: { reg_user: "ivan", reg_contact: `sip:ivan@127.0.0.1:${BASE + 35}`, reg_cparams: "", reg_expires: "60" } });
      expect(reg.failed, reg.errors).toBe(0);
      await waitUntil("the phone took the stored MESSAGE", async () => phone.stats().successful === 1, 10_000, [dp]);
    } finally {
      const s = await phone.stop();
      expect([s.successful, s.failed], s.errors).toEqual([1, 0]);
    }
    await waitUntil("the stored message deleted after its 200", async () => (await rpc<unknown[]>("msilo.dump", ["ivan@127.0.0.1"])).length === 0, 5000, [dp]);
    const st = await rpc<Record<string, number>>("stats.fetchn", ["msilo:"]);
    expect(st["msilo.stored_messages"]).toBe(1);
    expect(st["msilo.dumped_messages"]).toBe(1);
  }, 40_000);
});
