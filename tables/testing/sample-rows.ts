/**
 * Generators of Kamailio-shaped rows for tests and the push benchmark.
 *
 * @example
 *   dispatcherRows(3, "a"); // three `dispatcher` rows whose destinations end in "a"
 */
import type { TableRow } from "../rows.js";

/** `dispatcher` rows with ids 1..n. */
export function dispatcherRows(n: number, tag = ""): TableRow[] {
  const rows: TableRow[] = [];
  for (let i = 1; i <= n; i++) {
    rows.push({ id: i, setid: 1 + (i % 3), destination: `sip:10.0.${i >> 8}.${i & 255}:5060${tag}`, flags: 0, priority: i % 5, attrs: i % 2 ? `duid=gw${i};weight=50` : null, description: "" });
  }
  return rows;
}

/** `prefix_route` rows: n distinct digit prefixes mapped to 50 route names. */
export function prefixRouteRows(n: number, base = 4_900_000_000): TableRow[] {
  const rows: TableRow[] = new Array(n);
  for (let i = 0; i < n; i++) rows[i] = { prefix: String(base + i), route: `route_${i % 50}`, comment: i % 10 === 0 ? `block ${i / 10}` : "" };
  return rows;
}

/** `lcr_gw` rows with ids 1..n. */
export function lcrGwRows(n: number): TableRow[] {
  const rows: TableRow[] = new Array(n);
  for (let i = 0; i < n; i++) {
    const id = i + 1;
    rows[i] = {
      id, lcr_id: 1, gw_name: `gw${id}`, ip_addr: `10.${(id >> 16) & 255}.${(id >> 8) & 255}.${id & 255}`, hostname: null,
      port: 5060, params: null, uri_scheme: 1, transport: id % 3 === 0 ? 2 : 1, strip: 0, prefix: null, tag: `t${id}`, flags: 0, defunct: null,
    };
  }
  return rows;
}
