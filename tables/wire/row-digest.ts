/**
 * A content digest of a table kind that both planes can keep up to date per changed row: every
 * row is hashed over its protobuf encoding (the bytes the push carries, which are the same
 * whether they come from SQL values on the control plane or from decoded rows on the data plane),
 * and the row hashes are summed mod 2^32 in two independent lanes. A sum is order independent
 * and can be updated in O(changed rows): subtract the hashes of replaced/removed rows, add the
 * new ones. A delta carries the digest of its result so a data plane never swaps in a table that
 * differs from the control plane's version (xDS has no such check; Kamailio reloads whole tables).
 *
 * The per-row hash is MurmurHash3 (x86, 32-bit) computed twice with seeds derived from the
 * table's field number, so equal rows in different tables of a kind hash differently. It is an
 * integrity check against bugs and divergence, not a defence against a malicious control plane.
 *
 * @example
 *   const d = new RowDigest(); d.addRow(plan.tables[0], row); d.toString(); // "9c1e0a77e2b4d301"
 *   digestTableSet("prefix_route", set) === d.toString();
 */
import type { TableRow, TableSet } from "../rows.js";
import { kindPlan, type TablePlan } from "./table-kinds.js";
import { WireWriter } from "./wire-buffer.js";

const C1 = 0xcc9e2d51;
const C2 = 0x1b873593;

function fmix(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** Scratch writer for hashing decoded rows (re-encoded one at a time, never kept). */
const scratch = new WireWriter(4096);

/** Order-independent digest of a multiset of rows (see the file comment). */
export class RowDigest {
  /** Lane sums (unsigned 32-bit). */
  lo = 0;
  hi = 0;

  /** A digest with the same sums (a delta starts from its base's digest). */
  static from(hex: string): RowDigest {
    const d = new RowDigest();
    if (!/^[0-9a-f]{16}$/.test(hex)) throw new Error(`bad row digest '${hex}'`);
    d.hi = Number.parseInt(hex.slice(0, 8), 16);
    d.lo = Number.parseInt(hex.slice(8), 16);
    return d;
  }

  /** Adds (sign 1) or subtracts (sign -1) the hash of one encoded row body `buf[start, end)`. */
  addBytes(tableNo: number, buf: Uint8Array, start: number, end: number, sign: 1 | -1 = 1): void {
    const seed = Math.imul(tableNo + 1, 0x9e3779b1);
    let h1 = seed >>> 0;
    let h2 = (seed ^ 0x5bd1e995) >>> 0;
    let i = start;
    const blocksEnd = start + ((end - start) & ~3);
    for (; i < blocksEnd; i += 4) {
      let k = buf[i]! | (buf[i + 1]! << 8) | (buf[i + 2]! << 16) | (buf[i + 3]! << 24);
      k = Math.imul(k, C1);
      k = (k << 15) | (k >>> 17);
      k = Math.imul(k, C2);
      h1 ^= k;
      h1 = (h1 << 13) | (h1 >>> 19);
      h1 = (Math.imul(h1, 5) + 0xe6546b64) | 0;
      h2 ^= k;
      h2 = (h2 << 13) | (h2 >>> 19);
      h2 = (Math.imul(h2, 5) + 0xe6546b64) | 0;
    }
    const tail = (end - start) & 3;
    if (tail > 0) {
      let k = buf[i]!;
      if (tail > 1) k ^= buf[i + 1]! << 8;
      if (tail > 2) k ^= buf[i + 2]! << 16;
      k = Math.imul(k, C1);
      k = (k << 15) | (k >>> 17);
      k = Math.imul(k, C2);
      h1 ^= k;
      h2 ^= k;
    }
    const len = end - start;
    const a = fmix((h1 ^ len) >>> 0);
    const b = fmix((h2 ^ len) >>> 0);
    if (sign === 1) {
      this.lo = (this.lo + a) >>> 0;
      this.hi = (this.hi + b) >>> 0;
    } else {
      this.lo = (this.lo - a) >>> 0;
      this.hi = (this.hi - b) >>> 0;
    }
  }

  /** Adds (or with sign -1 removes) one row, encoded with its table's codec. Throws TableError for a value that does not fit. */
  addRow(table: TablePlan, row: TableRow, sign: 1 | -1 = 1, index = 0): void {
    const size = table.codec.measure(row, index);
    scratch.reset();
    scratch.ensure(size);
    table.codec.writeMeasured(scratch);
    this.addBytes(table.fieldNo, scratch.buf, 0, scratch.pos, sign);
  }

  /** Adds every row of `rows`. */
  addRows(table: TablePlan, rows: readonly TableRow[], sign: 1 | -1 = 1): void {
    for (let i = 0; i < rows.length; i++) this.addRow(table, rows[i]!, sign, i);
  }

  /** 16 lowercase hex digits: the `hi` lane, then the `lo` lane. */
  toString(): string {
    return this.hi.toString(16).padStart(8, "0") + this.lo.toString(16).padStart(8, "0");
  }
}

/** Digest of every row of a kind's table set (a full pass; deltas update a digest instead). */
export function digestTableSet(kind: string, set: TableSet): string {
  const plan = kindPlan(kind);
  if (!plan) throw new Error(`table kind '${kind}' has no message in the push protocol`);
  const d = new RowDigest();
  for (const t of plan.tables) d.addRows(t, set[t.name] ?? []);
  return d.toString();
}
