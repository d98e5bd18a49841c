/**
 * Dispatcher end to end, health and failover, with the default routing script
 * (data-plane/scripts/default.ts, `dispatcherSet`): real OPTIONS keepalives through the core's
 * UAC to sipp UAS, a UAS killed (SIGKILL) in the middle of a sipp run, its restart, a UAS that
 * answers 503, and 404 "No destination" when every destination is down. Events are read over the
 * control API (events.since on HTTP JSON-RPC). Ports: a block of 100 from test/kit/ports.ts (freePortBlock).
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { mkdtempSync, readFileSync, existsSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startProxy } from "./helpers/proxy.js";
import { runSipp, startSippServer, type SippServer } from "./helpers/sipp.js";
import { flagsOf, listFile, rpc, startTracedUas, waitFor, type TracedUas } from "./scripts/dispatcher-support.js";
import type { DataPlane } from "../data-plane/node.js";
import { freePortBlock } from "./kit/ports.js";
import { letTimePass } from "./kit/wait.js";

const BASE = await freePortBlock(100); // this file's ports: BASE … BASE + 99
const uri = (p: number): string => `sip:127.0.0.1:${p}`;

interface DsEvent {
  seq: number;
  kind: string;
  ts: string;
  data: { set: number; uri: string; state: string; reason: string; code?: number };
}

/** dispatcher.* events published since `since`, read over HTTP JSON-RPC. */
async function eventsSince(control: number, since: number): Promise<DsEvent[]> {
  const r = await rpc(control, "events.since", { since, kinds: ["dispatcher."] });
  expect(r.error).toBeUndefined();
  return (r.result as { events: DsEvent[] }).events;
}

const PING = { ping_interval: 1, probing_mode: 1, probing_threshold: 2, inactive_threshold: 2, ping_timeout: 1000 } as const;
/** Worst case for a dead destination to be marked inactive by keepalives: threshold rounds + the last timeout. */
const DOWN_BOUND_MS = PING.probing_threshold * PING.ping_interval * 1000 + PING.ping_timeout;

