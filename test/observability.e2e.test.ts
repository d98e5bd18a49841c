/**
 * Metrics and health over real processes (issue 20 §5): a control plane (`control-plane/main.ts`
 * on MariaDB) pushing a dispatcher row to a data plane (`data-plane/main.ts --config`); a UDP peer
 * is the destination. Both planes' GET /metrics pass the real `promtool check metrics` (Debian
 * package `prometheus`), every family has HELP and TYPE (no `untyped`), counters end in `_total`,
 * the data plane exposes gauges for destinations up and the control-plane connection and
 * histograms per destination; GET /health and GET /ready answer on both planes, and /ready says
 * 503 for a data plane that has neither reached the control plane nor a cache.
 * Ports: a block of 12 from test/kit/ports.ts (freePortBlock), P + offset.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { spawn } from "node:child_process";
import type mysql from "mysql2/promise";
import { dropE2eDatabase, freshE2eDatabase, startControlPlaneProcess, startDataPlaneProcess, stopAllProcesses, waitUntil, type ControlPlaneProcess, type DataPlaneProcess } from "./helpers/processes.js";
import { UdpPeer, request, statusOf } from "./helpers/udp-peer.js";
import { freePortBlock } from "./kit/ports.js";

const DB = "olelo_test_e2e_ops_obs";
const P = await freePortBlock(12);
const [CP_API, CP_GRPC, DP_SIP, DP_CTL, DP2_SIP, DP2_CTL] = [P, P + 1, P + 2, P + 3, P + 4, P + 5];
const EXPOSITION = "text/plain; version=0.0.4; charset=utf-8";

/** Runs `promtool check metrics` on the text; resolves with its exit code and output. */
function promtool(text: string): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve) => {
    const p = spawn("promtool", ["check", "metrics"], { stdio: ["pipe", "pipe", "pipe"] });
    let out = "";
    p.stdout.on("data", (d) => (out += d));
    p.stderr.on("data", (d) => (out += d));
    p.on("close", (code) => resolve({ code, out }));
    p.stdin.end(text);
  });
}

async function scrape(port: number): Promise<string> {
  const r = await fetch(`http://127.0.0.1:${port}/metrics`);
  expect(r.status).toBe(200);
  expect(r.headers.get("content-type")).toBe(EXPOSITION);
  return r.text();
}

