/**
 * `workers: 2` through the real `npm start` path: two worker threads share the SIP sockets
 * (SO_REUSEPORT). sipp calls over UDP (one socket per call, so calls land on both workers) and
 * TCP, CANCEL, a REGISTER through one worker and calls to it through both, pike banning a flood
 * from one address sent from many source ports (the limit holds node-wide), RPC statistics summed,
 * a worker stopped and restarted by the node (core.workers, event, metric) while calls go on.
 * Ports: a block of 100 from test/kit/ports.ts (freePortBlock), P + offset.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createSocket, type Socket } from "node:dgram";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePortBlock } from "./kit/ports.js";
import { waitUntil, letTimePass } from "./kit/wait.js";
import { rpcResult, type TestProcess } from "./helpers/processes.js";
import { startWorkersNode, workerStat } from "./helpers/workers-node.js";
import { runSipp, startSippServer, type SippServer } from "./helpers/sipp.js";

const P = await freePortBlock(100);
const RELAY = P; // node 1: relay to the UAS
const REG = P + 10; // node 2: registrar
const PIKE = P + 20; // node 3: pike
const UAS = P + 30;
const REG_UAS = P + 31;

interface Node extends TestProcess {
  rpc: string;
}

async function startNode(name: string, sip: number, control: number, extra: Record<string, unknown>): Promise<Node> {
  const dir = mkdtempSync(join(tmpdir(), `olelo-workers-${name}-`));
  const file = join(dir, "olelo.json");
  writeFileSync(
    file,
    JSON.stringify({ node: name, workers: 2, listen: [`udp:127.0.0.1:${sip}`, `tcp:127.0.0.1:${sip}`], control: { listen: `127.0.0.1:${control}` }, dataDir: join(dir, "data"), log: { level: "warn" }, ...extra }),
  );
  return startWorkersNode(name, file, control);
}

/** Per-worker value of one statistic (core.worker_stats over stats.get_statistics). */
async function perWorker(n: Node, stat: string): Promise<number[]> {
  return workerStat(n.rpc, stat);
}

let relay: Node;
let reg: Node;
let pike: Node;
let uas: SippServer;
let regUas: SippServer | null = null;

beforeAll(async () => {
  uas = await startSippServer({ scenario: "uas_ring_cancel.xml", port: UAS });
  [relay, reg, pike] = await Promise.all([
    startNode("w-relay", RELAY, P + 80, { script: { settings: { nextHop: `sip:127.0.0.1:${UAS + 40}` } } }),
    startNode("w-reg", REG, P + 81, { modules: { usrloc: { db_mode: 0 }, registrar: {} } }),
    startNode("w-pike", PIKE, P + 82, { modules: { pike: { reqs_density_per_unit: 16, sampling_time_unit: 2, remove_latency: 4 } } }),
  ]);
}, 90_000);

afterAll(async () => {
  await uas?.stop();
  await regUas?.stop();
  await Promise.all([relay?.stop(), reg?.stop(), pike?.stop()]);
});

describe("workers: 2, shared sockets", () => {
  let answer: SippServer;
  beforeAll(async () => {
    answer = await startSippServer({ scenario: "uas_rr.xml", port: UAS + 40 });
  });
  afterAll(async () => {
    await answer?.stop();
  });

  it("carries 100 UDP calls (one socket per call) with 0 failed, on both workers; stats.get_statistics sums them", async () => {
    const before = await perWorker(relay, "core:rcv_requests_invite");
    const r = await runSipp({ scenario: "uac_rr.xml", port: P + 40, remote: `127.0.0.1:${RELAY}`, calls: 100, rate: 50, service: "bob", transport: "un", extra: ["-max_socket", "1000"] });
    expect(r.failed, r.errors + r.stderr).toBe(0);
    expect(r.successful).toBe(100);
    const after = await perWorker(relay, "core:rcv_requests_invite");
    const got = after.map((v, i) => v - before[i]!);
    expect(got.every((v) => v > 0), `INVITEs per worker: ${got.join(", ")}`).toBe(true);
    const sum = await rpcResult<string[]>(relay.rpc, "stats.get_statistics", ["core:rcv_requests_invite"]);
    expect(sum).toEqual([`core:rcv_requests_invite = ${after[0]! + after[1]!}`]);
    const tm = await rpcResult<{ total: number }>(relay.rpc, "tm.stats");
    expect(tm.total).toBeGreaterThanOrEqual(200); // INVITE + BYE of each call, summed over the workers
    const metrics = await (await fetch(`http://127.0.0.1:${P + 80}/metrics`)).text();
    expect(metrics).toMatch(new RegExp(`olelo_core_rcv_requests_invite_total\\{[^}]*\\} ${after[0]! + after[1]!}\\n`));
    expect(metrics).toContain("olelo_workers_running");
  });

  it("carries 50 TCP calls with 0 failed", async () => {
    const r = await runSipp({ scenario: "uac_rr.xml", port: P + 41, remote: `127.0.0.1:${RELAY}`, calls: 50, rate: 50, service: "bob", transport: "t1" });
    expect(r.failed, r.errors + r.stderr).toBe(0);
    expect(r.successful).toBe(50);
  });
});

