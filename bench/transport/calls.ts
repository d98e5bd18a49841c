/**
 * Calls per second through the proxy over UDP, TCP and TLS (bench/transport). Each leg pair runs
 * a step load (rates from RATES, STEP_SECS each; a step passes with 0 failed calls and an
 * achieved rate ≥ 90 % of the target; stepping stops at the first failing step):
 *   sipp-udp / sipp-tcp  sipp UAC → proxy → sipp UAS, same transport both legs (as sipbench does)
 *   node-udp / node-tcp / node-tls  load-ua.ts UAC → proxy → load-ua.ts UAS, same transport both
 *   legs (sipp on this machine is built without TLS, so TLS is driven by the Node generator; the
 *   Node UDP/TCP rows give the same generator's figure for comparison)
 * The proxy runs in its own process; its CPU share per step is reported (100 % = one core).
 * The Node UAS runs in a process of its own; on a 2-core machine the generator, the UAS and the
 * proxy share the cores, so the figures are a floor for the proxy (its CPU share shows headroom).
 * Usage: npx tsx bench/transport/calls.ts [modes...]   env: RATES="250 500 ...", STEP_SECS=10
 */
import { readFileSync, mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { makeTestPki } from "../../test/fixtures/tls/make-pki.js";
import { runSipp, startSippServer } from "../../test/helpers/sipp.js";
import { startProxyProcess } from "./proxy-process.js";
import { fork } from "node:child_process";
import { runLoad, type LoadTransport } from "./load-ua.js";

const RATES = (process.env.RATES ?? "250 500 750 1000 1250 1500 2000 2500 3000").split(/\s+/).map(Number);
const STEP = Number(process.env.STEP_SECS ?? 10);
const MODES = process.argv.slice(2).length ? process.argv.slice(2) : ["sipp-udp", "sipp-tcp", "node-udp", "node-tcp", "node-tls"];
const pki = makeTestPki();

/** The Node UAS in its own process, so it does not share the generator's event loop. */
async function startUasProcess(t: LoadTransport, port: number): Promise<() => void> {
  const child = fork(join(import.meta.dirname, "uas-child.ts"), [t, String(port), pki.server.cert, pki.server.key], {
    execArgv: ["--import", "tsx"],
    stdio: ["ignore", "inherit", "inherit", "ipc"],
  });
  await new Promise((r) => child.once("message", r));
  return () => child.kill();
}

interface Step {
  mode: string;
  rate: number;
  ok: number;
  failed: number;
  achieved: number;
  proxyCpu: number;
  pass: boolean;
}

async function runMode(mode: string): Promise<Step[]> {
  const [gen, t] = mode.split("-") as ["sipp" | "node", LoadTransport];
  const uasPort = 23910;
  const target = `sip:127.0.0.1:${uasPort}${t === "udp" ? "" : `;transport=${t}`}`;
  const proxy = await startProxyProcess({
    listen: ["udp:127.0.0.1:23920", "tcp:127.0.0.1:23920", { socket: "tls:127.0.0.1:23921", tls: { cert: pki.server.cert, key: pki.server.key } }],
    core: { tcp: { maxConnections: 20000 } },
    tls: { client: { ca: pki.ca } },
    script: { file: join(import.meta.dirname, "forward-script.ts"), settings: { target } },
  });
  const stopUas =
    gen === "sipp"
      ? await startSippServer({ scenario: "uas_rr.xml", port: uasPort, transport: t === "tcp" ? "t1" : "u1", timeoutS: 600 }).then((s) => () => void s.stop())
      : await startUasProcess(t, uasPort);
  const steps: Step[] = [];
  try {
    for (const rate of RATES) {
      const cpu0 = await proxy.ask<{ cpuMs: number }>("cpu");
      const t0 = Date.now();
      let ok: number;
      let failed: number;
      let secs: number;
      if (gen === "sipp") {
        const calls = rate * STEP;
        const r = await runSipp({ scenario: "uac_rr.xml", port: 23930, remote: "127.0.0.1:23920", calls, rate, service: "bob", transport: t === "tcp" ? "t1" : "u1", timeoutS: STEP * 3 + 10, extra: ["-buff_size", "1048576"] });
        secs = (Date.now() - t0) / 1000;
        ok = r.successful;
        failed = calls - r.successful;
      } else {
        const r = await runLoad({ transport: t, host: "127.0.0.1", port: t === "tls" ? 23921 : 23920, rate, seconds: STEP, ca: readFileSync(pki.ca) });
        secs = r.seconds;
        ok = r.ok;
        failed = r.failed;
      }
      const cpu1 = await proxy.ask<{ cpuMs: number }>("cpu");
      const achieved = ok / secs;
      const step: Step = { mode, rate, ok, failed, achieved, proxyCpu: ((cpu1.cpuMs - cpu0.cpuMs) / (secs * 1000)) * 100, pass: failed === 0 && achieved >= 0.9 * rate };
      steps.push(step);
      console.log(`${mode} rate=${rate} ok=${ok} failed=${failed} achieved=${achieved.toFixed(0)}/s proxy_cpu=${step.proxyCpu.toFixed(0)}% ${step.pass ? "PASS" : "FAIL"}`);
      if (!step.pass) break;
      await new Promise((r) => setTimeout(r, 1500));
    }
  } finally {
    stopUas();
    await proxy.stop();
  }
  return steps;
}

const all: Step[] = [];
for (const m of MODES) all.push(...(await runMode(m)));
// proxy CPU per call: comparable across transports even when the generators are the limit
const perCall = (s: Step) => (s.proxyCpu * 10 * (s.ok / s.achieved)) / Math.max(1, s.ok);
console.log("\nmode | highest passing target | achieved calls/s | proxy CPU at that step | proxy CPU ms per call (at 500/s)");
for (const m of MODES) {
  const best = all.filter((s) => s.mode === m && s.pass).at(-1);
  const at500 = all.find((s) => s.mode === m && s.rate === 500);
  console.log(
    `${m} | ${best?.rate ?? "-"} | ${best ? best.achieved.toFixed(0) : "-"} | ${best ? best.proxyCpu.toFixed(0) + " %" : "-"} | ${at500 ? perCall(at500).toFixed(3) : "-"}`,
  );
}
const outDir = join(import.meta.dirname, "out");
mkdirSync(outDir, { recursive: true });
writeFileSync(join(outDir, `calls-${Date.now()}.json`), JSON.stringify({ stepSecs: STEP, steps: all }, null, 2));