describe("kill and restart a UAS under load (default script, round robin over 3)", () => {
  const PROXY = BASE;
  const CONTROL = BASE + 1;
  const [A, B, C] = [BASE + 10, BASE + 11, BASE + 12];
  let dp: DataPlane;
  const uas = new Map<number, TracedUas>();

  beforeAll(async () => {
    const dir = mkdtempSync(join(tmpdir(), "olelo-ds-fo-"));
    const list = join(dir, "dispatcher.list");
    writeFileSync(list, listFile([[1, uri(A)], [1, uri(B)], [1, uri(C)]]));
    // UAS that answer 200 without 180: see ds_uas_answer.xml for why
    for (const p of [A, B, C]) uas.set(p, await startTracedUas(p, "ds_uas_answer.xml"));
    dp = await startProxy({
      listen: [`udp:127.0.0.1:${PROXY}`],
      control: { listen: `127.0.0.1:${CONTROL}` },
      script: { settings: { dispatcherSet: 1, dispatcherAlg: 4 } },
      modules: { dispatcher: { list_file: list, ...PING } },
      // a dead UAS is noticed by the INVITE's fr_timer (no reply at all) after 1.5 s
      core: { tm: { frTimer: 1500, frInvTimer: 5000 } },
    });
    // keepalives have run and every destination is active + probing
    await waitFor(async () => [...flagsOf((await rpc(CONTROL, "dispatcher.list")).result).values()].every((f) => f === "AP"), 5000, "AP everywhere");
  }, 30_000);

  afterAll(async () => {
    await dp?.stop();
    for (const u of uas.values()) await u.stop();
  });

  it("marks the killed UAS inactive, fails its calls over with 0 failed, and brings it back on restart", async () => {
    const since = (await eventsSince(CONTROL, 0)).reduce((m, e) => Math.max(m, e.seq), 0);
    const logDir = mkdtempSync(join(tmpdir(), "olelo-ds-fo-uac-"));
    const logFile = join(logDir, "uac.log");
    // 240 calls at 30/s: 8 s of traffic; B is killed 2.5 s in
    const run = runSipp({
      scenario: "ds_uac_bye_gone.xml",
      port: BASE + 20,
      remote: `127.0.0.1:${PROXY}`,
      calls: 240,
      rate: 30,
      service: "fo",
      timeoutS: 45,
      extra: ["-trace_logs", "-log_file", logFile],
    });
    await letTimePass(2500, "calls run on both destinations before one is killed");
    const victim = uas.get(B)!;
    victim.server.proc.kill("SIGKILL");

    const down = await waitFor(
      async () => (await eventsSince(CONTROL, since)).some((e) => e.kind === "dispatcher.dst_down" && e.data.uri === uri(B)),
      DOWN_BOUND_MS + 3000,
      "dispatcher.dst_down for the killed UAS",
    );
    const selectedAtDown = ((await rpc(CONTROL, "dispatcher.stats")).result as { RECORDS: Array<{ URI: string; SELECTED: number }> }).RECORDS.find((x) => x.URI === uri(B))!.SELECTED;
    const r = await run;
    expect(r.code, r.errors + r.stderr).toBe(0);
    expect(r.failed, r.errors).toBe(0);
    expect(r.successful).toBe(240);

    // within the configured probes: the down event came no later than the keepalive bound (+ slack for a loaded box)
    expect(down).toBeLessThanOrEqual(DOWN_BOUND_MS + 2500);
    const evs = await eventsSince(CONTROL, since);
    const downEv = evs.find((e) => e.kind === "dispatcher.dst_down" && e.data.uri === uri(B))!;
    expect(["probe", "script"]).toContain(downEv.data.reason);
    expect(downEv.data.state[0]).toBe("I");
    expect(evs.filter((e) => e.kind === "dispatcher.dst_down").map((e) => e.data.uri)).toEqual([uri(B)]);

    // dialogs B had answered before it died are the only ones whose BYE could get a 408
    const gone = existsSync(logFile) ? [...readFileSync(logFile, "latin1").matchAll(/BYE-408 (\S+)/g)].map((m) => m[1]!) : [];
    const bInvites = new Set(victim.invites().map((x) => x.callId));
    const bByes = new Set(victim.requests("BYE").map((x) => x.callId));
    for (const cid of gone) expect(bInvites.has(cid) && !bByes.has(cid), `BYE-408 for ${cid}`).toBe(true);
    expect(gone.length).toBeLessThanOrEqual(2);

    // calls sent to dead B before it was marked down were failed over (INVITE timeout → next destination)
    const stats = (await rpc(CONTROL, "dispatcher.stats")).result as {
      TOTALS: Record<string, number>;
      RECORDS: Array<{ URI: string; FLAGS: string; SELECTED: number; FAILED: number; PROBES_FAILED: number }>;
    };
    const recB = stats.RECORDS.find((x) => x.URI === uri(B))!;
    expect(recB.FLAGS).toBe("IP");
    expect(recB.PROBES_FAILED).toBeGreaterThanOrEqual(PING.probing_threshold);
    // INVITEs that went to B after it died timed out and were failed over to the next destination
    expect(recB.FAILED).toBeGreaterThanOrEqual(1);
    expect(stats.TOTALS.failovers).toBe(recB.FAILED);
    // once marked down, B was never chosen again during the run
    expect(recB.SELECTED).toBe(selectedAtDown);
    // the survivors carried the rest: every call B did not take reached A or C exactly once
    // (+1 if B read an INVITE in the instant it was killed, before answering it)
    const survivors = uas.get(A)!.invites("fo").length + uas.get(C)!.invites("fo").length;
    const tookByB = victim.invites("fo").length;
    expect(survivors).toBeGreaterThanOrEqual(240 - tookByB);
    expect(survivors).toBeLessThanOrEqual(240 - tookByB + 1);

    // restart B on the same port: keepalives see it, inactive_threshold successes make it active
    const seqBefore = evs.reduce((m, e) => Math.max(m, e.seq), since);
    const reborn = await startTracedUas(B, "ds_uas_answer.xml");
    uas.set(B, reborn);
    await waitFor(
      async () => (await eventsSince(CONTROL, seqBefore)).some((e) => e.kind === "dispatcher.dst_up" && e.data.uri === uri(B)),
      PING.inactive_threshold * 1000 + PING.ping_timeout + 4000,
      "dispatcher.dst_up after the restart",
    );
    const upEv = (await eventsSince(CONTROL, seqBefore)).find((e) => e.kind === "dispatcher.dst_up")!;
    expect(upEv.data).toMatchObject({ set: 1, uri: uri(B), reason: "probe", code: 200, state: "AP" });
    expect(flagsOf((await rpc(CONTROL, "dispatcher.list")).result).get(`1|${uri(B)}`)).toBe("AP");

    // and it takes its share of new calls again
    const r2 = await runSipp({ scenario: "uac_rr.xml", port: BASE + 21, remote: `127.0.0.1:${PROXY}`, calls: 30, rate: 30, service: "again", timeoutS: 30 });
    expect(r2.failed, r2.errors).toBe(0);
    await waitFor(() => [A, B, C].reduce((n, p) => n + uas.get(p)!.invites("again").length, 0) === 30, 5000, "30 INVITEs");
    expect([A, B, C].map((p) => uas.get(p)!.invites("again").length)).toEqual([10, 10, 10]);
  }, 60_000);
});

