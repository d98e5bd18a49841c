/**
 * Node-wide state with `workers: 2` (data-plane/core/workers/README.md, "Node-wide state"), through
 * the real `npm start` path and the default routing script, with sipp and raw UDP peers whose
 * many source ports spread the traffic over both workers (SO_REUSEPORT hashes the 4-tuple):
 * - dispatcher alg 10: the maxload of a destination holds over the node, and the callee's BYEs
 *   (all from its one socket, so through one worker) end the calls the other worker routed;
 * - dialog profiles: the call limit (`settings.limits`, profile "account") holds over the node,
 *   dlg.profile_get_size is the node's number, BYEs through the other worker end the dialogs;
 * - auth: a challenge from one worker is answered through the other; an nc replayed through any
 *   worker is refused, the next nc is accepted (no `secret` configured: the node's random one);
 * - lcr: a gateway inactivated by a failure route in one worker is skipped by both; worker 0
 *   alone probes it.
 * Ports: a block of 100 from test/kit/ports.ts (freePortBlock), P + offset.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createSocket } from "node:dgram";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePortBlock } from "./kit/ports.js";
import { waitUntil } from "./kit/wait.js";
import { rpcResult, type TestProcess } from "./helpers/processes.js";
import { startWorkersNode, workerStat } from "./helpers/workers-node.js";
import { runSipp, startSippServer } from "./helpers/sipp.js";
import { UdpPeer } from "./helpers/udp-peer.js";
import { RawCallee, RawCaller } from "./helpers/raw-ua.js";
import { answerChallenge, parseChallenge } from "./scripts/firewall-digest.js";
import { TEST_SCRIPTS } from "./helpers/proxy.js";

const P = await freePortBlock(100);
const ST = P; // node 1: dispatcher alg 10, dialog limits, auth + registrar
const GW = P + 1; // node 2: lcr
const G1 = P + 20; // lcr gateway answering 503 (raw UDP)
const G2 = P + 21; // lcr and drouting gateway answering 200 (sipp)
const G3 = P + 22; // drouting gateway answering 503 (raw UDP)
const DR = P + 2; // node 3: drouting with keepalives

interface Node extends TestProcess {
  rpc: string;
}

async function startNode(name: string, sip: number, control: number, extra: Record<string, unknown>, files: Record<string, string> = {}): Promise<Node> {
  const dir = mkdtempSync(join(tmpdir(), `olelo-wstate-${name}-`));
  for (const [f, text] of Object.entries(files)) writeFileSync(join(dir, f), text);
  const file = join(dir, "olelo.json");
  const cfg = { node: name, workers: 2, listen: [`udp:127.0.0.1:${sip}`], control: { listen: `127.0.0.1:${control}` }, dataDir: join(dir, "data"), log: { level: "warn" }, ...extra };
  writeFileSync(file, JSON.stringify(cfg).replaceAll("@DIR@", dir));
  return startWorkersNode(name, file, control);
}

/** Per-worker value of one statistic (core.worker_stats over stats.get_statistics). */
async function perWorker(n: Node, stat: string): Promise<number[]> {
  return workerStat(n.rpc, stat);
}

/** Runs `fn` and tells which worker's `stat` went up (-1: none, -2: both). */
async function onWorker<T>(n: Node, stat: string, fn: () => Promise<T>): Promise<[T, number]> {
  const before = await perWorker(n, stat);
  const r = await fn();
  const after = await perWorker(n, stat);
  const up = after.map((v, i) => v > before[i]!);
  return [r, up[0] && up[1] ? -2 : up.indexOf(true)];
}

/** The alg 10 load (DLGLOAD) of the destination with duid "uas" in dispatcher.list. */
async function dsLoad(n: Node): Promise<number> {
  const l = await rpcResult<{ RECORDS: Array<{ SET: { TARGETS: Array<{ DEST: { RUNTIME?: { DLGLOAD: number } } }> } }> }>(n.rpc, "dispatcher.list");
  return l.RECORDS[0]!.SET.TARGETS[0]!.DEST.RUNTIME?.DLGLOAD ?? -1;
}

