/**
 * Dispatcher end to end, distribution per algorithm: sipp UAC → Olelo (dispatcher module, list
 * file) → 3 sipp UAS over real loopback UDP sockets. Which UAS got which INVITE is read from
 * each UAS's own sipp message trace, not from the proxy's counters.
 *
 * One proxy serves every algorithm: test/scripts/dispatcher-test.ts picks the set and
 * algorithm from the R-URI user prefix (`rr-…` → set 1 alg 4, …). Ports: a block of 100 from test/kit/ports.ts (freePortBlock).
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startProxy, TEST_SCRIPTS } from "./helpers/proxy.js";
import { runSipp } from "./helpers/sipp.js";
import { listFile, maxConcurrent, rpc, startTracedUas, waitFor, type TracedUas } from "./scripts/dispatcher-support.js";
import type { DataPlane } from "../data-plane/node.js";
import { freePortBlock } from "./kit/ports.js";

const BASE = await freePortBlock(100); // this file's ports: BASE … BASE + 99
const PROXY = BASE;
const CONTROL = BASE + 1;
const UAS_PORTS = [BASE + 10, BASE + 11, BASE + 12] as const;
const uri = (p: number): string => `sip:127.0.0.1:${p}`;
const [A, B, C] = UAS_PORTS;

describe("dispatcher distribution over 3 sipp UAS", () => {
  let dp: DataPlane;
  const uas: TracedUas[] = [];
  let uacPort = BASE + 20;

  beforeAll(async () => {
    const dir = mkdtempSync(join(tmpdir(), "olelo-ds-dist-"));
    const list = join(dir, "dispatcher.list");
    writeFileSync(
      list,
      "# set 1: round robin and hashing\n" +
        listFile([
          [1, uri(A)],
          [1, uri(B)],
          [1, uri(C)],
        ]) +
        "# set 2: weights 50/30/20\n" +
        listFile([
          [2, uri(A), 0, 0, "weight=50"],
          [2, uri(B), 0, 0, "weight=30"],
          [2, uri(C), 0, 0, "weight=20"],
        ]) +
        "# set 3: priorities, B (30) before C (20) before A (10)\n" +
        listFile([
          [3, uri(A), 0, 10],
          [3, uri(B), 0, 30],
          [3, uri(C), 0, 20],
        ]) +
        "# set 4: call load, at most 3 calls each\n" +
        listFile([
          [4, uri(A), 0, 0, "duid=a;maxload=3"],
          [4, uri(B), 0, 0, "duid=b;maxload=3"],
          [4, uri(C), 0, 0, "duid=c;maxload=3"],
        ]),
    );
    for (const p of UAS_PORTS) uas.push(await startTracedUas(p));
    dp = await startProxy({
      listen: [`udp:127.0.0.1:${PROXY}`],
      control: { listen: `127.0.0.1:${CONTROL}` },
      script: {
        file: join(TEST_SCRIPTS, "dispatcher-test.ts"),
        settings: { routes: { rr: [1, 4], h: [1, 3], w: [2, 9], p: [3, 8], l: [4, 10] } },
      },
      modules: { dispatcher: { list_file: list, ping_interval: 0 } },
    });
  }, 30_000);

  afterAll(async () => {
    await dp?.stop();
    for (const u of uas) await u.stop();
  });

  /** INVITEs per UAS (in UAS_PORTS order) whose R-URI user starts with `prefix`. */
  const counts = (prefix: string): number[] => uas.map((u) => u.invites(prefix).length);
  const total = (prefix: string): number => counts(prefix).reduce((a, b) => a + b, 0);

  async function calls(service: string, n: number, rate: number, extra: Record<string, unknown> = {}) {
    const r = await runSipp({ scenario: "uac_rr.xml", port: uacPort++, remote: `127.0.0.1:${PROXY}`, calls: n, rate, service, timeoutS: 40, ...extra });
    expect(r.failed, r.errors + r.stderr).toBe(0);
    expect(r.successful).toBe(n);
    return r;
  }

  it("round robin (alg 4) splits 90 calls exactly 30/30/30", async () => {
    await calls("rr-1", 90, 30);
    await waitFor(() => total("rr-") === 90, 5000, "90 INVITEs at the UAS");
    expect(counts("rr-")).toEqual([30, 30, 30]);
    // strict rotation: in the UAC's call order (sipp's Call-ID starts with the call number),
    // call n+3 goes where call n went, and calls n, n+1, n+2 go to three different UAS
    const where = new Map<number, number>();
    uas.forEach((u, i) => u.invites("rr-").forEach((r) => where.set(Number.parseInt(r.callId, 10), i)));
    const order = [...where.keys()].sort((a, b) => a - b).map((n) => where.get(n)!);
    expect(order).toHaveLength(90);
    for (let k = 3; k < order.length; k++) expect(order[k], `call #${k + 1}`).toBe(order[k - 3]);
    expect(new Set(order.slice(0, 3)).size).toBe(3);
  }, 40_000);

  it("weights (alg 9) 50/30/20 are met within 2 calls per 100", async () => {
    await calls("w-1", 200, 50);
    await waitFor(() => total("w-") === 200, 5000, "200 INVITEs at the UAS");
    const got = counts("w-");
    if (process.env.DS_TEST_LOG) console.log("alg 9 per UAS", got);
    // stated tolerance: ±2 percentage points (alg 9 deals 100 precomputed slots, so it is exact per 100)
    expect(Math.abs(got[0]! - 100)).toBeLessThanOrEqual(4);
    expect(Math.abs(got[1]! - 60)).toBeLessThanOrEqual(4);
    expect(Math.abs(got[2]! - 40)).toBeLessThanOrEqual(4);
  }, 40_000);

  it("hashing the R-URI (alg 3) keeps each key on one UAS, the one dispatcher.hash predicts", async () => {
    const keys = ["h-k1", "h-k2", "h-k3", "h-k4", "h-k5", "h-k6", "h-alice", "h-bob"];
    const dir = mkdtempSync(join(tmpdir(), "olelo-ds-inf-"));
    const inf = join(dir, "keys.csv");
    // each key 8 times, interleaved, so stickiness is not an artefact of sending keys in blocks
    const lines: string[] = [];
    for (let round = 0; round < 8; round++) for (const k of keys) lines.push(`${k};`);
    writeFileSync(inf, "SEQUENTIAL\n" + lines.join("\n") + "\n");
    await calls("unused", lines.length, 40, { templ: { service: "[field0]" }, extra: ["-inf", inf] });
    await waitFor(() => total("h-") === lines.length, 5000, `${lines.length} INVITEs at the UAS`);

    const listed = (await rpc(CONTROL, "dispatcher.list", ["short"])).result as {
      RECORDS: Array<{ SET: { ID: number; TARGETS: Array<{ DEST: { URI: string } }> } }>;
    };
    const set1 = listed.RECORDS.find((r) => r.SET.ID === 1)!.SET.TARGETS.map((t) => t.DEST.URI);
    const used = new Set<number>();
    for (const key of keys) {
      const perUas = uas.map((u) => u.invites(key).filter((r) => r.user === key).length);
      const where = perUas.findIndex((n) => n > 0);
      expect(perUas.filter((n) => n > 0), `key ${key} on one UAS only: ${perUas.join("/")}`).toHaveLength(1);
      expect(perUas[where]).toBe(8);
      used.add(where);
      const h = (await rpc(CONTROL, "dispatcher.hash", [3, key, `127.0.0.1:${PROXY}`])).result as { slot: number };
      expect(set1[h.slot], `dispatcher.hash predicts ${key}`).toBe(uri(UAS_PORTS[where]!));
    }
    expect(used.size, "the keys spread over more than one UAS").toBeGreaterThan(1);
  }, 40_000);

  it("serial by priority (alg 8) uses the highest priority, then the next when it is inactive", async () => {
    await calls("p-1", 20, 40);
    await waitFor(() => total("p-") === 20, 5000, "20 INVITEs");
    expect(counts("p-")).toEqual([0, 20, 0]); // B has priority 30

    expect((await rpc(CONTROL, "dispatcher.set_state", ["i", 3, uri(B)])).result).toBe("Ok. Dispatcher state updated.");
    await calls("p-2", 20, 40);
    await waitFor(() => total("p-2") === 20, 5000, "20 more INVITEs");
    expect(counts("p-2")).toEqual([0, 0, 20]); // C (20) before A (10)

    await rpc(CONTROL, "dispatcher.set_state", ["i", 3, uri(C)]);
    await calls("p-3", 10, 40);
    await waitFor(() => total("p-3") === 10, 5000, "10 more INVITEs");
    expect(counts("p-3")).toEqual([10, 0, 0]);

    await rpc(CONTROL, "dispatcher.set_state", ["a", 3, "all"]);
    await calls("p-4", 10, 40);
    await waitFor(() => total("p-4") === 10, 5000, "10 more INVITEs");
    expect(counts("p-4")).toEqual([0, 10, 0]);
  }, 40_000);

  it("call load (alg 10) never puts more than maxload=3 calls on a UAS; the excess gets 404", async () => {
    // 10 calls/s held 1.5 s each ≈ 15 calls wanted at once, 9 allowed: some must be refused
    const n = 40;
    const r = await runSipp({
      scenario: "ds_uac_or_404.xml",
      port: uacPort++,
      remote: `127.0.0.1:${PROXY}`,
      calls: n,
      rate: 10,
      service: "l-1",
      timeoutS: 40,
      extra: ["-d", "1500"],
    });
    expect(r.failed, r.errors + r.stderr).toBe(0);
    expect(r.successful).toBe(n);
    await waitFor(() => uas.every((u) => u.requests("BYE").length >= u.invites("l-").length), 5000, "every accepted call ended");
    const accepted = total("l-");
    if (process.env.DS_TEST_LOG) console.log("alg 10 accepted", accepted, "per UAS", counts("l-"));
    const peaks = uas.map((u) => maxConcurrent(u.requests(), "l-"));
    expect(peaks.every((p) => p <= 3), `peak calls per UAS ${peaks.join("/")}`).toBe(true);
    expect(peaks, "the cap was reached on every UAS").toEqual([3, 3, 3]);
    expect(accepted).toBeLessThan(n); // the rest were refused with 404 No destination
    expect(accepted).toBeGreaterThan(9);
    // every BYE released its load
    const listed = (await rpc(CONTROL, "dispatcher.list")).result as {
      RECORDS: Array<{ SET: { ID: number; TARGETS: Array<{ DEST: { RUNTIME?: { DLGLOAD: number } } }> } }>;
    };
    const loads = listed.RECORDS.find((x) => x.SET.ID === 4)!.SET.TARGETS.map((t) => t.DEST.RUNTIME?.DLGLOAD);
    expect(loads).toEqual([0, 0, 0]);
  }, 50_000);
});