describe("keepalives alone (no traffic)", () => {
  const PROXY = BASE + 30;
  const CONTROL = BASE + 31;
  const [A, B] = [BASE + 40, BASE + 41];
  let dp: DataPlane;
  let a: SippServer;
  let b: TracedUas;

  beforeAll(async () => {
    const dir = mkdtempSync(join(tmpdir(), "olelo-ds-ka-"));
    const list = join(dir, "dispatcher.list");
    writeFileSync(list, listFile([[1, uri(A)], [1, uri(B)]]));
    a = await startSippServer({ scenario: "uas_rr.xml", port: A, timeoutS: 120, extra: ["-aa"] });
    b = await startTracedUas(B);
    dp = await startProxy({
      listen: [`udp:127.0.0.1:${PROXY}`],
      control: { listen: `127.0.0.1:${CONTROL}` },
      script: { settings: { dispatcherSet: 1 } },
      modules: { dispatcher: { list_file: list, ...PING } },
    });
    await waitFor(async () => flagsOf((await rpc(CONTROL, "dispatcher.list")).result).get(`1|${uri(B)}`) === "AP", 5000, "B active");
  }, 30_000);

  afterAll(async () => {
    await dp?.stop();
    await a?.stop();
    await b?.stop();
  });

  it("turns a silent UAS inactive after probing_threshold failed OPTIONS and active after inactive_threshold answers", async () => {
    // keepalives are real OPTIONS requests that reached the UAS
    const opts = b.requests("OPTIONS");
    expect(opts.length).toBeGreaterThanOrEqual(1);
    expect(opts[0]!.ruri).toBe(uri(B));

    const since = (await eventsSince(CONTROL, 0)).reduce((m, e) => Math.max(m, e.seq), 0);
    b.server.proc.kill("SIGKILL");
    const tookDown = await waitFor(
      async () => (await eventsSince(CONTROL, since)).some((e) => e.kind === "dispatcher.dst_down"),
      DOWN_BOUND_MS + 4000,
      "dst_down from keepalives",
    );
    expect(tookDown).toBeLessThanOrEqual(DOWN_BOUND_MS + 1000 + 2000); // one interval of phase + slack
    const down = (await eventsSince(CONTROL, since)).filter((e) => e.kind === "dispatcher.dst_down");
    expect(down).toHaveLength(1);
    expect(down[0]!.data).toMatchObject({ set: 1, uri: uri(B), state: "IP", previous: "TP", reason: "probe", code: 408 });

    const st = (await rpc(CONTROL, "dispatcher.stats", [1])).result as { RECORDS: Array<{ URI: string; LAST_CODE: number; PROBES_FAILED: number }> };
    const rec = st.RECORDS.find((x) => x.URI === uri(B))!;
    expect(rec.LAST_CODE).toBe(408);
    expect(rec.PROBES_FAILED).toBeGreaterThanOrEqual(2);

    const since2 = down[0]!.seq;
    b = await startTracedUas(B);
    await waitFor(async () => (await eventsSince(CONTROL, since2)).some((e) => e.kind === "dispatcher.dst_up"), PING.inactive_threshold * 1000 + 4000, "dst_up");
    const up = (await eventsSince(CONTROL, since2)).filter((e) => e.kind.startsWith("dispatcher."));
    expect(up).toHaveLength(1);
    expect(up[0]!.data).toMatchObject({ uri: uri(B), state: "AP", previous: "IP", reason: "probe", code: 200 });
    expect(b.requests("OPTIONS").length).toBeGreaterThanOrEqual(PING.inactive_threshold);
  }, 40_000);
});

