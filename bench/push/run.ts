/**
 * Table push benchmark: 1,000,000 prefix_route rows and 10,000 lcr_gw gateways compiled by the
 * control plane's validators, encoded into chunks, pushed over gRPC on loopback to two data-plane
 * child processes (real sync client + TableRegistry with a Map-building sink) until both ACK.
 * Then one prefix changes and the new version (state of the world: all rows again) is pushed.
 *
 * Run: npx tsx bench/push/run.ts [--prefixes N] [--gateways N] [--nodes N]
 * Prints one table of figures; nothing is asserted (benchmarks are not tests).
 */
import { kindDef } from "../../control-plane/compile/kinds.js";
import { createMemorySource } from "../../control-plane/push/push-source.js";
import { createPushServer } from "../../control-plane/push/server.js";
import { setLogSink } from "../../data-plane/core/log/logger.js";
import type { TableSet } from "../../data-plane/core/tables/registry.js";
import { spawnJsonChild, type JsonChild, type JsonEvent } from "../../data-plane/sync/testing/json-child.js";
import { lcrGwRows, prefixRouteRows } from "../../data-plane/sync/testing/sample-rows.js";
import { encodeTableChunks } from "../../data-plane/sync/wire/table-chunks.js";

setLogSink(() => {});

function arg(name: string, def: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : def;
}
const PREFIXES = arg("prefixes", 1_000_000);
const GATEWAYS = arg("gateways", 10_000);
const NODES = arg("nodes", 2);

const mb = (n: number) => `${(n / 1048576).toFixed(1)} MiB`;
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
  const server = await createPushServer({ source, host: "127.0.0.1", port: 0 });
  const nodes: JsonChild[] = [];
  for (let i = 0; i < NODES; i++) {
    nodes.push(spawnJsonChild("data-plane/sync/fixtures/sync-node-process.ts", [server.address, `bench-dp-${i + 1}`, "lcr,prefix_route"]));
  }
  const ready = await Promise.all(nodes.map((n) => n.waitFor((e) => e.event === "ready", 60_000)));

  const pushRound = async (label: string, pVersion: string, set: TableSet, withLcr: boolean) => {
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
      const r = (st.status as { lastReceived: Record<string, { receiveMs: number; loadMs: number; chunks: number }> }).lastReceived.prefix_route!;
      parts.push(`receive+decode ${ms(r.receiveMs)} (${r.chunks} chunks), load ${ms(r.loadMs)}`);
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
  await pushRound("one-row change", "p-2", { prefix_route: changed }, false);

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