/** Records `v`; throws (so a timed-out wait names it) unless it is `want`. */
function mustBe(seen: number[], v: number, want: number, what: string): boolean {
  seen.push(v);
  if (v !== want) throw new Error(`${what} ${v} (seen: ${[...new Set(seen)].join(" ")}, ${seen.length} reads)`);
  return true;
}

let st: Node;
let gw: Node;
let dr: Node;

beforeAll(async () => {
  const subscribers = { subscriber: [{ id: 1, username: "alice", domain: "127.0.0.1", password: "wonderland" }] };
  const lcr = {
    lcr_gw: [
      { id: 1, lcr_id: 1, gw_name: "bad", ip_addr: "127.0.0.1", port: G1, transport: 1 },
      { id: 2, lcr_id: 1, gw_name: "good", ip_addr: "127.0.0.1", port: G2, transport: 1 },
    ],
    lcr_rule: [{ id: 1, lcr_id: 1, prefix: "49" }],
    lcr_rule_target: [
      { id: 1, lcr_id: 1, rule_id: 1, gw_id: 1, priority: 0, weight: 1 },
      { id: 2, lcr_id: 1, rule_id: 1, gw_id: 2, priority: 1, weight: 1 },
    ],
  };
  const drTables = {
    dr_gateways: [
      { gwid: 1, address: `127.0.0.1:${G3}` },
      { gwid: 2, address: `127.0.0.1:${G2}` },
    ],
    dr_rules: [{ ruleid: 1, groupid: "1", prefix: "49", priority: 0, timerec: "", gwlist: "1,2" }],
  };
  [st, gw, dr] = await Promise.all([
    startNode(
      "ws-state",
      ST,
      P + 80,
      {
        modules: {
          dispatcher: { list_file: "@DIR@/dispatcher.list" },
          dialog: { profiles_with_value: "account" },
          auth: { nonce_count: 1 },
          usrloc: { db_mode: 0 },
          registrar: {},
        },
        tables: { subscriber: "@DIR@/subscriber.json" },
        script: { settings: { dispatcherSet: 1, dispatcherAlg: 10, limits: { accounts: { lim: { maxCalls: 6 } }, rejectCode: 503 } } },
      },
      { "dispatcher.list": `1 sip:127.0.0.1:${P + 30} 0 0 duid=uas;maxload=10\n`, "subscriber.json": JSON.stringify(subscribers) },
    ),
    startNode("ws-lcr", GW, P + 81, { modules: { lcr: { ping_interval: 1 } }, tables: { lcr: "@DIR@/lcr.json" }, script: { settings: { lcrId: 1 } } }, { "lcr.json": JSON.stringify(lcr) }),
    startNode(
      "ws-dr",
      DR,
      P + 82,
      {
        modules: { drouting: { enable_keepalive: 1, keepalive_interval: 1 } },
        tables: { drouting: "@DIR@/drouting.json" },
        script: { file: join(TEST_SCRIPTS, "routing-drouting.ts"), settings: { group: 1 } },
      },
      { "drouting.json": JSON.stringify(drTables) },
    ),
  ]);
}, 120_000);

afterAll(async () => {
  await Promise.all([st?.stop(), gw?.stop(), dr?.stop()]);
});

/**
 * 20 concurrent calls from `caller`, each from its own socket (RawCaller: it answers the BYE to
 * where it came from, as RFC 3261 §18.2.2 says; sipp answers to its one remote address), held 6 s
 * by a callee that then hangs up from its one socket (so every BYE reaches one worker).
 */
