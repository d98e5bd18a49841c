/**
 * Least secret material on the wire: unless the operator asks for plaintext passwords
 * (`--push-passwords`), subscriber rows are pushed with `ha1`/`ha1b` only and an empty
 * `password`. A row that has a password but no ha1/ha1b gets them computed as kamctl does
 * (MD5 of `user:domain:password` and `user@domain:domain:password`, i.e. realm = domain).
 * Such a version is marked with the suffix `.h` (`<version>.h`), so a data plane that cached the
 * same rows with passwords is sent the hashed version, and `nodes` shows what a node runs.
 *
 * What needs the password on the data plane: digest algorithms other than MD5 (SHA-256,
 * SHA-512-256 need H(user:realm:password) with that hash) and realms other than the domain.
 * MD5 with realm = domain (Kamailio's and kamctl's default) works from ha1/ha1b.
 *
 * @example
 *   const pushSource = leastSecretSource(dbSource, { passwords: false });
 *   await createPushServer({ source: pushSource, ... });
 */
import { createHash } from "node:crypto";
import type { TableRow, TableSet } from "../../tables/rows.js";
import type { PushSnapshot, PushSource } from "./push-source.js";
import { mergeByPositions } from "../../tables/kit/positional-merge.js";

export const HASHED_SUFFIX = ".h";
const KIND = "subscriber";

const md5 = (s: string) => createHash("md5").update(s).digest("hex");

/** The row as pushed: no plaintext password; ha1/ha1b filled in from it when empty. */
export function hashOnlyRow(row: TableRow): TableRow {
  const pw = typeof row.password === "string" ? row.password : "";
  if (pw === "") return row;
  const user = String(row.username ?? "");
  const domain = String(row.domain ?? "");
  const out: TableRow = { ...row, password: "" };
  if (!row.ha1) out.ha1 = md5(`${user}:${domain}:${pw}`);
  if (!row.ha1b) out.ha1b = md5(`${user}@${domain}:${domain}:${pw}`);
  return out;
}

/** Index of `row` in `rows` (sorted by numeric id, as read and spliced), or -1. */
function indexById(rows: readonly TableRow[], row: TableRow): number {
  const id = row.id;
  if (typeof id !== "number") return rows.indexOf(row);
  let lo = 0;
  let hi = rows.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if ((rows[mid]!.id as number) < id) lo = mid + 1;
    else hi = mid;
  }
  return rows[lo] === row ? lo : rows.indexOf(row);
}

/**
 * The redacted rows of `snap` from the redacted rows of its base (`prev`, the view of the raw
 * version `base`): the base's redacted rows are copied in order, leaving out the positions of the
 * removed rows and putting the redacted forms of the added rows at their positions in the new raw
 * rows, so unchanged rows are shared and a one-row change costs O(changed rows · log n) plus one
 * array copy, not a redaction of every row. Null when the positions do not line up (then every row
 * is redacted).
 */
function redactSpliced(prev: PushSnapshot, base: PushSnapshot, snap: PushSnapshot): TableSet | null {
  const ch = snap.changes?.tables.get(KIND);
  const rows = snap.set[KIND];
  const baseRaw = base.set[KIND];
  const baseRed = prev.set[KIND];
  if (!ch || !rows || !baseRaw || !baseRed || baseRaw.length !== baseRed.length) return null;
  const goneAt: number[] = [];
  for (const r of ch.removed) {
    const i = indexById(baseRaw, r);
    if (i < 0) return null;
    goneAt.push(i);
  }
  goneAt.sort((a, b) => a - b);
  for (let g = 1; g < goneAt.length; g++) if (goneAt[g] === goneAt[g - 1]) return null;
  const put: Array<[number, TableRow]> = [];
  for (const r of ch.added) {
    const i = indexById(rows, r);
    if (i < 0) return null;
    put.push([i, hashOnlyRow(r)]);
  }
  if (baseRaw.length - goneAt.length + put.length !== rows.length) return null;
  put.sort((a, b) => a[0] - b[0]);
  const out = mergeByPositions(
    baseRed,
    goneAt,
    put.map((p) => p[1]),
    put.map((p) => p[0]),
    rows.length,
  );
  return { ...snap.set, [KIND]: out };
}

/** Wraps `source` so the subscriber kind carries hashes only (a no-op when `passwords` is true). */
export function leastSecretSource(source: PushSource, opts: { passwords: boolean }): PushSource {
  if (opts.passwords) return source;
  const cache = new WeakMap<PushSnapshot, PushSnapshot>();
  /** The last raw version redacted and its view (the base of the next fast-path version). */
  let last: { raw: PushSnapshot; red: PushSnapshot } | null = null;
  const redact = (snap: PushSnapshot | undefined): PushSnapshot | undefined => {
    if (!snap || snap.kind !== KIND) return snap;
    let r = cache.get(snap);
    if (!r) {
      const spliced = last && snap.changes && last.raw.version === snap.changes.base ? redactSpliced(last.red, last.raw, snap) : null;
      let set: TableSet;
      if (spliced) set = spliced;
      else {
        set = {};
        for (const [t, rows] of Object.entries(snap.set)) set[t] = t === KIND ? rows.map(hashOnlyRow) : rows;
      }
      // neither the raw rows' digest nor their changes (passwords) belong to the redacted view
      const { digest: _digest, changes: _changes, ...rest } = snap;
      r = { ...rest, version: snap.version + HASHED_SUFFIX, set };
      cache.set(snap, r);
    }
    last = { raw: snap, red: r };
    return r;
  };
  const wrapped: PushSource = {
    kinds: () => source.kinds(),
    current: (kind) => redact(source.current(kind)),
    onChange: (fn) => source.onChange(fn),
  };
  if (source.snapshot) {
    const inner = source.snapshot.bind(source);
    wrapped.snapshot = async (kind, version) => {
      if (kind !== KIND) return inner(kind, version);
      if (!version.endsWith(HASHED_SUFFIX)) return undefined;
      const raw = await inner(kind, version.slice(0, -HASHED_SUFFIX.length));
      if (!raw) return undefined;
      const keep = last;
      const r = redact(raw);
      last = keep; // an older version is not the base of the next one
      return r;
    };
  }
  return wrapped;
}
