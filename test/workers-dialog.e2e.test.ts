/**
 * Dialogs with `workers: 2` (data-plane/core/workers/README.md, "Node-wide state"; dialog README
 * "With workers"), through `npm start` and the default routing script, raw UDP peers whose source
 * ports are sorted by the worker SO_REUSEPORT gives them (an OPTIONS to the node, counted per worker):
 * - the caller's ACK through the worker that does not hold the dialog confirms it (dlg.stats_active
 *   "ongoing" for the node); the callee's re-INVITEs / UPDATE through that worker restart its
 *   timer, so a dialog with a 3 s timeout lives past it, and ends 3 s after the last one;
 * - db_mode 1 (Redis): a node SIGKILLed with calls up on both workers comes back with each call
 *   once (dlg.list, dlg.stats_active, profile size), from the journals and then on a new disk from
 *   Redis; the callers' BYEs end them all, the hash empties.
 * Ports: a block of 100 from test/kit/ports.ts (freePortBlock), P + offset.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { randomBytes } from "node:crypto";
import { Redis } from "ioredis";
import { freePortBlock } from "./kit/ports.js";
import { letTimePass, waitUntil } from "./kit/wait.js";
import { rpcResult, type TestProcess } from "./helpers/processes.js";
import { startWorkersNode, workerStat } from "./helpers/workers-node.js";
import { UdpPeer } from "./helpers/udp-peer.js";
import { RawCallee, RawCaller } from "./helpers/raw-ua.js";

const P = await freePortBlock(100);
const TM = P; // node 1: short dialog timeout
const DB = P + 1; // node 2: db_mode 1 over Redis
const CALLEE = P + 2;
const PREFIX = `olelo:test:wdlg:${process.pid}:`;

interface Node extends TestProcess {
  rpc: string;
}

function configFile(name: string, sip: number, control: number, dir: string, extra: Record<string, unknown>): string {
  const file = join(dir, "olelo.json");
  const cfg = { node: name, workers: 2, listen: [`udp:127.0.0.1:${sip}`], control: { listen: `127.0.0.1:${control}` }, dataDir: join(dir, "data"), log: { level: "warn" }, ...extra };
  writeFileSync(file, JSON.stringify(cfg));
  return file;
}

async function startNode(name: string, file: string, control: number): Promise<Node> {
  return startWorkersNode(name, file, control);
}

async function perWorker(n: Node, stat: string): Promise<number[]> {
  return workerStat(n.rpc, stat);
}

/** The worker SO_REUSEPORT gives this socket's datagrams (an OPTIONS to the node, counted per worker). */
async function workerOf(n: Node, peer: UdpPeer, sip: number): Promise<number> {
  const stat = "core:rcv_requests_options";
  const before = await perWorker(n, stat);
  const cid = randomBytes(6).toString("hex");
  peer.send(
    [`OPTIONS sip:127.0.0.1:${sip} SIP/2.0`, `Via: SIP/2.0/UDP 127.0.0.1:${peer.port};branch=z9hG4bK-o${cid}`, `From: <sip:probe@127.0.0.1>;tag=${cid}`, `To: <sip:127.0.0.1:${sip}>`, `Call-ID: ${cid}`, `CSeq: 1 OPTIONS`, `Max-Forwards: 70`, `Content-Length: 0`, ``, ``].join("\r\n"),
    sip,
  );
  await peer.wait((t) => t.startsWith("SIP/2.0 200") && t.includes(cid), 3000);
  const after = await perWorker(n, stat);
  return after.findIndex((v, i) => v > before[i]!);
}

/** Sockets on each worker: opens sockets until it has `want` on both. */
async function socketsByWorker(n: Node, sip: number, want: number): Promise<[UdpPeer[], UdpPeer[]]> {
  const by: [UdpPeer[], UdpPeer[]] = [[], []];
  for (let i = 0; i < 40 && (by[0].length < want || by[1].length < want); i++) {
    const p = await UdpPeer.open(0);
    const w = await workerOf(n, p, sip);
    if (by[w]!.length < want) by[w]!.push(p);
    else p.close();
  }
  expect([by[0].length, by[1].length], "sockets found per worker").toEqual([want, want]);
  return by;
}