async function heldCalls(caller: string, localPort: number, during: () => Promise<void>): Promise<{ codes: number[]; answered: number }> {
  const callee = new RawCallee(P + 30, 6000); // long enough for the RPC reads on a loaded machine
  await callee.open();
  const callers = Array.from({ length: 20 }, (_, i) => new RawCaller(localPort + i, caller));
  try {
    await Promise.all(callers.map((c) => c.open()));
    const codes = Promise.all(callers.map((c) => c.invite(ST).then((m) => m.status, () => 0)));
    try {
      await during();
    } catch (e) {
      throw new Error(`${(e as Error).message}; final replies: ${(await codes).join(" ")}`);
    }
    const got = await codes;
    await waitUntil(() => callee.answered.size > 0 && callee.ended.size === callee.answered.size, {
      timeoutMs: 12_000,
      what: `every BYE answered 200 (answered ${callee.answered.size}, ended ${callee.ended.size}, others: ${callee.byeErrors.join(", ")})`,
    });
    return { codes: got, answered: callee.answered.size };
  } finally {
    callee.close();
    for (const c of callers) c.close();
  }
}

describe("workers: 2, dispatcher alg 10 call load", () => {
  it("maxload 10 holds over the node; the callee's BYEs through one worker bring the node's load back to 0", async () => {
    const before = await perWorker(st, "core:rcv_requests_invite");
    const seen: number[] = [];
    const { codes, answered } = await heldCalls("ds", P + 40, async () => {
      await waitUntil(async () => mustBe(seen, await dsLoad(st), 10, "DLGLOAD"), { timeoutMs: 10_000, what: "DLGLOAD 10" });
    });
    expect(codes.filter((c) => c === 200)).toHaveLength(10);
    expect(codes.filter((c) => c === 404), "over the load limit: no destination").toHaveLength(10);
    expect(answered, "calls the destination answered").toBe(10);
    expect(Math.max(...seen)).toBe(10);
    const after = await perWorker(st, "core:rcv_requests_invite");
    const got = after.map((v, i) => v - before[i]!);
    expect(got.every((v) => v > 0), `INVITEs per worker: ${got.join(", ")}`).toBe(true);
    const byes = await perWorker(st, "core:rcv_requests_bye");
    expect(byes.filter((v) => v > 0), `BYEs per worker: ${byes.join(", ")}`).toHaveLength(1);
    await waitUntil(async () => (await dsLoad(st)) === 0, { timeoutMs: 5000, what: "DLGLOAD back to 0" });
  });
});

describe("workers: 2, dialog profiles", () => {
  it("a limit of 6 calls per account holds over the node; dlg.profile_get_size is the node's; BYEs through the other worker end them", async () => {
    const before = await perWorker(st, "core:rcv_requests_invite");
    const sizes: number[] = [];
    const { codes, answered } = await heldCalls("lim", P + 60, async () => {
      await waitUntil(async () => mustBe(sizes, await rpcResult<number>(st.rpc, "dlg.profile_get_size", ["account", "lim"]), 6, "profile size"), { timeoutMs: 10_000, what: "profile size 6" });
      const each = await rpcResult<Array<{ result: number }>>(st.rpc, "core.worker_stats", ["dlg.profile_get_size", ["account", "lim"]]);
      expect(each.map((w) => w.result)).toEqual([6, 6]); // every worker reads the node's number
      const active = await rpcResult<{ all: number }>(st.rpc, "dlg.stats_active");
      expect(active.all).toBe(6);
    });
    expect(codes.filter((c) => c === 200)).toHaveLength(6);
    expect(codes.filter((c) => c === 503), "over the call limit").toHaveLength(14);
    expect(answered, "calls admitted").toBe(6);
    expect(Math.max(...sizes)).toBe(6);
    const after = await perWorker(st, "core:rcv_requests_invite");
    expect(after.every((v, i) => v > before[i]!), `INVITEs per worker: ${after.join(", ")}`).toBe(true);
    await waitUntil(async () => (await rpcResult<number>(st.rpc, "dlg.profile_get_size", ["account", "lim"])) === 0, { timeoutMs: 5000, what: "profile empty" });
    expect((await rpcResult<{ all: number }>(st.rpc, "dlg.stats_active")).all).toBe(0);
  });
});