async function register(user: string, contactPort: number, localPort: number): Promise<void> {
  const r = await runSipp({
    scenario: "reg_add.xml",
    port: localPort,
    remote: `127.0.0.1:${REG}`,
    calls: 1,
    templ: { reg_user: user, reg_contact: `sip:${user}@127.0.0.1:${contactPort}`, reg_cparams: "", reg_expires: "600" },
  });
  expect(r.failed, r.errors + r.stderr).toBe(0);
}

describe("workers: 2, registrar", () => {
  it("registers through one worker; calls to it from one socket per call reach both workers, 0 failed", async () => {
    await register("alice", REG_UAS, P + 43);
    // the binding is in every worker: ul.lookup is answered by worker 0, core.worker_stats asks each
    const each = await rpcResult<Array<{ worker: number; result: { Contacts: unknown[] } }>>(reg.rpc, "core.worker_stats", ["ul.lookup", ["location", "alice"]]);
    expect(each.map((w) => w.result.Contacts.length)).toEqual([1, 1]);
    const regs = await perWorker(reg, "core:rcv_requests_register");
    expect(regs.filter((v) => v > 0)).toHaveLength(1); // the REGISTER went through one worker
    regUas = await startSippServer({ scenario: "reg_uas_answer.xml", port: REG_UAS });
    const r = await runSipp({ scenario: "uac_rr.xml", port: P + 44, remote: `127.0.0.1:${REG}`, calls: 30, rate: 30, service: "alice", transport: "un", extra: ["-max_socket", "1000"] });
    expect(r.failed, r.errors + r.stderr).toBe(0);
    expect(r.successful).toBe(30);
    const invites = await perWorker(reg, "core:rcv_requests_invite");
    expect(invites.every((v) => v > 0), `INVITEs per worker: ${invites.join(", ")}`).toBe(true);
  });

  it("CANCELs 20 ringing calls (each from its own socket): each CANCEL reaches the worker owning its INVITE", async () => {
    await register("ring", UAS, P + 45);
    const r = await runSipp({ scenario: "uac_cancel.xml", port: P + 46, remote: `127.0.0.1:${REG}`, calls: 20, rate: 20, service: "ring", transport: "un", extra: ["-max_socket", "1000"] });
    expect(r.failed, r.errors + r.stderr).toBe(0);
    expect(r.successful).toBe(20);
    const cancels = await perWorker(reg, "core:rcv_requests_cancel");
    expect(cancels.every((v) => v > 0), `CANCELs per worker: ${cancels.join(", ")}`).toBe(true);
  });
});