describe("5xx failover and no destination (default script)", () => {
  const PROXY = BASE + 50;
  const CONTROL = BASE + 51;
  const [BAD, GOOD] = [BASE + 60, BASE + 61];
  let dp: DataPlane;
  let bad: SippServer;
  let good: TracedUas;

  beforeAll(async () => {
    const dir = mkdtempSync(join(tmpdir(), "olelo-ds-5xx-"));
    const list = join(dir, "dispatcher.list");
    writeFileSync(list, listFile([[1, uri(BAD)], [1, uri(GOOD)]]));
    bad = await startSippServer({ scenario: "ds_uas_503.xml", port: BAD, timeoutS: 120 });
    good = await startTracedUas(GOOD);
    dp = await startProxy({
      listen: [`udp:127.0.0.1:${PROXY}`],
      control: { listen: `127.0.0.1:${CONTROL}` },
      script: { settings: { dispatcherSet: 1, dispatcherAlg: 4 } },
      modules: { dispatcher: { list_file: list, ping_interval: 0 } },
    });
  }, 30_000);

  afterAll(async () => {
    await dp?.stop();
    await bad?.stop();
    await good?.stop();
  });

  it("fails a 503 over to the next destination and marks the 503 one inactive", async () => {
    const r = await runSipp({ scenario: "uac_rr.xml", port: BASE + 70, remote: `127.0.0.1:${PROXY}`, calls: 20, rate: 20, service: "x", timeoutS: 30 });
    expect(r.failed, r.errors).toBe(0);
    expect(r.successful).toBe(20);
    const b = await bad.stop();
    expect(b.successful, "the 503 UAS got (and ACKed) at least one INVITE").toBeGreaterThanOrEqual(1);
    expect(good.invites("x")).toHaveLength(20);
    const stats = (await rpc(CONTROL, "dispatcher.stats")).result as { TOTALS: Record<string, number>; RECORDS: Array<{ URI: string; FLAGS: string; FAILED: number }> };
    expect(stats.RECORDS.find((x) => x.URI === uri(BAD))).toMatchObject({ FLAGS: "IP", FAILED: 1 });
    expect(stats.TOTALS.failovers).toBe(1);
  }, 40_000);

  it("answers 404 No destination when every destination is down", async () => {
    expect((await rpc(CONTROL, "dispatcher.set_state", ["i", 1, "all"])).result).toBe("Ok. Dispatcher state updated.");
    const r = await runSipp({ scenario: "uac_expect.xml", port: BASE + 71, remote: `127.0.0.1:${PROXY}`, calls: 5, rate: 10, service: "x", templ: { code: "404" }, timeoutS: 20 });
    expect(r.failed, r.errors).toBe(0);
    expect(r.successful).toBe(5);
    expect(good.invites("x")).toHaveLength(20); // nothing new reached the UAS
    const totals = ((await rpc(CONTROL, "dispatcher.stats")).result as { TOTALS: Record<string, number> }).TOTALS;
    expect(totals.no_destination).toBe(5);
  }, 30_000);
});
