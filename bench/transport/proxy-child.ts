/**
 * The proxy under test for bench/transport, in its own process (forked with IPC by calls.ts and
 * conn-memory.ts): argv[2] is the JSON configuration. Answers IPC { cmd: "mem" } with memory
 * figures after a full GC (run with --expose-gc), { cmd: "cpu" } with process CPU time.
 */
import { readFileSync } from "node:fs";
import { buildConfig } from "../../data-plane/core/config-file.js";
import { startDataPlane } from "../../data-plane/node.js";

const raw = JSON.parse(process.argv[2]!) as Record<string, unknown>;
const cfg = buildConfig({ control: null, log: { level: "warn" }, dataDir: "/tmp/olelo-bench-transport", ...raw }, process.cwd());
const dp = await startDataPlane(cfg);

function rssKb(): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync("/proc/self/status", "utf8"));
  return m ? Number(m[1]) : 0;
}

process.on("message", (m: { cmd: string }) => {
  if (m.cmd === "mem") {
    const g = (globalThis as { gc?: () => void }).gc;
    if (g) {
      g();
      g();
    }
    const mu = process.memoryUsage();
    process.send!({ rssKb: rssKb(), heapUsed: mu.heapUsed, external: mu.external, arrayBuffers: mu.arrayBuffers, connections: dp.core.transport.connectionCount() });
  } else if (m.cmd === "cpu") {
    const c = process.cpuUsage();
    process.send!({ cpuMs: (c.user + c.system) / 1000 });
  } else if (m.cmd === "stop") {
    void dp.stop().then(() => process.exit(0));
  }
});
process.send!({ ready: true });
