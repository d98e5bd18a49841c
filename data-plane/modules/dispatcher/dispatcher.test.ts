import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeAll, describe, expect, it } from "vitest";
import { setLogLevel } from "../../core/api.js";
import { createDispatcher, type DispatcherModule } from "./dispatcher.js";
import { DS_INACTIVE, stateLetters } from "../../../tables/dispatcher/flags.js";
import { fakeHost, fakeRequest, flush, type FakeHost } from "./test-support.js";

beforeAll(() => setLogLevel("error"));

let mods: DispatcherModule[] = [];
afterEach(() => {
  for (const m of mods) m.destroy();
  mods = [];
});

/** A list "file" held in memory; reads can be held open to test concurrency. */
class MemFile {
  text: string;
  reads = 0;
  hold = false;
  private waiters: Array<() => void> = [];
  constructor(text: string) {
    this.text = text;
  }
  read = async (): Promise<string> => {
    this.reads++;
    const text = this.text; // the content at the moment the read starts
    if (this.hold) await new Promise<void>((r) => this.waiters.push(r));
    return text;
  };
  release(): void {
    for (const w of this.waiters.splice(0)) w();
  }
  get waiting(): number {
    return this.waiters.length;
  }
}

async function start(file: MemFile | null, config: Record<string, unknown> = {}): Promise<{ mod: DispatcherModule; host: FakeHost }> {
  const host = fakeHost({ ...(file ? { list_file: "dispatcher.list" } : {}), ping_interval: 0, ...config });
  const mod = await createDispatcher(host, { readFile: file ? file.read : async () => "", resolve: async () => [] });
  mods.push(mod);
  return { mod, host };
}

const st = (mod: DispatcherModule, uri: string, set = 1) => stateLetters(mod.engine.live.find(set, uri)!.rt.flags);

