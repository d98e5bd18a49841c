/**
 * Dispatcher end to end, reloads and bad input, with the default routing script: the list file
 * is rewritten and `dispatcher.reload` called over the control API (HTTP JSON-RPC) while sipp
 * calls run; bad list files and bad RPC parameters are refused with the line / parameter named
 * and the old sets stay; an empty set answers 404 "No destination". Ports: a block of 100 from test/kit/ports.ts (freePortBlock), P + offset.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startProxy } from "./helpers/proxy.js";
import { runSipp } from "./helpers/sipp.js";
import { listFile, rpc, startTracedUas, waitFor, writeAtomic, type TracedUas } from "./scripts/dispatcher-support.js";
import type { DataPlane } from "../data-plane/node.js";
import { freePortBlock } from "./kit/ports.js";
import { letTimePass } from "./kit/wait.js";

const P = await freePortBlock(100);

const PROXY = P;
const CONTROL = P + 1;
const [A, B, C] = [P + 10, P + 11, P + 12];
const uri = (p: number): string => `sip:127.0.0.1:${p}`;

type ListResult = { NRSETS: number; RECORDS: Array<{ SET: { ID: number; TARGETS: Array<{ DEST: { URI: string } }> } }> };

/** URIs of every set, from dispatcher.list over HTTP. */
async function sets(): Promise<Record<number, string[]>> {
  const r = (await rpc(CONTROL, "dispatcher.list", ["short"])).result as ListResult;
  const out: Record<number, string[]> = {};
  for (const rec of r.RECORDS) out[rec.SET.ID] = rec.SET.TARGETS.map((t) => t.DEST.URI).sort();
  return out;
}

