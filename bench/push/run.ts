/**
 * Table push benchmark: 1,000,000 prefix_route rows and 10,000 lcr_gw gateways compiled by the
 * control plane's validators, encoded into chunks, pushed over gRPC on loopback to two data-plane
 * child processes (real sync client + TableRegistry with a Map-building sink) until both ACK.
 * Then one prefix changes and the new version is pushed whole (state of the world, a push server
 * with deltas off); then a second push server with deltas on takes over the same port, the data
 * planes reconnect (nothing resent: they run its version), and one more prefix changes: that
 * version goes as a delta.
 *
 * Run: npx tsx bench/push/run.ts [--prefixes N] [--gateways N] [--nodes N]
 * Prints one table of figures; nothing is asserted (benchmarks are not tests).
 */
import { kindDef } from "../../control-plane/compile/kinds.js";
import { computeKindDelta } from "../../control-plane/push/compute-delta.js";
import { createMemorySource } from "../../control-plane/push/push-source.js";
import { createPushServer, type PushServer } from "../../control-plane/push/server.js";
import { setLogSink } from "../../lib/log/logger.js";
import type { TableSet } from "../../data-plane/core/tables/registry.js";
import { spawnJsonChild, type JsonChild, type JsonEvent } from "../../test/kit/json-child.js";
import { lcrGwRows, prefixRouteRows } from "../../tables/testing/sample-rows.js";
import { encodeKindDelta } from "../../tables/wire/delta-chunks.js";
import { digestTableSet } from "../../tables/wire/row-digest.js";
import { encodeTableChunks } from "../../tables/wire/table-chunks.js";

setLogSink(() => {});

function arg(name: string, def: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : def;
}
const PREFIXES = arg("prefixes", 1_000_000);
const GATEWAYS = arg("gateways", 10_000);
const NODES = arg("nodes", 2);

const mb = (n: number) => (Math.abs(n) < 102_400 ? `${n} B` : `${(n / 1048576).toFixed(1)} MiB`);
const ms = (n: number) => `${n.toFixed(0)} ms`;
const figures: Array<[string, string]> = [];
const note = (k: string, v: string) => {
  figures.push([k, v]);
  process.stderr.write(`  ${k}: ${v}\n`);
};

function timed<T>(fn: () => T): [T, number] {
  const t0 = performance.now();
  const r = fn();
  return [r, performance.now() - t0];
}

