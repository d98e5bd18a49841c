import { TableError, type TableRow, type TableSet } from "../rows.js";
import { AddressTable, type AddressEntry } from "./address-table.js";
import { IpTrie } from "./ip-trie.js";
import { formatIp, maskBytes, parseIpInto } from "../../lib/net/ip.js";
import { TRUSTED_PROTO_NUMBERS, TrustedTable, type TrustedEntry } from "./trusted-table.js";

/**
 * Pure compilers for the permissions tables (Kamailio `address` v6 and `trusted` v6 columns).
 * They validate every row and build the lookup structures without touching live state; the first
 * bad row throws a TableError naming the table, the row (id column, else 1-based position) and why.
 */

const HOSTNAME_RE = /^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*\.?$/i;

/** Row identity for error messages: the `id` column, else the 1-based position. */
export function rowId(row: TableRow, index: number): string | number {
  const id = row.id;
  return typeof id === "number" || (typeof id === "string" && id !== "") ? id : index + 1;
}

/** Reads an integer column: numbers or numeric strings; null/absent/"" give `def` (or an error if none). */
export function intColumn(
  table: string,
  id: string | number,
  row: TableRow,
  col: string,
  def: number | undefined,
  min: number,
  max: number,
): number {
  const v = row[col];
  let n: number;
  if (v === null || v === undefined || v === "") {
    if (def === undefined) throw new TableError(table, id, `column ${col} is required`);
    return def;
  }
  if (typeof v === "number") n = v;
  else if (typeof v === "bigint") n = Number(v);
  else if (typeof v === "string" && /^\s*[-+]?\d+\s*$/.test(v)) n = Number(v.trim());
  else throw new TableError(table, id, `column ${col} must be an integer, got ${JSON.stringify(v)}`);
  if (!Number.isInteger(n) || n < min || n > max) {
    throw new TableError(table, id, `column ${col} = ${String(v)} out of range ${min}..${max}`);
  }
  return n;
}

/** Reads a text column; null/absent give null, numbers are turned into text. */
export function textColumn(table: string, id: string | number, row: TableRow, col: string): string | null {
  const v = row[col];
  if (v === null || v === undefined) return null;
  if (typeof v === "string") return v;
  if (typeof v === "number" || typeof v === "bigint") return String(v);
  if (Buffer.isBuffer(v)) return v.toString("latin1");
  throw new TableError(table, id, `column ${col} must be text, got ${typeof v}`);
}

/**
 * Compiles `address` rows (id, grp, ip_addr, mask, port, tag). `mask` defaults to the full length
 * of the address family (Kamailio's column default is 32, which for an IPv6 row means a /32 subnet:
 * write 128 for IPv6 hosts). The address is masked to its network. Non-IP `ip_addr` values must be
 * DNS names and are matched literally.
 */
export function compileAddressRows(rows: readonly TableRow[], table = "address"): AddressTable {
  const entries: AddressEntry[] = [];
  const v4 = new IpTrie<AddressEntry>();
  const v6 = new IpTrie<AddressEntry>();
  const names = new Map<string, AddressEntry[]>();
  const buf = new Uint8Array(16);
  rows.forEach((row, i) => {
    if (typeof row !== "object" || row === null) throw new TableError(table, i + 1, "row is not an object");
    const id = rowId(row, i);
    const grp = intColumn(table, id, row, "grp", 1, 0, 0xffffffff);
    const ipText = textColumn(table, id, row, "ip_addr")?.trim() ?? "";
    if (ipText === "") throw new TableError(table, id, "column ip_addr is empty");
    const port = intColumn(table, id, row, "port", 0, 0, 65535);
    const tag = textColumn(table, id, row, "tag");
    const fam = parseIpInto(ipText, buf);
    if (fam === 0) {
      if (ipText.includes("/")) throw new TableError(table, id, `bad IP address '${ipText}' (put the prefix length in the mask column)`);
      if (!HOSTNAME_RE.test(ipText) || /^[\d.]+$/.test(ipText) || ipText.includes(":")) {
        throw new TableError(table, id, `bad IP address '${ipText}'`);
      }
      const e: AddressEntry = { id, grp, ip: ipText.toLowerCase(), family: 0, mask: 0, port, tag };
      entries.push(e);
      const list = names.get(e.ip);
      if (list) list.push(e);
      else names.set(e.ip, [e]);
      return;
    }
    const full = fam === 4 ? 32 : 128;
    const mask = intColumn(table, id, row, "mask", full, -1, Number.MAX_SAFE_INTEGER);
    if (mask < 0 || mask > full) throw new TableError(table, id, `mask ${mask} out of range 0..${full} for ${ipText}`);
    maskBytes(buf, fam, mask);
    const e: AddressEntry = { id, grp, ip: formatIp(fam, buf), family: fam, mask, port, tag };
    entries.push(e);
    (fam === 4 ? v4 : v6).insert(buf, mask, e);
  });
  return new AddressTable(entries, v4, v6, names);
}