describe("dispatcher reloads over the control API (default script)", () => {
  let dp: DataPlane;
  let list: string;
  const uas = new Map<number, TracedUas>();
  let uacPort = P + 20;

  beforeAll(async () => {
    const dir = mkdtempSync(join(tmpdir(), "olelo-ds-reload-"));
    list = join(dir, "dispatcher.list");
    writeFileSync(list, listFile([[1, uri(A)], [1, uri(B)]]));
    for (const p of [A, B, C]) uas.set(p, await startTracedUas(p));
    dp = await startProxy({
      listen: [`udp:127.0.0.1:${PROXY}`],
      control: { listen: `127.0.0.1:${CONTROL}` },
      script: { settings: { dispatcherSet: 1, dispatcherAlg: 4 } },
      modules: { dispatcher: { list_file: list, ping_interval: 0 } },
    });
  }, 30_000);

  afterAll(async () => {
    await dp?.stop();
    for (const u of uas.values()) await u.stop();
  });

  const reload = async (): Promise<unknown> => {
    const r = await rpc(CONTROL, "dispatcher.reload");
    expect(r.error, JSON.stringify(r.error)).toBeUndefined();
    return r.result;
  };

  it("changes the set under load with 0 failed calls; new destinations get calls, removed ones none", async () => {
    // 300 calls at 30/s (10 s); the set changes at 2, 4 and 6 s
    const run = runSipp({ scenario: "uac_rr.xml", port: uacPort++, remote: `127.0.0.1:${PROXY}`, calls: 300, rate: 30, service: "rl", timeoutS: 40 });
    const marks: Array<{ at: number; set: number[] }> = [];
    const step = async (ports: number[]) => {
      writeAtomic(list, listFile(ports.map((p) => [1, uri(p)] as const)));
      expect(await reload()).toBe("Ok. Dispatcher successfully reloaded.");
      marks.push({ at: Date.now(), set: ports });
      expect((await sets())[1]).toEqual(ports.map(uri).sort());
    };
    marks.push({ at: Date.now(), set: [A, B] });
    await letTimePass(2000, "calls run on this set for a while");
    await step([B, C]); // A removed, C added
    await letTimePass(2000, "calls run on this set for a while");
    await step([A, C]); // B removed, A back
    await letTimePass(2000, "calls run on this set for a while");
    // five concurrent reloads of the same file: all succeed (they are serialised, Kamailio #1939)
    writeAtomic(list, listFile([[1, uri(A)], [1, uri(B)], [1, uri(C)]]));
    const results = await Promise.all([1, 2, 3, 4, 5].map(() => rpc(CONTROL, "dispatcher.reload")));
    expect(results.map((r) => r.result)).toEqual(Array(5).fill("Ok. Dispatcher successfully reloaded."));
    marks.push({ at: Date.now(), set: [A, B, C] });
    expect((await sets())[1]).toEqual([A, B, C].map(uri).sort());

    const r = await run;
    expect(r.failed, r.errors + r.stderr).toBe(0);
    expect(r.successful).toBe(300);
    await waitFor(() => [A, B, C].reduce((n, p) => n + uas.get(p)!.invites("rl").length, 0) === 300, 5000, "300 INVITEs");

    // in each period, a UAS got INVITEs only if it was in the set; the UAS's trace clock is when
    // sipp read the INVITE, so 500 ms around each reload are left out for a loaded machine
    const MARGIN = 500;
    for (let k = 0; k < marks.length; k++) {
      const from = marks[k]!.at + MARGIN;
      const to = (marks[k + 1]?.at ?? Infinity) - MARGIN;
      for (const p of [A, B, C]) {
        const n = uas.get(p)!.invites("rl").filter((x) => x.at >= from && x.at <= to).length;
        if (marks[k]!.set.includes(p)) expect(n, `period ${k}: ${p} in the set gets calls`).toBeGreaterThan(0);
        else expect(n, `period ${k}: ${p} not in the set gets no calls`).toBe(0);
      }
    }
    const totals = ((await rpc(CONTROL, "dispatcher.stats")).result as { TOTALS: Record<string, number> }).TOTALS;
    expect(totals.reload_failures).toBe(0);
    expect(totals.reloads).toBeGreaterThanOrEqual(1 + 2 + 1); // start + two steps + at least one coalesced run
  }, 50_000);

  it("refuses a bad list file with the file and line named; the old sets stay and calls still flow", async () => {
    const before = await sets();
    const bad: Array<[string, RegExp]> = [
      [`1 ${uri(A)}\n1 ${uri(B)}\n1 ${uri(C)} zz\n`, /dispatcher\.list line 3: flags 'zz' is not a number$/],
      [`1 ${uri(A)}\n# comment\n\n1 ${uri(B)} 0 0 weight=500\n`, /dispatcher\.list line 4: attrs: weight=500 out of range 1\.\.100$/],
      [`1 ${uri(A)}\n1 ${uri(A)}\n`, new RegExp(String.raw`dispatcher\.list line 2: destination 'sip:127\.0\.0\.1:${P + 10}' already in set 1 \(row 1\)$`)],
      [`1 ${uri(A)}\n1 sip:127.0.0.1:${P + 11};transport=carrier-pigeon\n`, /dispatcher\.list line 2: .*transport/],
      [`x ${uri(A)}\n`, /dispatcher\.list line 1: setid 'x' is not a number$/],
      [`1 ${uri(A)}\n1\n`, /dispatcher\.list line 2: expected 'setid uri \[flags \[priority \[attrs\]\]\]', got '1'$/],
    ];
    for (const [text, re] of bad) {
      writeAtomic(list, text);
      const r = await rpc(CONTROL, "dispatcher.reload");
      expect(r.error, text).toBeDefined();
      expect(r.error!.code).toBe(500);
      expect(r.error!.message).toMatch(/^Reload Failed: /);
      expect(r.error!.message).toMatch(re);
      expect(await sets()).toEqual(before);
    }
    const run = await runSipp({ scenario: "uac_rr.xml", port: uacPort++, remote: `127.0.0.1:${PROXY}`, calls: 30, rate: 30, service: "after-bad", timeoutS: 30 });
    expect(run.failed, run.errors).toBe(0);
    await waitFor(() => [A, B, C].every((p) => uas.get(p)!.invites("after-bad").length === 10), 5000, "10 calls on each of the old set's 3 UAS");
    const totals = ((await rpc(CONTROL, "dispatcher.stats")).result as { TOTALS: Record<string, number> }).TOTALS;
    expect(totals.reload_failures).toBe(bad.length);
  }, 40_000);

  it("refuses bad RPC parameters with the parameter named and changes nothing", async () => {
    const before = JSON.stringify((await rpc(CONTROL, "dispatcher.list", ["short"])).result);
    const cases: Array<[string, unknown, number, string]> = [
      ["dispatcher.set_state", ["x", 1, uri(A)], -32602, "state"],
      ["dispatcher.set_state", ["a", "one", uri(A)], -32602, "group"],
      ["dispatcher.set_state", ["i", 99, uri(A)], 404, "group"],
      ["dispatcher.set_state", ["i", 1, "sip:127.0.0.1:1"], 404, "address"],
      ["dispatcher.set_state", { state: "i", group: 1 }, -32602, "address"],
      ["dispatcher.set_duid_state", ["i", 1, "nope"], 404, "duid"],
      ["dispatcher.list", ["everything"], -32602, "mode"],
      ["dispatcher.add", [1, "bogus:uri"], -32602, "address"],
      ["dispatcher.add", [1, `sip:127.0.0.1:${P + 99}`, 0, 0, "weight=500"], -32602, "attrs"],
      ["dispatcher.add", [1, `sip:127.0.0.1:${P + 99}`, "lots"], -32602, "flags"],
      ["dispatcher.add", [1, uri(A)], 409, "address"],
      ["dispatcher.remove", [7, uri(A)], 404, "group"],
      ["dispatcher.remove", [1, "sip:127.0.0.1:1"], 404, "address"],
      ["dispatcher.ping_active", [5], -32602, "state"],
      ["dispatcher.hash", [-1, "alice"], -32602, "nslots"],
      ["dispatcher.oclist", ["g"], -32602, "group"],
    ];
    for (const [method, params, code, param] of cases) {
      const r = await rpc(CONTROL, method, params);
      const what = `${method} ${JSON.stringify(params)} → ${JSON.stringify(r.error ?? r.result)}`;
      expect(r.error, what).toBeDefined();
      expect(r.error!.code, what).toBe(code);
      expect((r.error!.data as { param?: string } | undefined)?.param, what).toBe(param);
      expect(r.error!.message, what).toContain(param);
    }
    expect(JSON.stringify((await rpc(CONTROL, "dispatcher.list", ["short"])).result)).toBe(before);
  }, 30_000);

  it("answers 404 No destination when the set is empty after a reload, and routes again when it comes back", async () => {
    writeAtomic(list, `# only set 2 is left\n2 ${uri(C)}\n`);
    await reload();
    expect(await sets()).toEqual({ 2: [uri(C)] });
    const r = await runSipp({ scenario: "uac_expect.xml", port: uacPort++, remote: `127.0.0.1:${PROXY}`, calls: 5, rate: 10, service: "empty", templ: { code: "404" }, timeoutS: 20 });
    expect(r.failed, r.errors).toBe(0);
    expect(r.successful).toBe(5);
    expect([A, B, C].map((p) => uas.get(p)!.invites("empty").length)).toEqual([0, 0, 0]);

    writeAtomic(list, "# nothing at all\n");
    await reload();
    expect(((await rpc(CONTROL, "dispatcher.list")).result as ListResult).NRSETS).toBe(0);
    const r2 = await runSipp({ scenario: "uac_expect.xml", port: uacPort++, remote: `127.0.0.1:${PROXY}`, calls: 3, rate: 10, service: "empty", templ: { code: "404" }, timeoutS: 20 });
    expect(r2.failed, r2.errors).toBe(0);

    writeAtomic(list, listFile([[1, uri(B)]]));
    await reload();
    const r3 = await runSipp({ scenario: "uac_rr.xml", port: uacPort++, remote: `127.0.0.1:${PROXY}`, calls: 5, rate: 10, service: "back", timeoutS: 20 });
    expect(r3.failed, r3.errors).toBe(0);
    await waitFor(() => uas.get(B)!.invites("back").length === 5, 5000, "5 calls on B");
  }, 40_000);
});

describe("a bad list file at start", () => {
  it("stops the start with the file and line named", async () => {
    const dir = mkdtempSync(join(tmpdir(), "olelo-ds-badstart-"));
    const list = join(dir, "dispatcher.list");
    writeFileSync(list, `1 ${uri(A)}\n1 ${uri(B)} 0 0 maxload=lots\n`);
    await expect(
      startProxy({
        listen: [`udp:127.0.0.1:${P + 90}`],
        script: { settings: { dispatcherSet: 1 } },
        modules: { dispatcher: { list_file: list, ping_interval: 0 } },
      }),
    ).rejects.toThrow(/dispatcher: \S*dispatcher\.list line 2: attrs: maxload/);
  });
});
