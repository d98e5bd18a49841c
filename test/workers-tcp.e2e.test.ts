/**
 * `workers: 2`: a stream connection is reachable from every worker (core/workers/README.md
 * "Connections across workers"). A browser over WS and a phone over TLS receive calls routed by
 * both workers on their one connection. A phone registers over one TCP connection (test/helpers/tcp-ua.ts:
 * it never listens, so a new connection towards it would be refused); calls from UDP callers on
 * many source ports are routed by both workers and all reach it over that one connection, their
 * replies coming back to the worker owning each transaction; an in-dialog BYE routed by the
 * worker that does not hold the connection goes out on it; once the phone hangs up its connection,
 * a call routed by the other worker fails cleanly (error reply, both workers still running).
 * Ports: a block of 40 from test/kit/ports.ts (P+10.. for the UDP agents probed onto a worker).
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { randomBytes } from "node:crypto";
import { freePortBlock } from "./kit/ports.js";
import { waitUntil } from "./kit/wait.js";
import { rpcResult, spawnCommand, waitForPort, type TestProcess } from "./helpers/processes.js";
import { runSipp } from "./helpers/sipp.js";
import { TcpUa } from "./helpers/tcp-ua.js";
import { RawAgent, newBranch } from "./helpers/raw-agent.js";
import { SipUa } from "./helpers/ws-client.js";
import { makeTestPki } from "./fixtures/tls/make-pki.js";
import type { SipMessage } from "../data-plane/core/sip/message.js";

const P = await freePortBlock(40);
const SIP = P;
const CONTROL = P + 1;
const WS = P + 4;
const TLS = P + 6;
const pki = makeTestPki();
const RPC = `http://127.0.0.1:${CONTROL}/RPC`;

interface Relay {
  relayed_out: number;
  relayed_in: number;
  relay_failed: number;
  replies_out: number;
  replies_in: number;
}
interface TcpInfo {
  opened_connections: number;
  relay: Relay;
}

let node: TestProcess;
let ua: TcpUa;

beforeAll(async () => {
  const dir = mkdtempSync(join(tmpdir(), "olelo-workers-tcp-"));
  const file = join(dir, "olelo.json");
  writeFileSync(
    file,
    JSON.stringify({
      node: "w-tcp",
      workers: 2,
      listen: [`udp:127.0.0.1:${SIP}`, `tcp:127.0.0.1:${SIP}`, `ws:127.0.0.1:${WS}`, { socket: `tls:127.0.0.1:${TLS}`, tls: { cert: pki.server.cert, key: pki.server.key } }],
      control: { listen: `127.0.0.1:${CONTROL}` },
      dataDir: join(dir, "data"),
      log: { level: "warn" },
      modules: { usrloc: { db_mode: 0 }, registrar: {}, nathelper: {} },
    }),
  );
  node = spawnCommand("olelo w-tcp", "npm", ["start", "--silent", "--", "--config", file]);
  await waitForPort(CONTROL, "127.0.0.1", 60_000, [node]);
  await waitUntil(async () => (await rpcResult(RPC, "core.workers")).workers.every((w: { state: string }) => w.state === "running"), { timeoutMs: 30_000, what: "2 workers running" });
  ua = new TcpUa("bob", SIP);
  await ua.open();
  const ok = await ua.register();
  expect(ok.status).toBe(200);
}, 90_000);

afterAll(async () => {
  await ua?.close();
  await node?.stop();
});

/** core.tcp_info of each worker (opened connections and the relay figures). */
async function tcpInfo(): Promise<TcpInfo[]> {
  const r = await rpcResult<Array<{ worker: number; result: TcpInfo }>>(RPC, "core.worker_stats", ["core.tcp_info"]);
  return r.sort((a, b) => a.worker - b.worker).map((w) => w.result);
}

async function perWorker(stat: string): Promise<number[]> {
  const r = await rpcResult<Array<{ worker: number; result: string[] }>>(RPC, "core.worker_stats", ["stats.get_statistics", [stat]]);
  return r.sort((a, b) => a.worker - b.worker).map((w) => Number(w.result.find((l) => l.startsWith(`${stat} = `))?.split(" = ")[1] ?? 0));
}

