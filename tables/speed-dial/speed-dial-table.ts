import { TableError, type TableSet } from "../rows.js";
import { readStr, rowIdOf, tableRows } from "../kit/row-values.js";

/**
 * Kamailio's `speed_dial` table (username, domain, sd_username, sd_domain, new_uri, fname, lname,
 * description) compiled for one `use_domain` setting: owner key → short code key → new_uri.
 * use_domain 0: owner = username, code = sd_username; 1: owner = username@domain;
 * 2: also code = sd_username@sd_domain (Kamailio speeddial's query keys).
 */
export class SpeedDialTable {
  constructor(
    readonly rows: number,
    readonly useDomain: 0 | 1 | 2,
    private readonly map: ReadonlyMap<string, ReadonlyMap<string, string>>,
  ) {}

  static empty(useDomain: 0 | 1 | 2): SpeedDialTable {
    return new SpeedDialTable(0, useDomain, new Map());
  }

  /** The new_uri for owner user[@domain] dialing code[@domain], or null. */
  find(ownerUser: string, ownerDomain: string, code: string, codeDomain: string): string | null {
    const ok = ownerKey(this.useDomain, ownerUser, ownerDomain);
    const ck = codeKey(this.useDomain, code, codeDomain);
    return this.map.get(ok)?.get(ck) ?? null;
  }
}

function ownerKey(mode: number, user: string, domain: string): string {
  return mode >= 1 ? `${user.toLowerCase()}@${domain.toLowerCase()}` : user.toLowerCase();
}

function codeKey(mode: number, code: string, domain: string): string {
  return mode >= 2 ? `${code.toLowerCase()}@${domain.toLowerCase()}` : code.toLowerCase();
}

/** One valid `speed_dial` row: the owner, the short code and the URI it dials. */
export interface SpeedDialEntry {
  readonly username: string;
  readonly domain: string;
  readonly sdUser: string;
  readonly sdDomain: string;
  readonly uri: string;
}

/**
 * The pure compile of kind speed_dial: validates `speed_dial` rows (no module params); throws
 * TableError naming a bad row. indexSpeedDial then keys them for one use_domain and cannot fail.
 */
export function compileSpeedDialRows(set: TableSet, table = "speed_dial"): SpeedDialEntry[] {
  const rows = tableRows(set, table);
  return rows.map((row, i) => {
    const id = rowIdOf(row, "id", i);
    const username = readStr(row, table, id, "username", { nonEmpty: true, maxLength: 64 });
    const domain = readStr(row, table, id, "domain", { maxLength: 64 });
    const sdUser = readStr(row, table, id, "sd_username", { nonEmpty: true, maxLength: 64 });
    const sdDomain = readStr(row, table, id, "sd_domain", { maxLength: 64 });
    let uri = readStr(row, table, id, "new_uri", { nonEmpty: true, maxLength: 255 }).trim();
    if (/\s/.test(uri)) throw new TableError(table, id, `new_uri '${uri}' contains whitespace`);
    // Kamailio prefixes "sip:" when the stored URI has no scheme
    if (!/^(sips?|tel):/i.test(uri)) uri = `sip:${uri}`;
    return { username, domain, sdUser, sdDomain, uri };
  });
}

/** Keys valid entries for one `use_domain` setting (the first row of a key wins). Cannot fail. */
export function indexSpeedDial(entries: readonly SpeedDialEntry[], useDomain: 0 | 1 | 2): SpeedDialTable {
  const map = new Map<string, Map<string, string>>();
  for (const e of entries) {
    const ok = ownerKey(useDomain, e.username, e.domain);
    let m = map.get(ok);
    if (!m) map.set(ok, (m = new Map()));
    const ck = codeKey(useDomain, e.sdUser, e.sdDomain);
    if (!m.has(ck)) m.set(ck, e.uri);
  }
  return new SpeedDialTable(entries.length, useDomain, map);
}

/** Validates and compiles `speed_dial` rows for one use_domain; throws TableError naming a bad row. */
export function compileSpeedDial(set: TableSet, useDomain: 0 | 1 | 2, table = "speed_dial"): SpeedDialTable {
  return indexSpeedDial(compileSpeedDialRows(set, table), useDomain);
}