async function main(): Promise<void> {
  process.stderr.write(`push benchmark: ${PREFIXES} prefixes, ${GATEWAYS} gateways, ${NODES} data planes\n`);
  const [prefixSet, genPrefixMs] = timed((): TableSet => ({ prefix_route: prefixRouteRows(PREFIXES) }));
  const [lcrSet] = timed((): TableSet => ({ lcr_gw: lcrGwRows(GATEWAYS), lcr_rule: [], lcr_rule_target: [] }));
  note("generate rows (bench only)", ms(genPrefixMs));

  // Control-plane compile (validation) with the control plane's own kind definitions.
  const [, compilePrefixMs] = timed(() => kindDef("prefix_route")!.compile(prefixSet));
  const [, compileLcrMs] = timed(() => kindDef("lcr")!.compile(lcrSet));
  note("control-plane compile prefix_route", ms(compilePrefixMs));
  note("control-plane compile lcr (10k gw)", ms(compileLcrMs));

  // Encode once per version (what the push server does; it caches the result for all nodes).
  const [encP, encPMs] = timed(() => encodeTableChunks("prefix_route", prefixSet));
  const [encL, encLMs] = timed(() => encodeTableChunks("lcr", lcrSet));
  note("encode prefix_route", `${ms(encPMs)} → ${encP.chunks.length} chunks, ${mb(encP.bytes)}`);
  note("encode lcr", `${ms(encLMs)} → ${encL.chunks.length} chunks, ${mb(encL.bytes)}`);

  const source = createMemorySource();
  // First the state-of-the-world figures: deltas off.
  let server: PushServer = await createPushServer({ source, host: "127.0.0.1", port: 0, delta: { enabled: false } });
  const nodes: JsonChild[] = [];
  for (let i = 0; i < NODES; i++) {
    nodes.push(spawnJsonChild("data-plane/sync/fixtures/sync-node-process.ts", [server.address, `bench-dp-${i + 1}`, "lcr,prefix_route"]));
  }
  const ready = await Promise.all(nodes.map((n) => n.waitFor((e) => e.event === "ready", 60_000)));

  const pushRound = async (label: string, pVersion: string, set: TableSet, withLcr: boolean): Promise<JsonEvent[]> => {
    const bytes0 = server.bytesSent();
    const t0 = Date.now();
    if (withLcr) source.set("lcr", lcrSet, "lcr-1");
    source.set("prefix_route", set, pVersion);
    const applied = (v: string) => (e: JsonEvent) => e.event === "applied" && e.kind === "prefix_route" && e.version === v;
    const evs = await Promise.all(nodes.map((n) => n.waitFor(applied(pVersion), 300_000)));
    // ACKs as the control plane saw them.
    for (;;) {
      const all = server.nodes();
      if (all.length === NODES && all.every((n) => n.tables.find((t) => t.kind === "prefix_route")?.appliedVersion === pVersion)) break;
      await new Promise((r) => setTimeout(r, 5));
    }
    const ackMs = Date.now() - t0;
    note(`${label}: time until all ${NODES} data planes ACK`, ms(ackMs));
    note(`${label}: per data plane applied after`, evs.map((e) => ms((e.at as number) - t0)).join(", "));
    note(`${label}: bytes on the wire (frames, all nodes)`, `${mb(server.bytesSent() - bytes0)} (+5 B gRPC prefix per frame, HTTP/2 framing)`);
    const parts: string[] = [];
    for (const n of nodes) {
      const seen = n.events.length;
      n.send("status");
      const st = await n.waitFor((e) => e.event === "status" && n.events.indexOf(e) >= seen);
      type Rx = { mode: string; rows: number; receiveMs: number; loadMs: number; mergeMs: number; chunks: number; bytes: number };
      const r = (st.status as { lastReceived: Record<string, Rx> }).lastReceived.prefix_route!;
      parts.push(
        r.mode === "delta"
          ? `delta of ${r.rows} row(s) in ${r.chunks} chunk, ${r.bytes} B: receive ${ms(r.receiveMs)}, merge+check ${ms(r.mergeMs)}, load ${ms(r.loadMs)}`
          : `receive+decode ${ms(r.receiveMs)} (${r.chunks} chunks), load ${ms(r.loadMs)}`,
      );
    }
    note(`${label}: data plane split (prefix_route)`, parts.join(" | "));
    return evs;
  };

  const first = await pushRound("initial push", "p-1", prefixSet, true);
  for (let i = 0; i < NODES; i++) {
    const base = ready[i]!.baseline as { rss: number; heapUsed: number };
    const after = first[i]!.mem as { rss: number; heapUsed: number; arrayBuffers: number };
    note(`data plane ${i + 1} memory after apply (delta vs start)`, `RSS ${mb(after.rss)} (+${mb(after.rss - base.rss)}), heap ${mb(after.heapUsed)} (+${mb(after.heapUsed - base.heapUsed)})`);
  }

  // One prefix changes: a new version of the whole kind (state of the world per kind).
  const changed = prefixSet.prefix_route!.slice();
  changed[12345] = { ...changed[12345]!, route: "route_changed" };
  const changedSet: TableSet = { prefix_route: changed };
  await pushRound("one-row change, full push", "p-2", changedSet, false);

  // Deltas on: a second push server on the same address; the nodes reconnect and report p-2.
  const port = server.port;
  await server.close();
  server = await createPushServer({ source, host: "127.0.0.1", port });
  for (;;) {
    const all = server.nodes();
    if (all.length === NODES && all.every((n) => n.connected && n.tables.find((t) => t.kind === "prefix_route")?.appliedVersion === "p-2")) break;
    await new Promise((r) => setTimeout(r, 20));
  }
  if (server.bytesSent() !== 0) throw new Error("reconnect resent tables");
  const changed2 = changed.slice();
  changed2[654321] = { ...changed2[654321]!, route: "route_changed_again" };
  const changedSet2: TableSet = { prefix_route: changed2 };
  // What the push server does once per (base, version) pair, shared by every node on that base.
  const snapOf = (version: string, set: TableSet) => ({ kind: "prefix_route", version, set, rows: set.prefix_route!.length, compiledAt: "" });
  const [baseDigest, digestMs] = timed(() => digestTableSet("prefix_route", changedSet));
  const [delta, deltaMs] = timed(() => computeKindDelta(snapOf("p-2", changedSet), snapOf("p-3", changedSet2), baseDigest, { maxChangedRows: PREFIXES / 4 }));
  if (!delta.ok) throw new Error(`no delta: ${delta.reason}`);
  const [encD, encDMs] = timed(() => encodeKindDelta(delta.delta));
  note("control plane: row digest of a version (full pass, once per kept version)", ms(digestMs));
  note("control plane: compute delta (diff by key) / encode it", `${ms(deltaMs)} / ${ms(encDMs)} → ${encD.chunks.length} chunk, ${encD.bytes} B`);
  await pushRound("one-row change, delta", "p-3", changedSet2, false);
  const stats = server.pushStats();
  note("delta server push stats", `${stats.deltaSends} delta sends, ${stats.deltaBytes} B; ${stats.fullSends} full sends; ${stats.deltaFallbacks} fallbacks`);

  for (const n of nodes) n.proc.kill("SIGTERM");
  await Promise.all(nodes.map((n) => n.exited));
  await server.close();

  process.stdout.write(`\nTable push benchmark (${PREFIXES.toLocaleString("en")} prefix_route rows + ${GATEWAYS.toLocaleString("en")} lcr_gw, ${NODES} data-plane processes, loopback, Node ${process.version})\n`);
  const w = Math.max(...figures.map(([k]) => k.length));
  for (const [k, v] of figures) process.stdout.write(`  ${k.padEnd(w)}  ${v}\n`);
}

main().catch((e: unknown) => {
  process.stderr.write(`benchmark failed: ${e instanceof Error ? e.stack : String(e)}\n`);
  process.exit(1);
});