/** The worker holding the phone's connection. */
async function owner(): Promise<number> {
  const info = await tcpInfo();
  const w = info.findIndex((i) => i.opened_connections === 1);
  expect(info.map((i) => i.opened_connections).sort()).toEqual([0, 1]);
  return w;
}

/** A UDP agent whose source port the kernel hashes to `worker` (probed with OPTIONS to the node). */
async function agentOn(worker: number): Promise<RawAgent> {
  const base = P + 10;
  for (let i = 0; i < 30; i++) {
    const a = new RawAgent(base + i, "alice");
    await a.open();
    const before = await perWorker("core:rcv_requests_options");
    a.send(
      [`OPTIONS sip:127.0.0.1:${SIP} SIP/2.0`, `Via: SIP/2.0/UDP 127.0.0.1:${a.port};branch=${newBranch()};rport`, `From: <sip:alice@127.0.0.1>;tag=${a.tag}`, "To: <sip:127.0.0.1>", `Call-ID: ${randomBytes(6).toString("hex")}`, "CSeq: 1 OPTIONS", "Max-Forwards: 70", "Content-Length: 0", "", ""].join("\r\n"),
      SIP,
    );
    await a.reply("OPTIONS", 200);
    const after = await perWorker("core:rcv_requests_options");
    if (after[worker]! > before[worker]!) return a;
    a.close();
  }
  throw new Error(`no source port among 30 lands on worker ${worker}`);
}

function request(a: RawAgent, method: string, ruri: string, callId: string, cseq: number, toTag: string | null, routes: string[]): string {
  return [
    `${method} ${ruri} SIP/2.0`,
    `Via: SIP/2.0/UDP 127.0.0.1:${a.port};branch=${newBranch()};rport`,
    ...routes.map((r) => `Route: ${r}`),
    `From: <sip:alice@127.0.0.1>;tag=${a.tag}`,
    `To: <sip:bob@127.0.0.1>${toTag ? `;tag=${toTag}` : ""}`,
    `Call-ID: ${callId}`,
    `CSeq: ${cseq} ${method}`,
    `Contact: <sip:alice@127.0.0.1:${a.port}>`,
    "Max-Forwards: 70",
    "Content-Length: 0",
    "",
    "",
  ].join("\r\n");
}

const final = (method: string) => (m: SipMessage) => !m.isRequest && m.status >= 200 && m.cseqOrNull?.method === method;

describe("workers: 2, a browser on one WebSocket connection", () => {
  it("registers over WS (nathelper received=;transport=ws); 40 calls routed by both workers reach it on that connection only, ACK/BYE by its flow token, 0 failed", async () => {
    const browser = (await SipUa.connect({ transport: "ws", host: "127.0.0.1", port: WS, user: "erin" })).answer();
    try {
      expect((await browser.register(`sip:127.0.0.1:${SIP}`)).status).toBe(200);
      const before = await perWorker("core:rcv_requests_invite");
      const relayBefore = await tcpInfo();
      const r = await runSipp({ scenario: "uac_rr.xml", port: P + 5, remote: `127.0.0.1:${SIP}`, calls: 40, rate: 40, service: "erin", transport: "un", extra: ["-max_socket", "1000"] });
      expect(r.failed, r.errors + r.stderr).toBe(0);
      expect(r.successful).toBe(40);
      await waitUntil(() => browser.byesReceived.length === 40, { timeoutMs: 5000, what: "40 BYEs at the browser" });
      const got = (await perWorker("core:rcv_requests_invite")).map((v, i) => v - before[i]!);
      expect(got.every((v) => v > 0), `INVITEs per worker: ${got.join(", ")}`).toBe(true);
      const info = await tcpInfo();
      // the TCP phone and the browser: no connection was opened towards the browser (it has none to accept)
      expect(info.reduce((n, i) => n + i.opened_connections, 0)).toBe(2);
      const relayed = info.map((i, w) => i.relay.relayed_out - relayBefore[w]!.relay.relayed_out);
      expect(relayed.some((v) => v >= 3), `relayed per worker: ${relayed.join(", ")}`).toBe(true);
    } finally {
      browser.close();
      await waitUntil(async () => (await tcpInfo()).reduce((n, i) => n + i.opened_connections, 0) === 1, { timeoutMs: 5000, what: "the browser's connection closed" });
    }
  }, 60_000);
});

