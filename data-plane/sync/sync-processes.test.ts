import { afterEach, describe, expect, it } from "vitest";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { BAD_ROW_MARKER } from "./testing/fake-sinks.js";
import { spawnJsonChild, type JsonChild, type JsonEvent } from "../../test/kit/json-child.js";
import { dispatcherRows } from "../../tables/testing/sample-rows.js";

/** The part of the control plane's `nodes()` answer (its NodeStatus) this test reads. */
interface NodeStatus {
  nodeId: string;
  connected: boolean;
  tables: Array<{ kind: string; appliedVersion: string | null; sentVersion: string | null; lastNackVersion: string | null; lastNackError: unknown }>;
}
import { freePort } from "../../test/kit/ports.js";

const children: JsonChild[] = [];
const dirs: string[] = [];

afterEach(async () => {
  for (const c of children.splice(0)) {
    if (c.proc.exitCode === null && c.proc.signalCode === null) c.proc.kill("SIGKILL");
    await c.exited;
  }
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

const PORT = await freePort();

function pushServer(): JsonChild {
  const c = spawnJsonChild("control-plane/push/fixtures/push-server-process.ts", [String(PORT)]);
  children.push(c);
  return c;
}

function dataPlane(nodeId: string, cacheDir: string): JsonChild {
  const c = spawnJsonChild("data-plane/sync/fixtures/sync-node-process.ts", [`127.0.0.1:${PORT}`, nodeId, "dispatcher,prefix_route", cacheDir]);
  children.push(c);
  return c;
}

const applied = (version: string, source = "control-plane") => (e: JsonEvent) => e.event === "applied" && e.version === version && e.source === source;

async function nodes(cp: JsonChild): Promise<NodeStatus[]> {
  const seen = cp.events.length;
  cp.send({ op: "nodes" });
  const ev = await cp.waitFor((e) => e.event === "nodes" && cp.events.indexOf(e) >= seen);
  return ev.nodes as NodeStatus[];
}

describe("table push between real processes", () => {
  it("two data-plane processes follow a control-plane process across versions, a NACK and a control-plane restart", async () => {
    const cache = mkdtempSync(join(tmpdir(), "olelo-sync-proc-"));
    dirs.push(cache);
    let cp = pushServer();
    await cp.waitFor((e) => e.event === "listening");
    cp.send({ op: "set", kind: "dispatcher", version: "d1", set: { dispatcher: dispatcherRows(3) } });
    cp.send({ op: "gen", kind: "prefix_route", version: "p1", prefixes: 20_000 });
    await cp.waitFor((e) => e.event === "set" && e.version === "p1");

    const a = dataPlane("proc-a", join(cache, "a"));
    const b = dataPlane("proc-b", join(cache, "b"));
    for (const dp of [a, b]) {
      await dp.waitFor(applied("d1"));
      await dp.waitFor((e) => applied("p1")(e) && e.rows === 20_000);
    }

    cp.send({ op: "set", kind: "dispatcher", version: "d2", set: { dispatcher: dispatcherRows(5) } });
    for (const dp of [a, b]) expect((await dp.waitFor(applied("d2"))).rows).toBe(5);

    const bad = dispatcherRows(5);
    bad[3]!.description = BAD_ROW_MARKER;
    cp.send({ op: "set", kind: "dispatcher", version: "d3", set: { dispatcher: bad } });
    for (const dp of [a, b]) expect((await dp.waitFor((e) => e.event === "rejected" && e.version === "d3")).error).toMatch(/dispatcher row 4/);
    let ns = await nodes(cp);
    while (ns.some((n) => n.tables.find((t) => t.kind === "dispatcher")?.lastNackVersion !== "d3")) ns = await nodes(cp);
    expect(ns.map((n) => [n.nodeId, n.connected, n.tables.find((t) => t.kind === "dispatcher")!.appliedVersion])).toEqual([
      ["proc-a", true, "d2"],
      ["proc-b", true, "d2"],
    ]);
    expect(ns[0]!.tables.find((t) => t.kind === "dispatcher")!.lastNackError).toMatchObject({ reason: "INVALID_ROW", table: "dispatcher", row: 4 });

    // The control plane dies; the data planes keep their tables and reconnect when it is back.
    cp.proc.kill("SIGKILL");
    await cp.exited;
    cp = pushServer();
    await cp.waitFor((e) => e.event === "listening");
    cp.send({ op: "set", kind: "dispatcher", version: "d4", set: { dispatcher: dispatcherRows(6) } });
    cp.send({ op: "gen", kind: "prefix_route", version: "p1", prefixes: 20_000 });
    for (const dp of [a, b]) expect((await dp.waitFor(applied("d4"), 20_000)).rows).toBe(6);
    ns = await nodes(cp);
    while (ns.length < 2 || ns.some((n) => n.tables.find((t) => t.kind === "dispatcher")?.appliedVersion !== "d4")) ns = await nodes(cp);
    // p1 was still running on both, reported in Hello, and not sent again.
    for (const n of ns) expect(n.tables.find((t) => t.kind === "prefix_route")).toMatchObject({ appliedVersion: "p1", sentVersion: null });
    for (const dp of [a, b]) expect(dp.events.filter(applied("p1"))).toHaveLength(1);

    // A data plane restarted while the control plane is down comes back from its cache.
    a.proc.kill("SIGTERM");
    expect(await a.exited).toBe(0);
    cp.proc.kill("SIGKILL");
    await cp.exited;
    const a2 = dataPlane("proc-a", join(cache, "a"));
    const ready = await a2.waitFor((e) => e.event === "ready");
    expect(ready.cacheLoaded).toEqual([
      { kind: "dispatcher", version: "d4", rows: 6 },
      { kind: "prefix_route", version: "p1", rows: 20_000 },
    ]);
    await a2.waitFor(applied("d4", "cache"));

    b.proc.kill("SIGTERM");
    a2.proc.kill("SIGTERM");
    expect(await b.exited).toBe(0);
    expect(await a2.exited).toBe(0);
  });
});
