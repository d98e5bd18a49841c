/**
 * Micro-benchmark for the shared prefix tree (lib/prefix-tree).
 *
 *   npx tsx bench/prefix-lookup/run.ts [--prefixes 1000000] [--lookups 1000000] [--seed 42]
 *
 * Reports: build time (synchronous and sliced), memory, average longest-prefix lookup time
 * (random 15-digit numbers, and numbers that extend a stored prefix), and the longest event-loop
 * pause seen while a second table is compiled with the sliced builder and swapped in by one
 * reference write, with lookups running against the live table all the time.
 */
import { PerformanceObserver, monitorEventLoopDelay, performance } from "node:perf_hooks";
import { PrefixTreeBuilder, yieldToEventLoop } from "../../lib/prefix-tree/build-prefix-tree.js";
import type { PrefixTree } from "../../lib/prefix-tree/prefix-tree.js";
import { seededRandom as rng } from "../../lib/random/seeded.js";

function arg(name: string, def: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : def;
}

const N = arg("prefixes", 1_000_000);
const LOOKUPS = arg("lookups", 1_000_000);
const SEED = arg("seed", 42);


function digits(r: () => number, len: number): string {
  let s = "";
  for (let i = 0; i < len; i++) s += String.fromCharCode(48 + Math.floor(r() * 10));
  return s;
}

/** Prefixes of 3..12 random digits (duplicates are skipped, so we draw until N are unique). */
function makePrefixes(r: () => number, n: number): string[] {
  const seen = new Set<string>();
  while (seen.size < n) seen.add(digits(r, 3 + Math.floor(r() * 10)));
  return [...seen];
}

function mb(bytes: number): string {
  return (bytes / 1024 / 1024).toFixed(1) + " MB";
}

function gc(): void {
  (globalThis as { gc?: () => void }).gc?.();
}

function timeLookups(tree: PrefixTree<number>, keys: string[], rounds: number): { nsPerLookup: number; hits: number; check: number } {
  let check = 0;
  let hits = 0;
  const total = keys.length * rounds;
  const t0 = performance.now();
  for (let r = 0; r < rounds; r++) {
    for (let i = 0; i < keys.length; i++) {
      const v = tree.longestIndex(keys[i]!);
      if (v >= 0) {
        hits++;
        check = (check + v) | 0;
      }
    }
  }
  const dt = performance.now() - t0;
  return { nsPerLookup: (dt * 1e6) / total, hits, check };
}