describe("workers: 2, a phone on one TLS connection", () => {
  it("registers over TLS; 40 calls routed by both workers reach it on that connection, 0 failed", async () => {
    const phone = (await SipUa.connect({ transport: "tls", host: "127.0.0.1", port: TLS, user: "tina", tls: { ca: readFileSync(pki.ca) } })).answer();
    try {
      expect((await phone.register(`sip:127.0.0.1:${TLS};transport=tls`)).status).toBe(200);
      const before = await perWorker("core:rcv_requests_invite");
      const relayBefore = await tcpInfo();
      const r = await runSipp({ scenario: "uac_rr.xml", port: P + 7, remote: `127.0.0.1:${SIP}`, calls: 40, rate: 40, service: "tina", transport: "un", extra: ["-max_socket", "1000"] });
      expect(r.failed, r.errors + r.stderr).toBe(0);
      expect(r.successful).toBe(40);
      await waitUntil(() => phone.byesReceived.length === 40, { timeoutMs: 5000, what: "40 BYEs at the TLS phone" });
      const got = (await perWorker("core:rcv_requests_invite")).map((v, i) => v - before[i]!);
      expect(got.every((v) => v > 0), `INVITEs per worker: ${got.join(", ")}`).toBe(true);
      const info = await tcpInfo();
      expect(info.reduce((n, i) => n + i.opened_connections, 0)).toBe(2); // the TCP phone and this one
      const relayed = info.map((i, w) => i.relay.relayed_out - relayBefore[w]!.relay.relayed_out);
      expect(relayed.some((v) => v >= 3), `relayed per worker: ${relayed.join(", ")}`).toBe(true);
    } finally {
      phone.close();
      await waitUntil(async () => (await tcpInfo()).reduce((n, i) => n + i.opened_connections, 0) === 1, { timeoutMs: 5000, what: "the TLS phone's connection closed" });
    }
  }, 60_000);
});