function compilePattern(table: string, id: string | number, col: string, text: string | null): RegExp | null {
  if (text === null || text === "") return null;
  try {
    return new RegExp(text);
  } catch (e) {
    throw new TableError(table, id, `bad regular expression in ${col} '${text}': ${(e as Error).message}`);
  }
}

/**
 * Compiles `trusted` rows (id, src_ip, proto, from_pattern, ruri_pattern, tag, priority). Rows with
 * proto `none` are skipped (Kamailio's way to disable a row). Patterns are JavaScript regular
 * expressions (Kamailio uses POSIX regcomp; the common `^sip:.*@example\.com$` forms mean the same).
 */
export function compileTrustedRows(rows: readonly TableRow[], table = "trusted"): TrustedTable {
  const entries: TrustedEntry[] = [];
  const byIp = new Map<string, TrustedEntry[]>();
  const buf = new Uint8Array(16);
  rows.forEach((row, i) => {
    if (typeof row !== "object" || row === null) throw new TableError(table, i + 1, "row is not an object");
    const id = rowId(row, i);
    const src = textColumn(table, id, row, "src_ip")?.trim() ?? "";
    const fam = parseIpInto(src, buf);
    if (fam === 0) throw new TableError(table, id, `bad IP address '${src}' in src_ip`);
    const protoText = (textColumn(table, id, row, "proto") ?? "").trim().toLowerCase();
    if (protoText === "none") return;
    if (!(protoText in TRUSTED_PROTO_NUMBERS)) {
      throw new TableError(table, id, `unknown proto '${protoText}' (any, udp, tcp, tls, sctp, ws, wss, none)`);
    }
    const fromText = textColumn(table, id, row, "from_pattern");
    const ruriText = textColumn(table, id, row, "ruri_pattern");
    const e: TrustedEntry = {
      id,
      srcIp: formatIp(fam, buf),
      proto: protoText,
      fromPattern: compilePattern(table, id, "from_pattern", fromText),
      fromPatternText: fromText === "" ? null : fromText,
      ruriPattern: compilePattern(table, id, "ruri_pattern", ruriText),
      ruriPatternText: ruriText === "" ? null : ruriText,
      tag: textColumn(table, id, row, "tag"),
      priority: intColumn(table, id, row, "priority", 0, -0x80000000, 0x7fffffff),
    };
    entries.push(e);
    const list = byIp.get(e.srcIp);
    if (list) list.push(e);
    else byIp.set(e.srcIp, [e]);
  });
  // highest priority first; Array.prototype.sort is stable, so row order breaks ties
  for (const list of byIp.values()) list.sort((a, b) => b.priority - a.priority);
  return new TrustedTable(entries, byIp);
}

/** Table-sink compile for kind "address": requires the `address` table in the set. */
export function compileAddressSet(set: TableSet): AddressTable {
  const rows = set.address;
  if (!Array.isArray(rows)) throw new TableError("address", null, "table missing from the set");
  return compileAddressRows(rows);
}

/** Table-sink compile for kind "trusted": requires the `trusted` table in the set. */
export function compileTrustedSet(set: TableSet): TrustedTable {
  const rows = set.trusted;
  if (!Array.isArray(rows)) throw new TableError("trusted", null, "table missing from the set");
  return compileTrustedRows(rows);
}