/** Answers every request but ACK with 200 (Contact: this socket), as a UA does. */
function answerRequests(peer: UdpPeer): void {
  peer.onMessage = (t, r) => {
    if (t.startsWith("SIP/2.0") || t.startsWith("ACK ")) return;
    const keep = t.split("\r\n").filter((l) => /^(Via|From|To|Call-ID|CSeq|Record-Route):/i.test(l));
    peer.send(["SIP/2.0 200 OK", ...keep, `Contact: <sip:ua@127.0.0.1:${peer.port}>`, "Content-Length: 0", "", ""].join("\r\n"), r.port, r.address);
  };
}

const header = (t: string, name: string) => t.split("\r\n").filter((l) => l.toLowerCase().startsWith(`${name.toLowerCase()}:`)).map((l) => l.slice(l.indexOf(":") + 1).trim());

interface ActiveStats {
  starting: number;
  connecting: number;
  answering: number;
  ongoing: number;
  all: number;
}

let tm: Node;
let db: Node;
let redis: Redis;
const dbDir = mkdtempSync(join(tmpdir(), "olelo-wdlg-db-"));
const dbFile = configFile("wdlg-db", DB, P + 81, dbDir, {
  modules: { dialog: { db_mode: 1, db_url: "redis://127.0.0.1:6379/0", redis_prefix: PREFIX, default_timeout: 120, profiles_with_value: "account" } },
  script: { settings: { nextHop: `sip:127.0.0.1:${CALLEE}`, limits: { accounts: { rst: { maxCalls: 50 } }, rejectCode: 503 } } },
});

beforeAll(async () => {
  redis = new Redis("redis://127.0.0.1:6379/0");
  const tmDir = mkdtempSync(join(tmpdir(), "olelo-wdlg-tm-"));
  const tmFile = configFile("wdlg-tm", TM, P + 80, tmDir, { modules: { dialog: { default_timeout: 3 } }, script: { settings: { nextHop: `sip:127.0.0.1:${CALLEE}` } } });
  [tm, db] = await Promise.all([startNode("wdlg-tm", tmFile, P + 80), startNode("wdlg-db", dbFile, P + 81)]);
}, 120_000);

afterAll(async () => {
  await Promise.all([tm?.stop(), db?.stop()]);
  const keys = await redis.keys(`${PREFIX}*`);
  if (keys.length) await redis.del(...keys);
  redis.disconnect();
});