describe("workers: 2, a phone on one TCP connection", () => {
  it("100 calls from UDP callers on their own source ports reach it over its one connection, routed by both workers, 0 failed", async () => {
    const before = await perWorker("core:rcv_requests_invite");
    const r = await runSipp({ scenario: "uac_rr.xml", port: P + 2, remote: `127.0.0.1:${SIP}`, calls: 100, rate: 50, service: "bob", transport: "un", extra: ["-max_socket", "1000"] });
    expect(r.failed, r.errors + r.stderr).toBe(0);
    expect(r.successful).toBe(100);
    const after = await perWorker("core:rcv_requests_invite");
    const got = after.map((v, i) => v - before[i]!);
    expect(got.every((v) => v > 0), `INVITEs per worker: ${got.join(", ")}`).toBe(true);
    expect(ua.counts.INVITE).toBe(100);
    await waitUntil(() => ua.counts.BYE === 100, { timeoutMs: 5000, what: "100 BYEs at the phone" });
    const info = await tcpInfo();
    // still the phone's one connection: nobody opened another one towards it
    expect(info.reduce((n, i) => n + i.opened_connections, 0)).toBe(1);
    const own = info.findIndex((i) => i.opened_connections === 1);
    const other = info[1 - own]!;
    // the other worker's INVITEs, ACKs and BYEs went out on the owner's connection, their replies came back
    expect(other.relay.relayed_out).toBeGreaterThanOrEqual(got[1 - own]! * 3);
    expect(info[own]!.relay.relayed_in).toBe(other.relay.relayed_out);
    expect(info[own]!.relay.replies_out).toBeGreaterThanOrEqual(got[1 - own]! * 2);
    expect(other.relay.relay_failed).toBe(0);
  }, 60_000);

  it("an in-dialog BYE routed by the worker that does not hold the connection goes out on it, and its 200 comes back", async () => {
    const own = await owner();
    const a = await agentOn(1 - own);
    try {
      const callId = randomBytes(6).toString("hex");
      const byes = ua.counts.BYE;
      a.send(request(a, "INVITE", `sip:bob@127.0.0.1:${SIP}`, callId, 1, null, []), SIP);
      const ok = await a.waitFor(final("INVITE"), 5000, "final reply to INVITE");
      expect(ok.status).toBe(200);
      const routes = ok.headerValues("record-route").flatMap((v) => v.split(",").map((s) => s.trim())).reverse();
      const target = (ok.headerValues("contact")[0] ?? "").replace(/^.*<([^>]*)>.*$/, "$1");
      expect(target).toContain(`:${ua.localPort};transport=tcp`);
      a.send(request(a, "ACK", target, callId, 1, ok.toTag, routes), SIP);
      const before = (await tcpInfo())[1 - own]!.relay.relayed_out;
      a.send(request(a, "BYE", target, callId, 2, ok.toTag, routes), SIP);
      const bye = await a.waitFor(final("BYE"), 5000, "final reply to BYE");
      expect(bye.status).toBe(200);
      expect(ua.counts.BYE).toBe(byes + 1);
      expect((await tcpInfo())[1 - own]!.relay.relayed_out).toBeGreaterThan(before);
    } finally {
      a.close();
    }
  }, 30_000);

  it("the worker holding the connection dies: a call routed by the other one fails at once, not on a timer; after the restart the phone re-registers and is reached again", async () => {
    const own = await owner();
    const a = await agentOn(1 - own);
    try {
      const failedBefore = (await tcpInfo())[1 - own]!.relay.relay_failed;
      await rpcResult(RPC, "core.worker_restart", [own]);
      await waitUntil(() => ua.closed, { timeoutMs: 5000, what: "the phone's connection closed with its worker" });
      // the directory still names the dead worker until it is back: the relay bounces (or, once
      // the restarted worker erased its old entries, the connect towards the phone is refused)
      const t0 = Date.now();
      a.send(request(a, "INVITE", `sip:bob@127.0.0.1:${SIP}`, randomBytes(6).toString("hex"), 1, null, []), SIP);
      const r = await a.waitFor(final("INVITE"), 10_000, "final reply to INVITE");
      expect(r.status).toBeGreaterThanOrEqual(500);
      expect(Date.now() - t0).toBeLessThan(5000);
      await waitUntil(async () => (await rpcResult(RPC, "core.workers")).workers.every((w: { state: string }) => w.state === "running"), { timeoutMs: 30_000, what: "worker restarted" });
      // the INVITE went out within milliseconds of the death, the restart takes 200 ms + a boot: the bounce answered
      expect((await tcpInfo())[1 - own]!.relay.relay_failed).toBe(failedBefore + 1);
      ua = new TcpUa("bob", SIP);
      await ua.open();
      expect((await ua.register()).status).toBe(200);
      const r2 = await runSipp({ scenario: "uac_rr.xml", port: P + 3, remote: `127.0.0.1:${SIP}`, calls: 20, rate: 20, service: "bob", transport: "un", extra: ["-max_socket", "1000"] });
      expect(r2.failed, r2.errors + r2.stderr).toBe(0);
      expect(ua.counts.INVITE).toBe(20);
    } finally {
      a.close();
    }
  }, 60_000);

  it("after the phone closes its connection, a call routed by the other worker fails cleanly (error reply, workers still running)", async () => {
    const own = await owner();
    const a = await agentOn(1 - own);
    const restarts = (await rpcResult<{ restarts: number }>(RPC, "core.workers")).restarts;
    try {
      await ua.close();
      await waitUntil(async () => (await tcpInfo()).every((i) => i.opened_connections === 0), { timeoutMs: 5000, what: "connection gone on the node" });
      const relayed = (await tcpInfo())[1 - own]!.relay.relayed_out;
      const t0 = Date.now();
      a.send(request(a, "INVITE", `sip:bob@127.0.0.1:${SIP}`, randomBytes(6).toString("hex"), 1, null, []), SIP);
      const r = await a.waitFor(final("INVITE"), 10_000, "final reply to INVITE");
      expect(r.status).toBeGreaterThanOrEqual(400);
      // the owner erased the connection from the directory when it closed: nothing was relayed (as in one process: the connect is refused)
      expect((await tcpInfo())[1 - own]!.relay.relayed_out).toBe(relayed);
      expect(Date.now() - t0).toBeLessThan(5000); // not a timer: the send failed at once
      const workers = await rpcResult<{ workers: Array<{ state: string }>; restarts: number }>(RPC, "core.workers");
      expect(workers.workers.map((w) => w.state)).toEqual(["running", "running"]);
      expect(workers.restarts).toBe(restarts);
    } finally {
      a.close();
    }
  }, 30_000);
});
