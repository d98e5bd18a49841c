import { readFileSync } from "node:fs";
import { createHash } from "node:crypto";
import type { TableSet } from "./registry.js";

/**
 * Reads a standalone table file: JSON `{ "<kamailio table>": [ { column: value, ... } ] }`.
 * Returns the set and a content version (sha256 prefix), or throws naming the file and problem.
 */
export function readTableFile(path: string): { set: TableSet; version: string } {
  const text = readFileSync(path, "utf8");
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    throw new Error(`${path}: invalid JSON: ${(e as Error).message}`);
  }
  if (raw === null || typeof raw !== "object" || Array.isArray(raw)) throw new Error(`${path}: expected an object of tables`);
  const set: TableSet = {};
  for (const [table, rows] of Object.entries(raw as Record<string, unknown>)) {
    if (table.startsWith("$")) continue;
    if (!Array.isArray(rows)) throw new Error(`${path}: table '${table}' must be an array of rows`);
    rows.forEach((r, i) => {
      if (r === null || typeof r !== "object" || Array.isArray(r)) throw new Error(`${path}: ${table}[${i}] must be an object`);
    });
    set[table] = rows as TableSet[string];
  }
  return { set, version: "file-" + createHash("sha256").update(text).digest("hex").slice(0, 12) };
}