/** Sends one REGISTER for alice from a fresh socket; the reply text (or null). */
async function register(callId: string, cseq: number, auth?: string): Promise<string | null> {
  const peer = await UdpPeer.open(0);
  try {
    const text = [
      `REGISTER sip:127.0.0.1:${ST} SIP/2.0`,
      `Via: SIP/2.0/UDP 127.0.0.1:${peer.port};branch=z9hG4bK-${callId}-${cseq}`,
      `From: <sip:alice@127.0.0.1>;tag=${callId}`,
      `To: <sip:alice@127.0.0.1>`,
      `Call-ID: ${callId}`,
      `CSeq: ${cseq} REGISTER`,
      `Contact: <sip:alice@127.0.0.1:${peer.port}>`,
      `Max-Forwards: 70`,
      `Expires: 60`,
      ...(auth ? [`Authorization: ${auth}`] : []),
      `Content-Length: 0`,
      ``,
      ``,
    ].join("\r\n");
    peer.send(text, ST);
    return await peer.wait((t) => t.startsWith("SIP/2.0 ") && !t.startsWith("SIP/2.0 100"), 3000).catch(() => null);
  } finally {
    peer.close();
  }
}

const statusOf = (t: string | null) => (t === null ? 0 : Number(t.split(" ")[1]));
const challengeOf = (t: string) => parseChallenge(/^WWW-Authenticate: (.*)\r$/m.exec(t)![1]!);

describe("workers: 2, auth nonces", () => {
  it("a challenge from one worker is answered through the other; an nc replayed through any worker is refused", async () => {
    const stat = "core:rcv_requests_register";
    let crossed = 0;
    let pair: { cid: string; nonce: ReturnType<typeof challengeOf>; acceptedOn: number } | null = null;
    for (let i = 0; i < 16 && crossed < 3; i++) {
      const cid = `ws-auth-${i}-${Date.now()}`;
      const [r401, w1] = await onWorker(st, stat, () => register(cid, 1));
      expect(statusOf(r401)).toBe(401);
      const c = challengeOf(r401!);
      const auth = answerChallenge(c, { user: "alice", password: "wonderland", method: "REGISTER", uri: `sip:127.0.0.1:${ST}`, nc: 1 });
      const [r200, w2] = await onWorker(st, stat, () => register(cid, 2, auth));
      expect(statusOf(r200), `retry through worker ${w2} of a challenge from worker ${w1}`).toBe(200);
      if (w1 !== w2) {
        crossed++;
        pair = { cid, nonce: c, acceptedOn: w2 };
      }
    }
    expect(crossed, "challenge and retry on different workers").toBeGreaterThanOrEqual(1);
    // the same nc again, from fresh sockets (so through both workers): a replay every time
    const replay = answerChallenge(pair!.nonce, { user: "alice", password: "wonderland", method: "REGISTER", uri: `sip:127.0.0.1:${ST}`, nc: 1 });
    const workers = new Set<number>();
    for (let i = 0; i < 12 && workers.size < 2; i++) {
      const [r, w] = await onWorker(st, stat, () => register(pair!.cid, 10 + i, replay));
      expect(statusOf(r), `nc 1 replayed through worker ${w}`).toBe(401);
      workers.add(w);
    }
    expect([...workers].sort(), "replays reached both workers").toEqual([0, 1]);
    const next = answerChallenge(pair!.nonce, { user: "alice", password: "wonderland", method: "REGISTER", uri: `sip:127.0.0.1:${ST}`, nc: 2 });
    expect(statusOf(await register(pair!.cid, 30, next))).toBe(200);
  });
});

/** A gateway that answers every request 503; counts the INVITEs and OPTIONS it got. */
async function badGateway(port: number): Promise<{ invites: number; options: number; close(): void }> {
  const sock = createSocket("udp4");
  const g = { invites: 0, options: 0, close: () => sock.close() };
  sock.on("message", (b, rinfo) => {
    const t = b.toString("latin1");
    const method = t.slice(0, t.indexOf(" "));
    if (method === "ACK") return;
    if (method === "INVITE") g.invites++;
    if (method === "OPTIONS") g.options++;
    const keep = t.split("\r\n").filter((l) => /^(Via|From|To|Call-ID|CSeq):/i.test(l));
    const lines = keep.map((l) => (/^To:/i.test(l) && !/;tag=/.test(l) ? `${l};tag=bad` : l));
    sock.send(["SIP/2.0 503 Service Unavailable", ...lines, "Content-Length: 0", "", ""].join("\r\n"), rinfo.port, rinfo.address);
  });
  await new Promise<void>((r) => sock.bind(port, "127.0.0.1", () => r()));
  return g;
}

