/**
 * How long the routing modules' table compilers take on big tables run to the end at once (what
 * the control plane spends validating a push; in the data plane, sets of more than 50,000 rows
 * compile in ≈4 ms slices instead, see tables/kit/sliced.ts), and one lookup figure per module.
 *
 *   npx tsx bench/prefix-lookup/compile-tables.ts [--rows 300000]
 */
import { performance } from "node:perf_hooks";
import { compileCarrierrouteTables } from "../../tables/carrierroute/table.js";
import { compileDroutingTables } from "../../tables/drouting/table.js";
import { findRule } from "../../tables/drouting/route.js";
import { createCalendar } from "../../tables/drouting/calendar.js";
import { loadGws } from "../../tables/lcr/load-gws.js";
import { compileLcrTables } from "../../tables/lcr/table.js";
import { compileMtreeTables } from "../../tables/mtree/table.js";
import { compilePrefixRouteTables, lookupPrefixRoute } from "../../tables/prefix-route/table.js";
import type { TableRow } from "../../data-plane/core/tables/registry.js";
import { seededRandom as rng } from "../../lib/random/seeded.js";

const i = process.argv.indexOf("--rows");
const N = i >= 0 ? Number(process.argv[i + 1]) : 300_000;

const r = rng(1);
const digits = (len: number) => {
  let s = "";
  for (let k = 0; k < len; k++) s += String.fromCharCode(48 + Math.floor(r() * 10));
  return s;
};
const prefixes = (n: number, max = 12) => {
  const set = new Set<string>();
  while (set.size < n) set.add(digits(3 + Math.floor(r() * (max - 2))));
  return [...set];
};
function time<T>(label: string, f: () => T): T {
  const t0 = performance.now();
  const v = f();
  console.log(`${label}: ${(performance.now() - t0).toFixed(0)} ms`);
  return v;
}
function perLookup(label: string, keys: string[], f: (k: string) => unknown): void {
  const t0 = performance.now();
  let hits = 0;
  for (const k of keys) if (f(k) !== null && f(k) !== undefined) hits++;
  console.log(`  ${label}: ${(((performance.now() - t0) * 1e6) / keys.length / 2).toFixed(0)} ns per lookup (${hits} hits of ${keys.length})`);
}

console.log(`${N.toLocaleString()} rows per table`);
const numbers = Array.from({ length: 100_000 }, () => digits(15));

const pr = prefixes(N).map((p, k) => ({ prefix: p, route: `R${k % 50}` }));
const prc = time("prefix_route compile", () => compilePrefixRouteTables({ prefix_route: pr }));
perLookup("prefix_route lookup", numbers, (n) => lookupPrefixRoute(prc, n));

const mt = prefixes(N).map((p, k) => ({ id: k + 1, tname: "t", tprefix: p, tvalue: `v${k}` }));
time("mtree compile", () => compileMtreeTables({ mtrees: mt }));

const gws: TableRow[] = Array.from({ length: 50 }, (_, k) => ({ id: k + 1, lcr_id: 1, ip_addr: `10.0.${k >> 8}.${k & 255}` }));
const rules: TableRow[] = prefixes(N, 10).map((p, k) => ({ id: k + 1, lcr_id: 1, prefix: p }));
const targets: TableRow[] = rules.flatMap((ru, k) => [
  { id: 2 * k + 1, lcr_id: 1, rule_id: ru["id"], gw_id: 1 + (k % 50), priority: 0, weight: 1 },
  { id: 2 * k + 2, lcr_id: 1, rule_id: ru["id"], gw_id: 1 + ((k + 7) % 50), priority: 1, weight: 2 },
]);
const lcr = time(`lcr compile (${rules.length} rules, ${targets.length} targets)`, () => compileLcrTables({ lcr_gw: gws, lcr_rule: rules, lcr_rule_target: targets }));
const inst = lcr.instances.get(1)!;
const opts = { now: 0, random: Math.random, weighting: "proportional" as const, priorityOrdering: false, mtree: null, defunctUntil: () => 0 };
perLookup("lcr load_gws", numbers, (n) => {
  const res = loadGws(inst, { uriUser: n, callerUri: "", callerUser: null, requestUri: "sip:x" }, opts);
  return res.ok && res.gws.length > 0 ? res : null;
});

const drg: TableRow[] = Array.from({ length: 50 }, (_, k) => ({ gwid: k + 1, address: `10.1.0.${k + 1}` }));
const drr: TableRow[] = prefixes(N, 10).map((p, k) => ({ ruleid: k + 1, groupid: String(1 + (k % 3)), prefix: p, priority: k % 4, gwlist: `${1 + (k % 50)},${1 + ((k + 1) % 50)};${1 + ((k + 2) % 50)}`, timerec: k % 10 === 0 ? "20240101T080000|10H|weekly|||MO,TU,WE,TH,FR" : "" }));
const dr = time("drouting compile", () => compileDroutingTables({ dr_gateways: drg, dr_rules: drr }));
const cal = createCalendar("UTC");
const now = Date.now() / 1000;
perLookup("drouting rule lookup", numbers, (n) => findRule(dr, 1, n, now, cal));

const crRows: TableRow[] = prefixes(N).map((p, k) => ({ id: k + 1, carrier: 1, domain: 1, scan_prefix: p, prob: 1, rewrite_host: `gw${k % 50}.example` }));
time("carrierroute compile", () =>
  compileCarrierrouteTables({ carrier_name: [{ id: 1, carrier: "default" }], domain_name: [{ id: 1, domain: "d" }], carrierroute: crRows }),
);
