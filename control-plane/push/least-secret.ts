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
import { spliceRows } from "../compile/splice.js";

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

/**
 * The redacted rows of `snap` from the redacted rows of its base (`prev`, the view of
 * `snap.changes.base`): the changed rows are taken out and their redacted forms put in at their key
 * positions (splice.ts, as the compile's own splice), so unchanged rows are shared and a one-row
 * change costs O(changed rows) plus an array copy, not a redaction of every row. Null when the
 * result does not line up with the raw rows (then every row is redacted).
 */
function redactSpliced(prev: PushSnapshot, snap: PushSnapshot): TableSet | null {
  const ch = snap.changes?.tables.get(KIND);
  const rows = snap.set[KIND];
  const base = prev.set[KIND];
  if (!ch || !rows || !base) return null;
  const keys = new Set<string>();
  for (const r of ch.removed) keys.add(String(r.id));
  for (const r of ch.added) keys.add(String(r.id));
  const out = spliceRows(KIND, base, keys, ch.added.map(hashOnlyRow));
  if (out.length !== rows.length) return null;
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
      const spliced = last && snap.changes && last.raw.version === snap.changes.base ? redactSpliced(last.red, snap) : null;
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
