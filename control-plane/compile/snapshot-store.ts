/**
 * Persists compiled kind versions in `olelo_snapshots`: every new version gets a row (kind,
 * version, row count, fingerprint, reason, time); the newest `keep` per kind also keep their rows
 * (gzipped JSON; times in UTC), so after a restart the control plane serves the last good set even when the
 * database meanwhile holds a row that does not compile.
 */
import { once } from "node:events";
import { setImmediate as yieldToLoop } from "node:timers/promises";
import { createGzip, gunzipSync } from "node:zlib";
import type { Pool, RowDataPacket } from "mysql2/promise";
import type { TableSet } from "../../tables/rows.js";

/** Rows larger than this (compressed) are stored without data (metadata only). */
const MAX_DATA_BYTES = 8 * 1024 * 1024;

export interface StoredSnapshot {
  kind: string;
  version: string;
  rows: number;
  fingerprint: string;
  createdAt: string;
  set: TableSet;
}

/**
 * JSON.stringify(set), gzipped, without blocking the event loop: the text is made a slice of
 * rows at a time (yielding between slices) and compressed on the thread pool. A 1M-row set took
 * about a second of blocked loop with gzipSync, which delayed the next change-capture batch.
 * Null as soon as the compressed output passes `maxBytes` (the rest is not compressed: 1M
 * subscribers, with their hashes, never fit and cost seconds of CPU per version otherwise).
 */
export async function gzipSetJson(set: TableSet, sliceRows = 5000, maxBytes = Infinity): Promise<Buffer | null> {
  const gz = createGzip();
  const out: Buffer[] = [];
  let size = 0;
  gz.on("data", (c: Buffer) => {
    out.push(c);
    size += c.length;
  });
  const ended = once(gz, "end");
  ended.catch(() => undefined);
  const over = () => {
    if (size <= maxBytes) return false;
    gz.destroy();
    return true;
  };
  const write = async (text: string) => {
    if (!gz.write(text)) await once(gz, "drain");
  };
  let sep = "";
  await write("{");
  for (const [table, rows] of Object.entries(set)) {
    if (!Array.isArray(rows)) continue;
    await write(`${sep}${JSON.stringify(table)}:[`);
    sep = ",";
    for (let i = 0; i < rows.length; i += sliceRows) {
      let text = i === 0 ? "" : ",";
      const end = Math.min(rows.length, i + sliceRows);
      for (let j = i; j < end; j++) text += (j === i ? "" : ",") + JSON.stringify(rows[j]);
      await write(text);
      if (over()) return null;
      if (end < rows.length) await yieldToLoop();
    }
    await write("]");
  }
  gz.end("}");
  await ended;
  return size > maxBytes ? null : Buffer.concat(out);
}

/** Per kind: the smallest row count whose compressed rows passed MAX_DATA_BYTES. */
const tooBig = new Map<string, number>();

/** Records one version; returns whether its rows were stored too. */
export async function saveSnapshot(
  pool: Pool,
  s: { kind: string; version: string; rows: number; fingerprint: string; reason: string; set: TableSet },
  keep = 3,
): Promise<boolean> {
  // a kind that did not fit at about this size is not compressed again for every version (1M
  // subscribers: ~20 ms of CPU per change-capture version, spent beside the next batch)
  const over = tooBig.get(s.kind);
  let data: Buffer | null = over !== undefined && s.rows >= over * 0.9 ? null : await gzipSetJson(s.set, 5000, MAX_DATA_BYTES);
  if (data === null && s.rows > 0) tooBig.set(s.kind, Math.min(over ?? s.rows, s.rows));
  else if (data !== null) tooBig.delete(s.kind);
  const insert = (d: Buffer | null) =>
    pool.query(
      "INSERT INTO `olelo_snapshots` (`kind`, `version`, `row_count`, `fingerprint`, `reason`, `created_at`, `data`) VALUES (?, ?, ?, ?, ?, UTC_TIMESTAMP(3), ?)",
      [s.kind, s.version, s.rows, s.fingerprint.slice(0, 255), s.reason.slice(0, 255), d],
    );
  try {
    await insert(data);
  } catch (e) {
    if (data === null || (e as { code?: string }).code !== "ER_NET_PACKET_TOO_LARGE") throw e;
    data = null;
    await insert(null);
  }
  // Keep rows only for the newest `keep` versions of this kind.
  await pool.query(
    "UPDATE `olelo_snapshots` SET `data` = NULL WHERE `kind` = ? AND `data` IS NOT NULL AND `id` NOT IN " +
      "(SELECT `id` FROM (SELECT `id` FROM `olelo_snapshots` WHERE `kind` = ? AND `data` IS NOT NULL ORDER BY `id` DESC LIMIT ?) AS keep_rows)",
    [s.kind, s.kind, keep],
  );
  return data !== null;
}

/** The newest stored version with rows, per kind. */
export async function loadLatestSnapshots(pool: Pool): Promise<Map<string, StoredSnapshot>> {
  const [rows] = await pool.query<RowDataPacket[]>({
    sql:
      "SELECT s.`kind`, s.`version`, s.`row_count`, s.`fingerprint`, s.`created_at`, s.`data` FROM `olelo_snapshots` s " +
      "JOIN (SELECT `kind`, MAX(`id`) AS id FROM `olelo_snapshots` WHERE `data` IS NOT NULL GROUP BY `kind`) m ON m.id = s.id",
    dateStrings: true,
  });
  const out = new Map<string, StoredSnapshot>();
  for (const r of rows) {
    out.set(String(r.kind), snapshotOf(r));
  }
  return out;
}

/** One stored version of a kind with its rows, or null when it was never stored or its rows were dropped. */
export async function loadSnapshot(pool: Pool, kind: string, version: string): Promise<StoredSnapshot | null> {
  const [rows] = await pool.query<RowDataPacket[]>({
    sql:
      "SELECT `kind`, `version`, `row_count`, `fingerprint`, `created_at`, `data` FROM `olelo_snapshots` " +
      "WHERE `kind` = ? AND `version` = ? AND `data` IS NOT NULL ORDER BY `id` DESC LIMIT 1",
    values: [kind, version],
    dateStrings: true,
  });
  const r = rows[0];
  if (!r) return null;
  return snapshotOf(r);
}

/** A stored snapshot from its `olelo_snapshots` row (dateStrings: created_at is "YYYY-MM-DD hh:mm:ss" UTC). */
function snapshotOf(r: RowDataPacket): StoredSnapshot {
  return {
    kind: String(r.kind),
    version: String(r.version),
    rows: Number(r.row_count),
    fingerprint: String(r.fingerprint),
    createdAt: new Date(String(r.created_at).replace(" ", "T") + "Z").toISOString(),
    set: JSON.parse(gunzipSync(r.data as Buffer).toString("utf8")) as TableSet,
  };
}