/** Sends one OPTIONS from each of `n` sockets (own source port each); resolves with the 200s received. */
async function optionsFlood(port: number, n: number): Promise<number> {
  const socks: Socket[] = [];
  let ok = 0;
  for (let i = 0; i < n; i++) {
    const s = createSocket("udp4");
    await new Promise<void>((r) => s.bind(0, "127.0.0.1", () => r()));
    s.on("message", (m) => {
      if (m.toString("latin1").startsWith("SIP/2.0 200")) ok++;
    });
    socks.push(s);
  }
  // pike counts in fixed 2 s windows (Math.floor(now / 2000), the same clock here): a flood that
  // straddles a window boundary before it reaches the density may pass up to about twice the limit,
  // in Kamailio's pike too. Start right after a boundary so the whole flood is one window.
  await waitUntil(() => Date.now() % 2000 > 20 && Date.now() % 2000 < 200, { timeoutMs: 3000, intervalMs: 2, what: "the start of a 2 s pike window" });
  for (const [i, s] of socks.entries()) {
    const lp = s.address().port;
    const msg =
      `OPTIONS sip:127.0.0.1:${port} SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:${lp};branch=z9hG4bKflood${i}x${Date.now()}\r\n` +
      `From: <sip:flood@127.0.0.1>;tag=f${i}\r\nTo: <sip:127.0.0.1:${port}>\r\nCall-ID: flood-${i}-${Date.now()}\r\nCSeq: 1 OPTIONS\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n`;
    s.send(msg, port, "127.0.0.1");
  }
  await letTimePass(1000, "replies to the last requests arrive (some are dropped: no count to wait for)");
  for (const s of socks) s.close();
  return ok;
}

describe("workers: 2, pike", () => {
  it("holds 16 requests / 2 s from one address node-wide although the flood lands on both workers", async () => {
    const before = await perWorker(pike, "core:rcv_requests_options");
    const ok = await optionsFlood(PIKE, 60);
    const after = await perWorker(pike, "core:rcv_requests_options");
    const got = after.map((v, i) => v - before[i]!);
    expect(got.every((v) => v > 0), `OPTIONS per worker: ${got.join(", ")}`).toBe(true);
    // node-wide density: detected at the 16th request (one worker alone would let about 2 × 15 through)
    expect(ok).toBeGreaterThanOrEqual(8);
    expect(ok).toBeLessThanOrEqual(16);
  });
});

describe("workers: 2, script reload", () => {
  it("script.reload swaps the script on every worker before it answers", async () => {
    const t0 = Date.now();
    await rpcResult(relay.rpc, "script.reload");
    const each = await rpcResult<Array<{ worker: number; result: { loadedAt: string } }>>(relay.rpc, "core.worker_stats", ["script.info"]);
    expect(each).toHaveLength(2);
    for (const w of each) expect(Date.parse(w.result.loadedAt)).toBeGreaterThanOrEqual(t0 - 5);
  });
});

describe("workers: 2, a worker that dies", () => {
  it("is restarted by the node (core.workers, core.worker_exited event, metric) and calls go on, 0 failed", async () => {
    const answer = await startSippServer({ scenario: "uas_rr.xml", port: UAS + 40 });
    try {
      const before = (await rpcResult(relay.rpc, "core.workers")).workers[1].threadId as number;
      await rpcResult(relay.rpc, "core.worker_restart", [1]);
      await waitUntil(
        async () => {
          const w = await rpcResult(relay.rpc, "core.workers");
          return w.restarts === 1 && w.workers.every((x: { state: string }) => x.state === "running");
        },
        { timeoutMs: 30_000, what: "worker 1 restarted" },
      );
      expect((await rpcResult(relay.rpc, "core.workers")).workers[1].threadId).not.toBe(before);
      const ev = await rpcResult<{ events: Array<{ kind: string; data: { worker: number } }> }>(relay.rpc, "events.since", { since: 0, kinds: ["core.*"] });
      expect(ev.events.map((e) => `${e.kind}:${e.data.worker}`)).toEqual(["core.worker_exited:1", "core.worker_restarted:1"]);
      const metrics = await (await fetch(`http://127.0.0.1:${P + 80}/metrics`)).text();
      expect(metrics).toMatch(/olelo_worker_restarts_total\{[^}]*\} 1\n/);
      const r = await runSipp({ scenario: "uac_rr.xml", port: P + 47, remote: `127.0.0.1:${RELAY}`, calls: 40, rate: 40, service: "bob", transport: "un", extra: ["-max_socket", "1000"] });
      expect(r.failed, r.errors + r.stderr).toBe(0);
      expect(r.successful).toBe(40);
    } finally {
      await answer.stop();
    }
  });
});