describe("workers: 2, in-dialog requests through the other worker", () => {
  it("the ACK confirms the dialog, the callee's re-INVITEs and UPDATE restart its 3 s timer; without them it ends", async () => {
    const callee = new RawCallee(CALLEE, 60_000);
    await callee.open();
    const [w0, w1] = await socketsByWorker(tm, TM, 2);
    const socks = [w0, w1];
    try {
      const cid = `${randomBytes(6).toString("hex")}@127.0.0.1`;
      const ftag = randomBytes(4).toString("hex");
      const caller = w0[0]!; // the INVITE through worker 0, which holds the dialog
      answerRequests(caller);
      const invite = [`INVITE sip:callee@127.0.0.1:${TM} SIP/2.0`, `Via: SIP/2.0/UDP 127.0.0.1:${caller.port};branch=z9hG4bK-i${ftag};rport`, `From: <sip:alice@caller.invalid>;tag=${ftag}`, `To: <sip:callee@callee.invalid>`, `Call-ID: ${cid}`, `CSeq: 1 INVITE`, `Contact: <sip:alice@127.0.0.1:${caller.port}>`, `Max-Forwards: 70`, `Content-Length: 0`, ``, ``].join("\r\n");
      caller.send(invite, TM);
      const ok = await caller.wait((t) => t.startsWith("SIP/2.0 200") && t.includes(cid), 5000);
      const rr = header(ok, "record-route");
      expect(rr.join(","), "the node's Record-Route carries the did").toMatch(/;did=[0-9a-f]+\.[0-9a-f]+/);
      const byWorker = await rpcResult<Array<{ worker: number; result: unknown[] }>>(tm.rpc, "core.worker_stats", ["dlg.list"]);
      expect(byWorker.map((w) => w.result.length), "dialogs per worker").toEqual([1, 0]);
      expect(await rpcResult<ActiveStats>(tm.rpc, "dlg.stats_active")).toMatchObject({ answering: 1, ongoing: 0, all: 1 });

      // the caller's ACK from another socket: through worker 1
      const ackSock = w1[0]!;
      const routesToCallee = [...rr].reverse().map((v) => `Route: ${v}`);
      const ack = [`ACK sip:callee@127.0.0.1:${CALLEE} SIP/2.0`, `Via: SIP/2.0/UDP 127.0.0.1:${ackSock.port};branch=z9hG4bK-a${ftag}`, ...routesToCallee, `From: <sip:alice@caller.invalid>;tag=${ftag}`, `To: <sip:callee@callee.invalid>;tag=callee`, `Call-ID: ${cid}`, `CSeq: 1 ACK`, `Max-Forwards: 70`, `Content-Length: 0`, ``, ``].join("\r\n");
      const acksBefore = await perWorker(tm, "core:rcv_requests_ack");
      ackSock.send(ack, TM);
      await waitUntil(async () => (await perWorker(tm, "core:rcv_requests_ack"))[1]! > acksBefore[1]!, { timeoutMs: 3000, what: "the ACK reached worker 1" });
      await waitUntil(
        async () => {
          const s = await rpcResult<ActiveStats>(tm.rpc, "dlg.stats_active");
          if (s.ongoing !== 1 || s.answering !== 0) throw new Error(`dlg.stats_active ${JSON.stringify(s)}`);
          return true;
        },
        { timeoutMs: 3000, what: "dialog confirmed by the ACK through worker 1" },
      );
      expect((await rpcResult<Array<{ state: number }>>(tm.rpc, "dlg.list")).map((d) => d.state)).toEqual([4]);

      // the callee's re-INVITEs and an UPDATE from its other socket (worker 1), every 1.5 s for 6 s
      const calleeSock = w1[1]!;
      const started = Date.now();
      for (let n = 2; n <= 5; n++) {
        await letTimePass(1500, "a refresh every half timeout");
        const method = n === 4 ? "UPDATE" : "INVITE";
        const req = [`${method} sip:alice@127.0.0.1:${caller.port} SIP/2.0`, `Via: SIP/2.0/UDP 127.0.0.1:${calleeSock.port};branch=z9hG4bK-r${n}${ftag};rport`, ...rr.map((v) => `Route: ${v}`), `From: <sip:callee@callee.invalid>;tag=callee`, `To: <sip:alice@caller.invalid>;tag=${ftag}`, `Call-ID: ${cid}`, `CSeq: ${n} ${method}`, `Contact: <sip:callee@127.0.0.1:${CALLEE}>`, `Max-Forwards: 70`, `Content-Length: 0`, ``, ``].join("\r\n");
        calleeSock.send(req, TM);
        await calleeSock.wait((t) => t.startsWith("SIP/2.0 200") && t.includes(`CSeq: ${n} ${method}`), 3000);
        if (method === "INVITE") calleeSock.send(req.replace(/^INVITE /, "ACK ").replace(`CSeq: ${n} INVITE`, `CSeq: ${n} ACK`).replace(`branch=z9hG4bK-r${n}`, `branch=z9hG4bK-k${n}`), TM);
      }
      expect((await perWorker(tm, "core:rcv_requests_invite"))[1], "re-INVITEs through worker 1").toBeGreaterThanOrEqual(3);
      await letTimePass(1000, "past 2 timeouts since the answer");
      expect(Date.now() - started, "elapsed since the ACK").toBeGreaterThan(6000);
      expect(await rpcResult<ActiveStats>(tm.rpc, "dlg.stats_active"), "the dialog outlived its 3 s timeout").toMatchObject({ ongoing: 1, all: 1 });
      const [dlg] = await rpcResult<Array<{ callee: { cseq: string; contact: string } }>>(tm.rpc, "dlg.list");
      expect(dlg!.callee.cseq, "the callee's CSeq, updated by the re-INVITEs through worker 1").toBe("5");

      // no more refreshes: it expires 3 s after the last one
      const expiredBefore = await perWorker(tm, "dialog:expired_dialogs");
      await waitUntil(async () => (await rpcResult<ActiveStats>(tm.rpc, "dlg.stats_active")).all === 0, { timeoutMs: 6000, what: "the dialog expired" });
      expect((await perWorker(tm, "dialog:expired_dialogs"))[0]).toBe(expiredBefore[0]! + 1);
    } finally {
      callee.close();
      for (const l of socks) for (const s of l) s.close();
    }
  });
});

