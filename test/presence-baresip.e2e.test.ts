/**
 * Issue 17 with a real phone: two baresip UAs (presence module, contact `;presence=p2p`) register
 * at a data plane (`npm start`'s data-plane/main.ts, default script with usrloc + registrar +
 * presence + msilo). Both PUBLISH their PIDF; alice subscribes to bob; bob goes offline
 * (`presence_offline` over ctrl_tcp) and alice's baresip shows bob "Offline" (from the NOTIFY
 * Olelo sent); bob sends alice a MESSAGE (`message`), relayed to her registered contact (her SIP
 * trace shows it and her 200).
 * Ports: a block of 40 from test/kit/ports.ts (freePortBlock); baresip also binds TLS on sip port + 1.
 */
import { mkdtempSync, writeFileSync } from "node:fs";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { rpcResult, spawnCommand, startDataPlaneProcess, stopAllProcesses, waitUntil, type DataPlaneProcess, type TestProcess } from "./helpers/processes.js";
import { freePortBlock } from "./kit/ports.js";

const BASE = await freePortBlock(40);
let dp: DataPlaneProcess;
const phones: Record<string, { proc: TestProcess; ctrl: number }> = {};

/** A baresip with its own config dir: SIP on `sip`, ctrl_tcp on `ctrl`, one account at the data plane. */
function baresip(user: string, sip: number, ctrl: number, contacts: string): { proc: TestProcess; ctrl: number } {
  const dir = mkdtempSync(join(tmpdir(), `olelo-baresip-${user}-`));
  writeFileSync(
    join(dir, "config"),
    [
      `sip_listen 127.0.0.1:${sip}`,
      "module_path /usr/lib/baresip/modules",
      "module g711.so",
      "module ctrl_tcp.so",
      "module_app account.so",
      "module_app contact.so",
      "module_app menu.so",
      "module_app presence.so",
      `ctrl_tcp_listen 127.0.0.1:${ctrl}`,
      "audio_player aufile,/dev/null",
      "audio_source aufile,/dev/null",
      "",
    ].join("\n"),
  );
  writeFileSync(join(dir, "accounts"), `<sip:${user}@127.0.0.1:${BASE}>;regint=60;pubint=60\n`);
  writeFileSync(join(dir, "contacts"), contacts);
  return { proc: spawnCommand(`baresip ${user}`, "baresip", ["-s", "-f", dir]), ctrl };
}

/** One ctrl_tcp command (netstring JSON); resolves with baresip's response. */
function command(port: number, cmd: string, params = ""): Promise<{ ok: boolean; data: string }> {
  return new Promise((resolve, reject) => {
    const s = connect(port, "127.0.0.1");
    const msg = JSON.stringify({ command: cmd, params, token: "t" });
    let buf = "";
    s.on("connect", () => s.write(`${Buffer.byteLength(msg)}:${msg},`));
    s.on("data", (d) => {
      buf += d.toString();
      const colon = buf.indexOf(":");
      if (colon > 0 && buf.endsWith(",")) {
        s.end();
        resolve(JSON.parse(buf.slice(colon + 1, -1)) as { ok: boolean; data: string });
      }
    });
    s.on("error", reject);
    setTimeout(() => (s.destroy(), reject(new Error(`ctrl_tcp ${cmd}: no answer`))), 5000).unref();
  });
}

const registered = async (user: string) => {
  const r = await rpcResult<unknown>(dp.rpcUrl, "ul.lookup", ["location", `${user}@127.0.0.1`]).catch(() => null);
  return r !== null;
};

beforeAll(async () => {
  dp = await startDataPlaneProcess({
    node: "pres-baresip",
    sipPort: BASE,
    controlPort: BASE + 1,
    controlPlane: `127.0.0.1:${BASE + 39}`, // no control plane: standalone
    settings: {},
    modules: { usrloc: {}, registrar: {}, presence: {}, msilo: {} },
  });
  phones.bob = baresip("bob", BASE + 10, BASE + 15, `"Alice" <sip:alice@127.0.0.1:${BASE}>\n`);
  phones.alice = baresip("alice", BASE + 20, BASE + 25, `"Bob" <sip:bob@127.0.0.1:${BASE}>;presence=p2p\n`);
  await waitUntil("both phones registered", async () => (await registered("bob")) && (await registered("alice")), 20_000, [dp, phones.bob.proc, phones.alice.proc]);
}, 60_000);

afterAll(async () => {
  await stopAllProcesses();
});

describe("baresip presence and MESSAGE", () => {
  it("alice watches bob; bob goes offline: alice's baresip shows it from Olelo's NOTIFY", async () => {
    await waitUntil("alice subscribed to bob", async () => (await rpcResult<unknown[]>(dp.rpcUrl, "presence.watcher_list", ["sip:bob@127.0.0.1", "presence"])).length === 1, 15_000, [dp]);
    await waitUntil("bob's PIDF published", async () => (await rpcResult<Array<{ presentity: string }>>(dp.rpcUrl, "presence.presentity_list", ["presence"])).some((p) => p.presentity === "sip:bob@127.0.0.1"), 15_000, [dp]);
    expect((await command(phones.bob!.ctrl, "presence_offline")).ok).toBe(true);
    await waitUntil("alice sees bob offline", async () => /sip:bob@127\.0\.0\.1:\d+>? changed status from .*Online.* to .*Offline/.test(phones.alice!.proc.log()), 15_000, [dp]);
    const pubs = await rpcResult<Array<{ presentity: string; body: string }>>(dp.rpcUrl, "presence.presentity_list", ["presence"]);
    expect(pubs.filter((p) => p.presentity === "sip:bob@127.0.0.1").some((p) => /<basic>closed<\/basic>/.test(p.body))).toBe(true);
    const st = await rpcResult<Record<string, number>>(dp.rpcUrl, "stats.fetchn", ["presence:"]);
    expect(st["presence.notify_failed"]).toBe(0);
  }, 40_000);

  it("bob's MESSAGE reaches alice's registered baresip, which answers 200", async () => {
    expect((await command(phones.bob!.ctrl, "contact_next")).data).toContain("sip:alice@127.0.0.1");
    expect((await command(phones.bob!.ctrl, "message", "hello alice from baresip")).ok).toBe(true);
    await waitUntil("alice got the MESSAGE", async () => phones.alice!.proc.log().includes("hello alice from baresip"), 10_000, [dp]);
    // baresip's trace prints its 200 a moment after the request it answers
    await waitUntil("alice's answer in her trace", async () => {
      const l = phones.alice!.proc.log();
      return /SIP\/2\.0 200 OK[\s\S]*CSeq: \d+ MESSAGE/.test(l.slice(Math.max(0, l.lastIndexOf("MESSAGE sip:alice"))));
    }, 5_000, [dp]).catch(() => undefined);
    const log = phones.alice!.proc.log();
    const at = log.lastIndexOf("MESSAGE sip:alice");
    expect(at).toBeGreaterThanOrEqual(0);
    expect(log.slice(at)).toMatch(/SIP\/2\.0 200 OK[\s\S]*CSeq: \d+ MESSAGE/);
  }, 30_000);
});