/** Families (name → type) and whether each has a HELP line. */
function families(text: string): Map<string, { type: string; help: boolean }> {
  const m = new Map<string, { type: string; help: boolean }>();
  const helps = new Set([...text.matchAll(/^# HELP (\S+) \S/gm)].map((x) => x[1]!));
  for (const x of text.matchAll(/^# TYPE (\S+) (\S+)$/gm)) m.set(x[1]!, { type: x[2]!, help: helps.has(x[1]!) });
  return m;
}

function sample(text: string, name: string, labels: Record<string, string> = {}): number | undefined {
  for (const line of text.split("\n")) {
    if (!line.startsWith(name + "{") && !line.startsWith(name + " ")) continue;
    if (!Object.entries(labels).every(([k, v]) => line.includes(`${k}="${v}"`))) continue;
    return Number(line.slice(line.lastIndexOf(" ") + 1));
  }
  return undefined;
}

function checkFamilies(text: string): void {
  const fams = families(text);
  expect(fams.size).toBeGreaterThan(5);
  for (const [name, f] of fams) {
    expect(f.help, `${name} has # HELP`).toBe(true);
    expect(["counter", "gauge", "histogram"], `${name} type`).toContain(f.type);
    if (f.type === "counter") expect(name).toMatch(/_total$/);
  }
  // every sample belongs to a declared family
  for (const line of text.split("\n")) {
    if (line === "" || line.startsWith("#")) continue;
    const name = /^[a-zA-Z_:][a-zA-Z0-9_:]*/.exec(line)![0];
    const base = name.replace(/_(bucket|sum|count)$/, "");
    expect(fams.has(name) || fams.get(base)?.type === "histogram", `${name} declared`).toBe(true);
  }
}

describe("GET /metrics, /health, /ready on both planes (real processes, promtool)", () => {
  let admin: mysql.Connection;
  let cp: ControlPlaneProcess;
  let dp: DataPlaneProcess;
  let peer: UdpPeer;

  beforeAll(async () => {
    admin = await freshE2eDatabase(DB);
    peer = await UdpPeer.open(0);
    // the destination: answers every request with 200
    peer.onMessage = (text, r) => {
      if (text.startsWith("SIP/2.0")) return;
      const head = text.split("\r\n\r\n")[0]!.split("\r\n");
      const keep = head.filter((l) => /^(via|from|to|call-id|cseq):/i.test(l));
      peer.sock.send(Buffer.from(["SIP/2.0 200 OK", ...keep, "Content-Length: 0", "", ""].join("\r\n"), "latin1"), r.port, r.address);
    };
    cp = await startControlPlaneProcess({ db: DB, apiPort: CP_API, grpcPort: CP_GRPC, pollMs: 200, cdcMs: 50 });
    await admin.query("INSERT INTO dispatcher (setid, destination, flags, priority, attrs, description) VALUES (1, ?, 0, 0, '', 'peer')", [`sip:127.0.0.1:${peer.port}`]);
    dp = await startDataPlaneProcess({ node: "obs-1", sipPort: DP_SIP, controlPort: DP_CTL, controlPlane: cp.grpcUrl });
    await waitUntil("the dispatcher row on the data plane", async () => (await scrape(DP_CTL)).includes(`destination="sip:127.0.0.1:${peer.port}"`), 20_000, [cp, dp]);
  }, 120_000);
  afterAll(async () => {
    peer?.close();
    await stopAllProcesses();
    await dropE2eDatabase(admin, DB);
    await admin?.end();
  });

  it("data plane: typed families with HELP, promtool-clean, gauges and per-destination histograms", async () => {
    for (let i = 0; i < 3; i++) {
      const callId = `obs-${i}-${process.pid}@test`;
      const c = await UdpPeer.open(0);
      c.send(request("OPTIONS", `sip:x@127.0.0.1:${DP_SIP}`, { port: c.port, callId }), DP_SIP);
      expect(statusOf(await c.wait((t) => t.includes(callId)))).toBe(200);
      c.close();
    }
    const text = await scrape(DP_CTL);
    const check = await promtool(text);
    expect(check.out).toBe("");
    expect(check.code).toBe(0);
    checkFamilies(text);
    const fams = families(text);
    expect(fams.get("olelo_core_rcv_requests_total")?.type).toBe("counter");
    expect(sample(text, "olelo_core_rcv_requests_total")).toBeGreaterThanOrEqual(3);
    for (const g of ["olelo_tmx_inuse_transactions", "olelo_tmx_active_transactions", "olelo_dialog_active_dialogs", "olelo_usrloc_registered_users", "olelo_tcp_connections"]) {
      if (fams.has(g)) expect(fams.get(g)!.type, g).toBe("gauge");
    }
    expect(fams.get("olelo_tmx_inuse_transactions")?.type).toBe("gauge");
    expect(fams.get("olelo_transport_connections")?.type).toBe("gauge");
    expect(sample(text, "olelo_control_plane_connected")).toBe(1);
    expect(sample(text, "olelo_dispatcher_destination_up", { set: "1", destination: `sip:127.0.0.1:${peer.port}` })).toBe(1);
    const dest = `udp:127.0.0.1:${peer.port}`;
    expect(fams.get("olelo_tm_first_reply_seconds")?.type).toBe("histogram");
    expect(sample(text, "olelo_tm_first_reply_seconds_count", { destination: dest })).toBe(3);
    expect(sample(text, "olelo_tm_first_reply_seconds_bucket", { destination: dest, le: "+Inf" })).toBe(3);
    expect(sample(text, "olelo_tm_branch_duration_seconds_count", { destination: dest, outcome: "reply" })).toBe(3);
    expect(sample(text, "olelo_tm_transaction_duration_seconds_count", { method: "OPTIONS" })).toBeGreaterThanOrEqual(3);
  });

  it("control plane: its own /metrics (versions per kind, pushes, NACKs, nodes), promtool-clean", async () => {
    const text = await scrape(CP_API);
    const check = await promtool(text);
    expect(check.out).toBe("");
    expect(check.code).toBe(0);
    checkFamilies(text);
    expect(sample(text, "olelo_cp_nodes_connected")).toBe(1);
    expect(sample(text, "olelo_cp_table_version_info", { kind: "dispatcher" })).toBe(1);
    expect(sample(text, "olelo_cp_table_rows", { kind: "dispatcher" })).toBe(1);
    expect(sample(text, "olelo_cp_node_table_in_sync", { node: "obs-1", kind: "dispatcher" })).toBe(1);
    expect(sample(text, "olelo_cp_push_versions_total", { mode: "full" })).toBeGreaterThanOrEqual(1);
    expect(families(text).get("olelo_cp_push_nacks_total")?.type).toBe("counter");
    expect(sample(text, "olelo_cp_rows_refused", { kind: "dispatcher" })).toBe(0);
    expect(families(text).get("olelo_cp_cdc_changes_total")?.type).toBe("counter");
    expect(sample(text, "olelo_cp_cdc_stream_lost")).toBe(0);
    expect(text).not.toMatch(/cdc_lag/); // no invented value
  });

  it("/health and /ready on both planes; a data plane with no control plane and no cache is not ready", async () => {
    for (const port of [DP_CTL, CP_API]) {
      const h = await fetch(`http://127.0.0.1:${port}/health`);
      expect(h.status).toBe(200);
      expect(((await h.json()) as { status: string }).status).toBe("ok");
      const r = await fetch(`http://127.0.0.1:${port}/ready`);
      expect(r.status, `ready on ${port}`).toBe(200);
      expect(((await r.json()) as { ready: boolean }).ready).toBe(true);
    }
    await cp.stop();
    // the data plane keeps serving from its tables: live, still ready, but no longer connected
    await waitUntil("olelo_control_plane_connected 0", async () => sample(await scrape(DP_CTL), "olelo_control_plane_connected") === 0, 15_000, [dp]);
    expect((await fetch(`http://127.0.0.1:${DP_CTL}/ready`)).status).toBe(200);
    // a fresh node (no cache) while the control plane is down: alive, not ready
    const dp2 = await startDataPlaneProcess({ node: "obs-2", sipPort: DP2_SIP, controlPort: DP2_CTL, controlPlane: cp.grpcUrl });
    expect((await fetch(`http://127.0.0.1:${DP2_CTL}/health`)).status).toBe(200);
    const r2 = await fetch(`http://127.0.0.1:${DP2_CTL}/ready`);
    expect(r2.status).toBe(503);
    const body = (await r2.json()) as { ready: boolean; checks: { controlPlane: { connected: boolean } } };
    expect(body.ready).toBe(false);
    expect(body.checks.controlPlane.connected).toBe(false);
    await dp2.stop();
  }, 60_000);
});