const stored = async () => Object.keys(await redis.hgetall(`${PREFIX}wdlg-db`));

describe("workers: 2, db_mode 1 restore", () => {
  it("a node SIGKILLed with calls on both workers restores each call once, from the journals and from Redis on a new disk", async () => {
    const callee = new RawCallee(CALLEE, 120_000);
    await callee.open();
    const callers = Array.from({ length: 10 }, (_, i) => new RawCaller(P + 40 + i, "rst"));
    try {
      await Promise.all(callers.map((c) => c.open()));
      const codes = await Promise.all(callers.map((c) => c.invite(DB).then((m) => m.status)));
      expect(codes).toEqual(Array(10).fill(200));
      const per = await rpcResult<Array<{ result: unknown[] }>>(db.rpc, "core.worker_stats", ["dlg.list"]);
      expect(per.every((w) => w.result.length > 0), `dialogs per worker: ${per.map((w) => w.result.length).join(", ")}`).toBe(true);
      await waitUntil(async () => (await stored()).length === 10, { timeoutMs: 5000, what: "10 dialogs in Redis" });
      const ids = (await rpcResult<Array<{ "call-id": string }>>(db.rpc, "dlg.list")).map((d) => d["call-id"]).sort();

      const check = async (what: string) => {
        const list = await rpcResult<Array<{ "call-id": string; h_id: number }>>(db.rpc, "dlg.list");
        expect(list.map((d) => d["call-id"]).sort(), `${what}: dlg.list, each call once`).toEqual(ids);
        expect(await rpcResult<ActiveStats>(db.rpc, "dlg.stats_active"), what).toMatchObject({ all: 10 });
        expect(await rpcResult<number>(db.rpc, "dlg.profile_get_size", ["account", "rst"]), `${what}: profile size`).toBe(10);
        const byWorker = await rpcResult<Array<{ worker: number; result: Array<{ h_id: number }> }>>(db.rpc, "core.worker_stats", ["dlg.list"]);
        expect(byWorker.reduce((n, w) => n + w.result.length, 0), `${what}: dialogs over the workers (${byWorker.map((w) => w.result.length).join(" + ")})`).toBe(10);
        for (const w of byWorker) expect(w.result.every((d) => d.h_id % 2 === w.worker), `${what}: worker ${w.worker} holds its h_ids`).toBe(true);
        await waitUntil(async () => (await stored()).length === 10, { timeoutMs: 5000, what: `${what}: 10 dialogs in Redis` });
      };

      await db.stop("SIGKILL");
      db = await startNode("wdlg-db", dbFile, P + 81);
      await check("restart (journals)");
      await letTimePass(500, "each worker's resync of its Redis rows");
      expect((await stored()).length, "no worker pruned the other's rows").toBe(10);

      await db.stop("SIGKILL");
      rmSync(join(dbDir, "data"), { recursive: true, force: true }); // a new disk: no journal
      db = await startNode("wdlg-db", dbFile, P + 81);
      await check("restart on a new disk (Redis)");

      // the callers hang up (each from its own socket, so through both workers): every dialog ends
      const byes = await Promise.all(callers.map((c) => c.inDialog("BYE", DB).then((m) => m.status)));
      expect(byes).toEqual(Array(10).fill(200));
      await waitUntil(async () => (await rpcResult<ActiveStats>(db.rpc, "dlg.stats_active")).all === 0, { timeoutMs: 5000, what: "no dialog left" });
      expect(await rpcResult<number>(db.rpc, "dlg.profile_get_size", ["account", "rst"])).toBe(0);
      await waitUntil(async () => (await stored()).length === 0, { timeoutMs: 5000, what: "Redis hash empty" });
    } finally {
      callee.close();
      for (const c of callers) c.close();
    }
  });
});
