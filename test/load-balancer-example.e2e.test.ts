/**
 * The load-balancer example as an operator runs it (issue 20 §4): `npm start -- --config
 * etc/examples/load-balancer.json`, with only the sockets, the list file's ports and the state
 * directory moved to test ports. Two sipp UAS are the destinations. One is killed: every call
 * still gets its 200 in under 3 s (fr_timer 2 s then failover, and once continuous probing marked
 * it down no call goes there). It is restarted: probing (mode 1) marks it active again and it
 * receives calls. Ports: a block of 8 from test/kit/ports.ts (freePortBlock), P + offset.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { spawnCommand, waitUntil, type TestProcess } from "./helpers/processes.js";
import { UdpPeer, request, statusOf } from "./helpers/udp-peer.js";
import { flagsOf, rpc, startTracedUas, type TracedUas } from "./scripts/dispatcher-support.js";
import { freePortBlock } from "./kit/ports.js";

const P = await freePortBlock(8);
const SIP = P;
const CONTROL = P + 1;
const [A, B] = [P + 2, P + 3];
const uri = (port: number) => `sip:127.0.0.1:${port}`;

describe("etc/examples/load-balancer.json started with npm start", () => {
  const dir = mkdtempSync(join(tmpdir(), "olelo-ops-lb-"));
  const uas = new Map<number, TracedUas>();
  let proc: TestProcess;
  let peer: UdpPeer;
  let n = 0;

  const flags = async () => flagsOf((await rpc(CONTROL, "dispatcher.list")).result);

  /** One call: INVITE → 200 (ACKed through the Record-Route); resolves with the post-dial delay in ms. */
  const call = async (tag: string): Promise<number> => {
    const callId = `lb-${tag}-${++n}-${process.pid}@test`;
    const t0 = performance.now();
    peer.send(request("INVITE", `sip:${tag}@127.0.0.1:${SIP}`, { port: peer.port, callId }), SIP);
    const ok = await peer.wait((t) => t.includes(callId) && statusOf(t) === 200, 10_000);
    const pdd = performance.now() - t0;
    const routes = [...ok.matchAll(/^Record-Route: *(.+)$/gim)].map((m) => m[1]!.trim());
    const contact = /^Contact: *<([^>]+)>/im.exec(ok)?.[1] ?? `sip:127.0.0.1:${SIP}`;
    const to = /^To: *(.+)$/im.exec(ok)![1]!.trim();
    const ack = request("ACK", contact, { port: peer.port, callId, extra: routes.map((r) => `Route: ${r}`) }).replace(/^To: .*$/m, `To: ${to}`);
    peer.send(ack, SIP);
    return pdd;
  };

  beforeAll(async () => {
    const list = join(dir, "dispatcher.list");
    writeFileSync(list, `1 ${uri(A)} 8 0 duid=media1;weight=50\n1 ${uri(B)} 8 0 duid=media2;weight=50\n`);
    for (const p of [A, B]) uas.set(p, await startTracedUas(p, "ds_uas_answer.xml"));
    proc = spawnCommand("npm start (load balancer)", "npm", [
      "start",
      "--",
      "--config",
      "etc/examples/load-balancer.json",
      "--listen",
      `udp:127.0.0.1:${SIP}`,
      "--control",
      `127.0.0.1:${CONTROL}`,
      "--set",
      `modules.dispatcher.list_file=${list}`,
      "--set",
      `dataDir=${dir}`,
      "--log-level",
      "info",
    ]);
    peer = await UdpPeer.open(0);
    await waitUntil("npm start", () => proc.log().includes("olelo data plane running"), 30_000, [proc]);
    await waitUntil("both destinations active + probing", async () => [...(await flags()).values()].join() === "AP,AP", 10_000, [proc]);
  }, 60_000);
  afterAll(async () => {
    peer?.close();
    await proc?.stop();
    for (const u of uas.values()) await u.stop();
  });

  it("balances calls over both destinations", async () => {
    for (let i = 0; i < 4; i++) expect(await call("rr")).toBeLessThan(1000);
    expect(uas.get(A)!.invites("rr").length).toBe(2);
    expect(uas.get(B)!.invites("rr").length).toBe(2);
  });

  it("a killed destination: every call is answered in under 3 s, and probing marks it down", async () => {
    await uas.get(B)!.stop();
    const killedAt = performance.now();
    const delays: number[] = [];
    for (let i = 0; i < 4; i++) delays.push(await call("fo"));
    for (const d of delays) expect(d).toBeLessThan(3000);
    // the call that went to the dead box waited for fr_timer (2 s) and then failed over
    expect(Math.max(...delays)).toBeGreaterThan(1500);
    expect(uas.get(A)!.invites("fo").length).toBe(4);
    await waitUntil("B marked inactive by probing", async () => (await flags()).get(`1|${uri(B)}`)?.startsWith("I") === true, 10_000, [proc]);
    expect(performance.now() - killedAt).toBeLessThan(15_000);
    // once down, it costs no post-dial delay at all
    for (let i = 0; i < 3; i++) expect(await call("down")).toBeLessThan(1000);
    expect(uas.get(A)!.invites("down").length).toBe(3);
  }, 40_000);

  it("restarted: probing marks it active again and it receives calls", async () => {
    uas.set(B, await startTracedUas(B, "ds_uas_answer.xml"));
    // inactive_threshold 2 × ping_interval 2 s, plus a round in progress
    await waitUntil("B active again", async () => (await flags()).get(`1|${uri(B)}`) === "AP", 10_000, [proc]);
    for (let i = 0; i < 4; i++) expect(await call("back")).toBeLessThan(1000);
    expect(uas.get(B)!.invites("back").length).toBe(2);
    expect(uas.get(A)!.invites("back").length).toBe(2);
  }, 30_000);
});
