/**
 * String.prototype stays in V8's fast-properties mode in the started node (lib/runtime/fast-prototypes.ts).
 * A `class … extends String` anywhere (ioredis' VerbatimString, imported by every module with a Redis
 * store) turns it into a dictionary for good, and every `s.charCodeAt` / `s.indexOf` of the SIP parser
 * then goes through V8's generic LoadIC (15 % of the CPU per OPTIONS). The node is started as `npm start`
 * starts it, plus a preloaded probe (test/fixtures/runtime/prototype-probe.mjs) that prints, per thread,
 * what `%HasFastProperties` says:
 * - with `workers: 2` and the registrar (usrloc imports ioredis), the primary and both workers report
 *   String.prototype and Number.prototype fast (without restorePrimitivePrototypes() in
 *   loadScriptFile the two workers report string=false);
 * - after `script.reload` of a script that itself declares `class … extends String` and
 *   `extends Number`, every thread is fast again and the reloaded script answers.
 * Ports: freePortBlock(2): P = SIP, P + 1 = control API.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { rpcResult, spawnCommand, waitForPort, type TestProcess } from "./helpers/processes.js";
import { UdpPeer, request, statusOf } from "./helpers/udp-peer.js";
import { freePortBlock } from "./kit/ports.js";
import { waitUntil } from "./kit/wait.js";

const ROOT = resolve(import.meta.dirname, "..");
const API = join(ROOT, "data-plane/core/script/context.js");
const PROBE = join(ROOT, "test/fixtures/runtime/prototype-probe.mjs");

/** The last report of each thread after log offset `from`: threadId → "string=… number=…". */
function lastReports(log: string, from: number): Map<string, string> {
  const out = new Map<string, string>();
  for (const m of log.slice(from).matchAll(/prototype-probe thread=(\d+) (string=\w+ number=\w+)/g)) out.set(m[1]!, m[2]!);
  return out;
}

describe("primitive prototypes stay fast in the started node (workers: 2, registrar)", () => {
  const dir = mkdtempSync(join(tmpdir(), "olelo-fastproto-"));
  const script = join(dir, "s.ts");
  let sip = 0;
  let ctl = 0;
  let rpc = "";
  let node: TestProcess;
  let peer: UdpPeer;

  beforeAll(async () => {
    sip = await freePortBlock(2);
    ctl = sip + 1;
    writeFileSync(script, `import { defineScript } from ${JSON.stringify(API)};\nexport default defineScript(() => ({ request(req) { req.reply(200, "First"); } }));\n`);
    const cfg = join(dir, "olelo.json");
    writeFileSync(
      cfg,
      JSON.stringify({ node: "fastproto", workers: 2, listen: [`udp:127.0.0.1:${sip}`], control: { listen: `127.0.0.1:${ctl}` }, modules: { registrar: {} }, script: { file: script }, dataDir: join(dir, "data"), log: { level: "warn" } }),
    );
    // npm start's command line, with the probe preloaded
    node = spawnCommand("olelo", join(ROOT, "node_modules/.bin/node"), ["--import", "tsx", "--import", PROBE, "data-plane/main.ts", "--config", cfg]);
    await waitForPort(ctl, "127.0.0.1", 60_000, [node]);
    rpc = `http://127.0.0.1:${ctl}/RPC`;
    await waitUntil(async () => (await rpcResult(rpc, "core.workers")).workers.every((w: { state: string }) => w.state === "running"), { timeoutMs: 30_000, what: "2 workers running" });
    peer = await UdpPeer.open(0);
  }, 90_000);
  afterAll(async () => {
    peer?.close();
    await node?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it("the primary and both workers report String.prototype and Number.prototype fast", async () => {
    const from = node.log().length;
    await waitUntil(() => lastReports(node.log(), from).size >= 3, { timeoutMs: 10_000, what: "a report from 3 threads" });
    const r = lastReports(node.log(), from);
    expect([...r.values()]).toEqual(Array(r.size).fill("string=true number=true"));
  });

  it("stays fast after script.reload of a script declaring String and Number subclasses", async () => {
    writeFileSync(
      script,
      `import { defineScript } from ${JSON.stringify(API)};\nclass Tagged extends String {}\nclass Count extends Number {}\nexport default defineScript(() => ({ request(req) { req.reply(200, new Tagged("Second").toString() + new Count(2).valueOf()); } }));\n`,
    );
    const res = await rpcResult<{ path: string }>(rpc, "script.reload");
    expect(res.path).toBe(script);
    peer.send(request("OPTIONS", `sip:probe@127.0.0.1:${sip}`, { port: peer.port, callId: `fastproto-${process.pid}@test` }), sip);
    const answer = await peer.wait((t) => t.includes(`fastproto-${process.pid}@test`), 3000);
    expect(statusOf(answer)).toBe(200);
    expect(answer).toMatch(/^SIP\/2\.0 200 Second2/);
    const from = node.log().length;
    await waitUntil(() => lastReports(node.log(), from).size >= 3, { timeoutMs: 10_000, what: "a report from 3 threads after the reload" });
    const r = lastReports(node.log(), from);
    expect([...r.values()]).toEqual(Array(r.size).fill("string=true number=true"));
  });
});