describe("workers: 2, lcr and drouting gateway state", () => {
  let g2: Awaited<ReturnType<typeof startSippServer>>;
  let bad: Awaited<ReturnType<typeof badGateway>>;
  let badDr: Awaited<ReturnType<typeof badGateway>>;
  beforeAll(async () => {
    g2 = await startSippServer({ scenario: "uas_rr.xml", port: G2, extra: ["-aa"] }); // -aa: 200 to the keepalive OPTIONS
    [bad, badDr] = await Promise.all([badGateway(G1), badGateway(G3)]);
  });
  afterAll(async () => {
    bad?.close();
    badDr?.close();
    await g2?.stop();
  });

  it("a gateway inactivated in one worker's failure route is skipped by both; only worker 0 probes it", async () => {
    const first = await runSipp({ scenario: "uac_rr.xml", port: P + 90, remote: `127.0.0.1:${GW}`, calls: 1, service: "4911", transport: "u1" });
    expect(first.failed, first.errors + first.stderr).toBe(0);
    expect(bad.invites).toBe(1); // 503 → inactivate_gw → failover to gateway 2
    const before = await perWorker(gw, "core:rcv_requests_invite");
    const r = await runSipp({ scenario: "uac_rr.xml", port: P + 91, remote: `127.0.0.1:${GW}`, calls: 30, rate: 50, service: "4912", transport: "un", extra: ["-max_socket", "100"] });
    expect(r.failed, r.errors + r.stderr).toBe(0);
    expect(r.successful).toBe(30);
    const after = await perWorker(gw, "core:rcv_requests_invite");
    expect(after.every((v, i) => v > before[i]!), `INVITEs per worker: ${after.join(", ")}`).toBe(true);
    expect(bad.invites, "INVITEs to the inactive gateway").toBe(1);
    await waitUntil(() => bad.options >= 2, { timeoutMs: 5000, what: "probes of gateway 1" });
    const pings = await perWorker(gw, "lcr:ping_sent");
    expect(pings[0]).toBeGreaterThan(0);
    expect(pings[1], "probes from worker 1").toBe(0);
    const dump = await rpcResult<{ gw: Array<{ gw_id: number; state: number }> }>(gw.rpc, "core.worker_stats", ["lcr.dump_gws"]).catch(() => null);
    if (dump) for (const w of dump as unknown as Array<{ result: { gw: Array<{ gw_id: number; state: number }> } }>) expect(w.result.gw.find((g) => g.gw_id === 1)?.state).toBe(2);
  });

  it("drouting: a gateway worker 0's keepalive found down is left out by both workers; worker 1 sends no keepalive", async () => {
    await waitUntil(async () => (await perWorker(dr, "drouting:gateways_down")).every((v) => v === 1), { timeoutMs: 10_000, what: "gateway 1 down in both workers" });
    const before = await perWorker(dr, "core:rcv_requests_invite");
    const r = await runSipp({ scenario: "uac_rr.xml", port: P + 92, remote: `127.0.0.1:${DR}`, calls: 30, rate: 50, service: "4913", transport: "un", extra: ["-max_socket", "100"] });
    expect(r.failed, r.errors + r.stderr).toBe(0);
    expect(r.successful).toBe(30);
    const after = await perWorker(dr, "core:rcv_requests_invite");
    expect(after.every((v, i) => v > before[i]!), `INVITEs per worker: ${after.join(", ")}`).toBe(true);
    expect(badDr.invites, "INVITEs to the down gateway").toBe(0);
    expect(badDr.options).toBeGreaterThan(0);
    const ka = await perWorker(dr, "drouting:keepalive_sent");
    expect(ka[0]).toBeGreaterThan(0);
    expect(ka[1], "keepalives from worker 1").toBe(0);
  });
});