async function main(): Promise<void> {
  const r = rng(SEED);
  console.log(`node ${process.version}, ${N.toLocaleString()} random digit prefixes (3..12 digits), seed ${SEED}`);
  let prefixes = makePrefixes(r, N);

  gc();
  const heap0 = process.memoryUsage();
  const tb0 = performance.now();
  let tb1 = 0;
  const tree = ((): PrefixTree<number> => {
    const b = new PrefixTreeBuilder<number>({ alphabet: "0123456789" });
    for (let i = 0; i < prefixes.length; i++) b.add(prefixes[i]!, i);
    tb1 = performance.now();
    return b.build();
  })();
  const tb2 = performance.now();
  gc();
  const heap1 = process.memoryUsage();
  console.log(`build (sync): ${(tb2 - tb0).toFixed(0)} ms  (validate+record ${(tb1 - tb0).toFixed(0)} ms + trie build and layout ${(tb2 - tb1).toFixed(0)} ms)`);
  console.log(
    `tree: ${tree.size.toLocaleString()} keys, ${tree.nodeCount.toLocaleString()} nodes; ` +
      `node array ${mb(tree.memoryBytes)} (plus the ${tree.size.toLocaleString()}-entry value array)`,
  );
  console.log(
    `process after build${(globalThis as { gc?: unknown }).gc ? " (after gc)" : " (run with node --expose-gc --import tsx for exact figures)"}: ` +
      `rss ${mb(heap1.rss)}, heapUsed ${mb(heap1.heapUsed)} (before ${mb(heap0.heapUsed)}), arrayBuffers ${mb(heap1.arrayBuffers)} (before ${mb(heap0.arrayBuffers)})`,
  );

  // Lookup keys: random 15-digit numbers, and numbers that extend a stored prefix (deep hits).
  const KEYS = Math.min(LOOKUPS, 1_000_000);
  const rounds = Math.max(1, Math.round(LOOKUPS / KEYS));
  let randomKeys: string[] = [];
  for (let i = 0; i < KEYS; i++) randomKeys.push(digits(r, 15));
  let deepKeys: string[] = [];
  for (let i = 0; i < KEYS; i++) {
    const p = prefixes[Math.floor(r() * prefixes.length)]!;
    deepKeys.push(p + digits(r, 15 - p.length));
  }
  timeLookups(tree, randomKeys.slice(0, 100_000), 1); // warm-up (JIT)
  // Several rounds; the median resists other processes on a shared machine.
  const ROUNDS = 5;
  const a: ReturnType<typeof timeLookups>[] = [];
  const d: ReturnType<typeof timeLookups>[] = [];
  for (let k = 0; k < ROUNDS; k++) {
    a.push(timeLookups(tree, randomKeys, rounds));
    d.push(timeLookups(tree, deepKeys, rounds));
  }
  const report = (label: string, rs: ReturnType<typeof timeLookups>[]) => {
    const ns = rs.map((x) => x.nsPerLookup).sort((x, y) => x - y);
    console.log(
      `lookup, ${label}: median ${ns[Math.floor(ns.length / 2)]!.toFixed(0)} ns, best ${ns[0]!.toFixed(0)} ns, worst ${ns[ns.length - 1]!.toFixed(0)} ns ` +
        `(${ROUNDS} rounds of ${(KEYS * rounds).toLocaleString()} lookups, ${((100 * rs[0]!.hits) / (KEYS * rounds)).toFixed(1)}% hit)`,
    );
  };
  report("random 15-digit numbers", a);
  report("numbers extending a stored prefix", d);

  // Reload while serving: compile a second table in slices, swap, and watch the event loop.
  // The lookup-test data is dropped first so the heap holds what a proxy would: the live
  // table and the incoming rows.
  const trafficKeys = randomKeys.slice(0, 10_000);
  randomKeys = [];
  deepKeys = [];
  prefixes = [];
  const prefixes2 = makePrefixes(rng(SEED + 1), N);
  gc();
  let live: PrefixTree<number> = tree;
  const h = monitorEventLoopDelay({ resolution: 1 });
  h.enable();
  let maxGc = 0;
  let gcTotal = 0;
  const gcObs = new PerformanceObserver((list) => {
    for (const e of list.getEntries()) {
      gcTotal += e.duration;
      if (e.duration > maxGc) maxGc = e.duration;
    }
  });
  gcObs.observe({ entryTypes: ["gc"] });
  let maxGap = 0;
  let last = performance.now();
  let served = 0;
  let ticking = true;
  const tick = (): void => {
    const now = performance.now();
    if (now - last > maxGap) maxGap = now - last;
    last = now;
    for (let i = 0; i < 50; i++) live.longestIndex(trafficKeys[(served + i) % trafficKeys.length]!);
    served += 50;
    if (ticking) setImmediate(tick);
  };
  setImmediate(tick);
  await yieldToEventLoop();
  const tr0 = performance.now();
  const b2 = new PrefixTreeBuilder<number>({ alphabet: "0123456789" });
  for (let i = 0; i < prefixes2.length; i++) {
    b2.add(prefixes2[i]!, i);
    if ((i & 32767) === 32767) await yieldToEventLoop();
  }
  const next = await b2.buildAsync();
  live = next; // the swap: one reference write
  const tr1 = performance.now();
  await yieldToEventLoop();
  ticking = false;
  h.disable();
  gcObs.disconnect();
  console.log(
    `reload while serving (sliced build + swap): ${(tr1 - tr0).toFixed(0)} ms wall; longest event-loop pause ${maxGap.toFixed(2)} ms ` +
      `(setImmediate ticker), monitorEventLoopDelay max ${(h.max / 1e6).toFixed(2)} ms, p99 ${(h.percentile(99) / 1e6).toFixed(2)} ms; ` +
      `${served.toLocaleString()} lookups served meanwhile; new table ${live.size.toLocaleString()} keys; ` +
      `GC meanwhile ${gcTotal.toFixed(0)} ms in total, longest GC pause ${maxGc.toFixed(1)} ms`,
  );

  // For comparison: the same reload done synchronously blocks the loop for the whole build.
  const ts0 = performance.now();
  const b3 = new PrefixTreeBuilder<number>({ alphabet: "0123456789" });
  for (let i = 0; i < prefixes2.length; i++) b3.add(prefixes2[i]!, i);
  live = b3.build();
  console.log(`reload done synchronously instead: one pause of ${(performance.now() - ts0).toFixed(0)} ms`);
  console.log(`checksums ${a[0]!.check} ${d[0]!.check} ${live.size}`);
}

await main();
