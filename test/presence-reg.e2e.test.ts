/**
 * Issue 17, the `reg` event package (RFC 3680) from usrloc, with the real `npm start` process
 * (data-plane/main.ts, default script, usrloc + registrar + presence) and sipp peers:
 * A subscribes to bob's `reg` state and gets the initial NOTIFY (bob not registered: no contact,
 * registration init), bob REGISTERs → NOTIFY with bob's contact active / registered, bob
 * unregisters (Expires: 0) → NOTIFY with the contact terminated / unregistered; versions 0, 1, 2.
 * A binding registered for 2 s → NOTIFY with the contact terminated / expired.
 * Without usrloc a `reg` SUBSCRIBE is refused with 489 (second data plane).
 * Ports: a block of 20 from test/kit/ports.ts (freePortBlock).
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { rpcResult, startDataPlaneProcess, stopAllProcesses, waitUntil, type DataPlaneProcess } from "./helpers/processes.js";
import { runSipp } from "./helpers/sipp.js";
import { freePortBlock } from "./kit/ports.js";

const BASE = await freePortBlock(20);
let dp: DataPlaneProcess;
let bare: DataPlaneProcess;
const rpc = <T = any>(m: string, p?: unknown) => rpcResult<T>(dp.rpcUrl, m, p);

beforeAll(async () => {
  [dp, bare] = await Promise.all([
    startDataPlaneProcess({
      node: "presreg-e2e",
      sipPort: BASE,
      controlPort: BASE + 1,
      controlPlane: `127.0.0.1:${BASE + 19}`, // no control plane: standalone
      settings: {},
      modules: { usrloc: {}, registrar: { min_expires: 0 }, presence: { timer_period: 1 } },
    }),
    startDataPlaneProcess({
      node: "presreg-bare",
      sipPort: BASE + 2,
      controlPort: BASE + 3,
      controlPlane: `127.0.0.1:${BASE + 19}`,
      settings: {},
      modules: { presence: {} },
    }),
  ]);
}, 60_000);

afterAll(async () => {
  await stopAllProcesses();
});

describe("presence: reg event package (RFC 3680) from usrloc", () => {
  it("A watches bob's registration: init, then registered, then unregistered", async () => {
    const bobPort = BASE + 11;
    const watch = runSipp({
      scenario: "pres_watch_reg.xml",
      port: BASE + 10,
      remote: `127.0.0.1:${BASE}`,
      calls: 1,
      timeoutS: 20,
      templ: { pres_user: "bob", pres_domain: "127.0.0.1", watcher: "alice", reg_uri: `sip:bob@127.0.0.1:${bobPort}`, end_event: "unregistered" },
    });
    await waitUntil(
      "alice's reg subscription",
      async () => (await rpc<Array<{ event: string }>>("presence.watcher_list", ["", "reg"])).length === 1,
      10_000,
      [dp],
    );
    await waitUntil("the initial NOTIFY", async () => (await rpc<Record<string, number>>("stats.fetchn", ["presence:"]))["presence.notify_sent"]! >= 1, 5000, [dp]);
    // bob registers (Expires 3600) and unregisters (Expires: 0) from the same phone
    const reg = await runSipp({ scenario: "reg_remove.xml", port: bobPort, remote: `127.0.0.1:${BASE}`, calls: 1, templ: { reg_user: "bob" } });
    expect([reg.successful, reg.failed], reg.errors + reg.stderr).toEqual([1, 0]);
    const w = await watch;
    expect([w.successful, w.failed], w.errors + w.stderr).toEqual([1, 0]);
    expect(await rpc<unknown[]>("presence.watcher_list", ["", "reg"])).toEqual([]);
    const st = await rpc<Record<string, number>>("stats.fetchn", ["presence:"]);
    expect(st["presence.subscriptions_new"]).toBe(1);
    expect(st["presence.subscriptions_ended"]).toBe(1);
    expect(st["presence.notify_sent"]).toBe(4); // init, registered, unregistered, the final one
    expect(st["presence.notify_failed"] ?? 0).toBe(0);
  }, 40_000);

  it("a binding that expires: NOTIFY with the contact terminated / expired", async () => {
    const phone = `sip:carl@127.0.0.1:${BASE + 14}`;
    const watch = runSipp({
      scenario: "pres_watch_reg.xml",
      port: BASE + 13,
      remote: `127.0.0.1:${BASE}`,
      calls: 1,
      timeoutS: 20,
      templ: { pres_user: "carl", pres_domain: "127.0.0.1", watcher: "alice", reg_uri: phone, end_event: "expired" },
    });
    await waitUntil(
      "alice's reg subscription to carl",
      async () => (await rpc<Array<{ presentity: string }>>("presence.watcher_list", ["sip:carl@127.0.0.1", "reg"])).length === 1,
      10_000,
      [dp],
    );
    const reg = await runSipp({ scenario: "reg_add.xml", port: BASE + 15, remote: `127.0.0.1:${BASE}`, calls: 1, templ: { reg_user: "carl", reg_contact: phone, reg_cparams: "", reg_expires: "2" } });
    expect([reg.successful, reg.failed], reg.errors + reg.stderr).toEqual([1, 0]);
    const w = await watch;
    expect([w.successful, w.failed], w.errors + w.stderr).toEqual([1, 0]);
  }, 40_000);

  it("without usrloc a reg SUBSCRIBE gets 489 Bad Event", async () => {
    const r = await runSipp({
      scenario: "pres_subscribe_expect.xml",
      port: BASE + 12,
      remote: `127.0.0.1:${BASE + 2}`,
      calls: 1,
      templ: { pres_user: "bob", watcher: "alice", wdomain: "127.0.0.1", event: "reg", code: "489" },
    });
    expect([r.successful, r.failed], r.errors + r.stderr).toEqual([1, 0]);
  }, 30_000);
});