describe("module start", () => {
  it("loads the list file through the table registry (status and version recorded)", async () => {
    const dir = await mkdtemp(join(tmpdir(), "olelo-ds-"));
    try {
      const path = join(dir, "dispatcher.list");
      await writeFile(path, "1 sip:10.0.0.1:5080 8 10\n2 sip:10.0.0.2\n");
      const host = fakeHost({ list_file: "dispatcher.list", ping_interval: 0 });
      (host as { resolvePath: (p: string) => string }).resolvePath = (p) => join(dir, p);
      const mod = await createDispatcher(host, { resolve: async () => [] });
      mods.push(mod);
      expect(mod.api.listExists(1)).toBe(true);
      expect(mod.api.listExists(2)).toBe(true);
      expect(mod.api.listExists(3)).toBe(false);
      const s = host.tables.statusOf("dispatcher")!;
      expect(s.source).toBe(`file:${path}`);
      expect(s.version).toMatch(/^file:[0-9a-f]{16}$/);
      expect(s.rows).toBe(2);
      expect(mod.source()).toEqual({ kind: "file", path });
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it("refuses to start on a bad list file, naming the line, or an unreadable one", async () => {
    await expect(start(new MemFile("1 sip:10.0.0.1\n1 sip:10.0.0.2 0 0 weight=x\n"))).rejects.toThrow(/^dispatcher: \S*dispatcher\.list line 2: attrs: weight='x'/);
    const host = fakeHost({ list_file: "/nonexistent/dispatcher.list", ping_interval: 0 });
    await expect(createDispatcher(host)).rejects.toThrow(/cannot read list file \/nonexistent\/dispatcher.list/);
  });

  it("refuses bad parameters with a message naming them", async () => {
    await expect(start(null, { probing_mode: 7 })).rejects.toThrow("dispatcher: parameter 'probing_mode': must be 0, 1, 2 or 3, got 7");
    await expect(start(null, { ping_intervall: 5 })).rejects.toThrow(/parameter 'ping_intervall': unknown parameter/);
    await expect(start(null, { ping_reply_codes: "class=9" })).rejects.toThrow(/'ping_reply_codes': class 9 out of range/);
    await expect(start(null, { reload_state: "db-wins" })).rejects.toThrow(/'reload_state': must be "keep" or "reset"/);
    await expect(start(null, { latency_estimator_alpha: 1000 })).rejects.toThrow(/between 1 and 999/);
    // Kamailio's ds_-prefixed names are accepted
    const { mod } = await start(null, { ds_probing_threshold: "3", ds_ping_from: "sip:lb@example.com" });
    expect(mod.params.probingThreshold).toBe(3);
    expect(mod.params.pingFrom).toBe("sip:lb@example.com");
  });

  it("publishes dst_down at start for destinations that start inactive or disabled (Kamailio #4906)", async () => {
    const { host } = await start(new MemFile("1 sip:10.0.0.1 1\n1 sip:10.0.0.2 4 5\n1 sip:10.0.0.3 0\n"));
    expect(host.published().map((e) => [e.kind, e.data.uri, e.data.state, e.data.reason])).toEqual([
      ["dispatcher.dst_down", "sip:10.0.0.2", "DX", "initial"],
      ["dispatcher.dst_down", "sip:10.0.0.1", "IX", "initial"],
    ]);
  });

  it("without list_file starts empty and takes the control plane's table; reload re-applies it", async () => {
    const { mod, host } = await start(null);
    expect(mod.engine.live.sets.size).toBe(0);
    await expect(mod.reload()).rejects.toThrow(/no source to reload from/);
    const r = host.tables.load("dispatcher", { dispatcher: [{ id: 10, setid: 5, destination: "sip:10.5.5.5", flags: 0, priority: 0, attrs: "" }] }, "v7", "grpc");
    expect(r.ok).toBe(true);
    expect(mod.source()).toMatchObject({ kind: "table", version: "v7" });
    mod.engine.setState(mod.engine.live.find(5, "sip:10.5.5.5")!, DS_INACTIVE, { reason: "rpc" });
    await mod.reload();
    expect(st(mod, "sip:10.5.5.5", 5)).toBe("IX");
    const bad = host.tables.load("dispatcher", { dispatcher: [{ id: 11, setid: 5, destination: "bogus:x" }] }, "v8", "grpc");
    expect(bad.ok).toBe(false);
    expect(mod.api.listExists(5)).toBe(true);
    expect(host.tables.statusOf("dispatcher")!.lastError).toContain("dispatcher row 11");
  });
});

describe("reload", () => {
  it("keeps state, latency and counters of unchanged destinations; new ones start from flags", async () => {
    const f = new MemFile("1 sip:10.0.0.1\n1 sip:10.0.0.2\n");
    const { mod, host } = await start(f);
    const a = mod.engine.live.find(1, "sip:10.0.0.1")!;
    mod.engine.updateState(a, DS_INACTIVE, { reason: "script" });
    a.rt.latency.update(42, 0.9);
    a.rt.selected = 17;
    f.text = "1 sip:10.0.0.1\n1 SIP:10.0.0.3 1\n";
    const before = host.published().length;
    await mod.reload();
    const a2 = mod.engine.live.find(1, "sip:10.0.0.1")!;
    expect(a2.rt).toBe(a.rt);
    expect(st(mod, "sip:10.0.0.1")).toBe("IX");
    expect([a2.rt.selected, a2.rt.latency.average]).toEqual([17, 42]);
    expect(mod.engine.live.find(1, "sip:10.0.0.2")).toBeUndefined();
    expect(st(mod, "sip:10.0.0.3")).toBe("IX");
    // only the new, initially inactive destination produced an event
    expect(host.published().slice(before).map((e) => [e.kind, e.data.uri, e.data.reason])).toEqual([["dispatcher.dst_down", "SIP:10.0.0.3", "initial"]]);
  });

  it("a changed flags column re-seeds the state (removing P stops probing — Kamailio PR #2959)", async () => {
    const f = new MemFile("1 sip:10.0.0.1 8\n1 sip:10.0.0.2 0\n");
    const { mod, host } = await start(f);
    mod.engine.updateState(mod.engine.live.find(1, "sip:10.0.0.2")!, DS_INACTIVE, { reason: "script" });
    f.text = "1 sip:10.0.0.1 0\n1 sip:10.0.0.2 4\n";
    await mod.reload();
    expect(st(mod, "sip:10.0.0.1")).toBe("AX");
    expect(st(mod, "sip:10.0.0.2")).toBe("DX");
    f.text = "1 sip:10.0.0.1 0\n1 sip:10.0.0.2 0\n";
    await mod.reload();
    expect(st(mod, "sip:10.0.0.2")).toBe("AX");
    expect(host.published(["dispatcher.dst_up"]).map((e) => [e.data.uri, e.data.reason])).toEqual([["sip:10.0.0.2", "reload"]]);
  });

  it('reload_state "reset" re-seeds everything from flags, as Kamailio', async () => {
    const f = new MemFile("1 sip:10.0.0.1 8\n");
    const { mod } = await start(f, { reload_state: "reset" });
    const a = mod.engine.live.find(1, "sip:10.0.0.1")!;
    mod.engine.updateState(a, DS_INACTIVE, { reason: "script" });
    a.rt.selected = 3;
    await mod.reload();
    const a2 = mod.engine.live.find(1, "sip:10.0.0.1")!;
    expect(a2.rt).not.toBe(a.rt);
    expect([st(mod, "sip:10.0.0.1"), a2.rt.selected]).toEqual(["AP", 0]);
  });

  it("a bad file fails the reload and the old sets stay", async () => {
    const f = new MemFile("1 sip:10.0.0.1\n");
    const { mod, host } = await start(f);
    f.text = "1 sip:10.0.0.1\n2 sip:10.0.0.2 0 0 rweight=500\n";
    await expect(mod.reload()).rejects.toThrow(/dispatcher\.list line 2: attrs: rweight=500 out of range/);
    expect(mod.api.listExists(2)).toBe(false);
    expect(mod.api.listExists(1)).toBe(true);
    expect(host.stats.select("dispatcher:reload_failures")).toEqual([["dispatcher:reload_failures", 1]]);
    expect(await mod.api.reload()).toBe(false);
    f.text = "2 sip:10.0.0.2\n";
    expect(await mod.api.reload()).toBe(true);
    expect([mod.api.listExists(1), mod.api.listExists(2)]).toEqual([false, true]);
  });

  it("serialises concurrent reloads: never two at once, requests that wait share one run", async () => {
    const f = new MemFile("1 sip:10.0.0.1\n");
    const { mod } = await start(f);
    f.reads = 0;
    f.hold = true;
    const r1 = mod.reload();
    await flush();
    expect(f.waiting).toBe(1);
    f.text = "1 sip:10.0.0.1\n2 sip:10.0.0.2\n";
    const r2 = mod.reload();
    const r3 = mod.reload();
    expect(r3).toBe(r2);
    await flush();
    expect(f.reads).toBe(1); // the second run has not started while the first reads
    f.release();
    await r1;
    // r1 applied the content it read when it started
    expect([mod.api.listExists(1), mod.api.listExists(2)]).toEqual([true, false]);
    await flush();
    expect(f.reads).toBe(2); // now the shared second run reads the newer content
    f.text = "3 sip:10.0.0.3\n"; // written after the second read began: not seen by it
    f.release();
    await Promise.all([r2, r3]);
    expect([mod.api.listExists(1), mod.api.listExists(2), mod.api.listExists(3)]).toEqual([true, true, false]);
    expect(mod.queue.peakConcurrency).toBe(1);
  });

  it("a control-plane push that lands while the file is read wins over the file", async () => {
    const f = new MemFile("1 sip:10.0.0.1\n");
    const { mod, host } = await start(f);
    f.hold = true;
    const r = mod.reload();
    await flush();
    host.tables.load("dispatcher", { dispatcher: [{ id: 1, setid: 9, destination: "sip:10.9.9.9" }] }, "cp-1", "grpc");
    f.release();
    await r;
    expect(mod.api.listExists(9)).toBe(true);
    expect(mod.api.listExists(1)).toBe(false);
    expect(mod.source()).toMatchObject({ kind: "table", version: "cp-1" });
  });

  it("alg 10 loads survive a reload (counted per set and duid)", async () => {
    const f = new MemFile("1 sip:10.0.0.1 0 0 duid=a;maxload=1\n");
    const { mod } = await start(f);
    expect(mod.api.selectDst(fakeRequest({ callId: "c1" }), 1, 10)).toBe(true);
    await mod.reload();
    expect(mod.api.selectDst(fakeRequest({ callId: "c2" }), 1, 10)).toBe(false);
    mod.api.loadUpdate(fakeRequest({ method: "BYE", callId: "c1" }));
    expect(mod.api.selectDst(fakeRequest({ callId: "c2" }), 1, 10)).toBe(true);
  });
});
