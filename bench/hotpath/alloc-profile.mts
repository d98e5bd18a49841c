/**
 * Allocation profile of the in-process hot path (sampling heap profiler including objects already
 * collected): which functions allocate how much per call. npx tsx bench/hotpath/alloc-profile.mts
 */
import { Session } from "node:inspector/promises";
const s = new Session();
s.connect();
await s.post("HeapProfiler.enable");
await s.post("HeapProfiler.startSampling", { samplingInterval: 1024, includeObjectsCollectedByMajorGC: true, includeObjectsCollectedByMinorGC: true } as never);
process.argv[2] = "3000";
const origExit = process.exit;
(process as unknown as { exit: (c?: number) => void }).exit = () => {};
await import("./run.js");
const { profile } = (await s.post("HeapProfiler.stopSampling")) as { profile: { head: Node } };
interface Node { callFrame: { functionName: string; url: string; lineNumber: number }; selfSize: number; children: Node[] }
const byFn = new Map<string, number>();
const walk = (n: Node, parent: string) => {
  const cf = n.callFrame;
  const name = `${cf.functionName || "(anon)"} ${cf.url.split("/").pop()}:${cf.lineNumber + 1}`;
  const key = cf.url.includes("node:") || cf.url === "" ? `${name} <- ${parent}` : name;
  byFn.set(key, (byFn.get(key) ?? 0) + n.selfSize);
  for (const c of n.children) walk(c, cf.url.includes(process.cwd()) ? name : parent);
};
walk(profile.head, "");
const tot = [...byFn.values()].reduce((a, b) => a + b, 0);
console.log("total sampled MB", (tot / 1e6).toFixed(1));
for (const [k, v] of [...byFn].sort((a, b) => b[1] - a[1]).slice(0, 40)) console.log(((v / tot) * 100).toFixed(1).padStart(5) + "% " + k);
origExit(0);
