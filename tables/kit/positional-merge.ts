/**
 * Builds a table's new row array from its base rows by positions: the base rows at `dropAt`
 * (ascending base positions) are left out, `puts[k]` goes to position `putAt[k]` (ascending
 * positions in the result), and every other base row keeps its order. One plain copy of the
 * row references, no lookup per row: the merge of a delta on the data plane
 * (tables/wire/apply-delta.ts) and the control plane's redacted subscriber view
 * (control-plane/push/least-secret.ts) both build their million-row arrays this way. The caller
 * checks that `base.length - dropAt.length + puts.length === length`.
 *
 * @example
 *   mergeByPositions([a, b, c], [1], [x], [2], 3); // [a, c, x]
 */
import type { TableRow } from "../rows.js";

export function mergeByPositions(
  base: readonly TableRow[],
  dropAt: readonly number[],
  puts: readonly TableRow[],
  putAt: readonly number[],
  length: number,
): TableRow[] {
  const out: TableRow[] = new Array(length);
  let u = 0;
  let b = 0;
  let q = 0;
  for (let j = 0; j < length; j++) {
    if (u < puts.length && putAt[u] === j) {
      out[j] = puts[u++]!;
      continue;
    }
    while (q < dropAt.length && dropAt[q] === b) {
      b++;
      q++;
    }
    out[j] = base[b++]!;
  }
  return out;
}
