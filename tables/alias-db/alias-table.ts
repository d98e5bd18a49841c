import { TableError, type TableSet } from "../rows.js";
import { readStr, rowIdOf, tableRows } from "../kit/row-values.js";

/** One canonical target of an alias (or, reversed, one alias of a user). */
export interface AliasTarget {
  readonly username: string;
  readonly domain: string;
}

/**
 * Kamailio's `dbaliases` table (alias_username, alias_domain, username, domain) compiled into
 * four maps: alias → users and user → aliases, each by user@domain and by user alone (for
 * lookups that ignore the domain). Keys are lower-cased, as MySQL's default collation compares.
 * Rows keep their table order, so the first row is the R-URI and the rest become branches.
 */
export class AliasTable {
  constructor(
    readonly rows: number,
    private readonly fwdFull: ReadonlyMap<string, AliasTarget[]>,
    private readonly fwdUser: ReadonlyMap<string, AliasTarget[]>,
    private readonly revFull: ReadonlyMap<string, AliasTarget[]>,
    private readonly revUser: ReadonlyMap<string, AliasTarget[]>,
  ) {}

  static empty(): AliasTable {
    return new AliasTable(0, new Map(), new Map(), new Map(), new Map());
  }

  /** Targets of user[@domain]; `reverse` maps a user to its aliases. */
  find(user: string, domain: string | null, reverse = false): readonly AliasTarget[] {
    const u = user.toLowerCase();
    if (domain === null) return (reverse ? this.revUser : this.fwdUser).get(u) ?? [];
    return (reverse ? this.revFull : this.fwdFull).get(`${u}@${domain.toLowerCase()}`) ?? [];
  }
}

function push(m: Map<string, AliasTarget[]>, k: string, t: AliasTarget): void {
  const l = m.get(k);
  if (l) {
    if (!l.some((x) => x.username === t.username && x.domain === t.domain)) l.push(t);
  } else m.set(k, [t]);
}

/** Validates and compiles the `dbaliases` rows of a table set; throws TableError naming a bad row. */
export function compileAliasTable(set: TableSet, table = "dbaliases"): AliasTable {
  const rows = tableRows(set, table);
  const fwdFull = new Map<string, AliasTarget[]>();
  const fwdUser = new Map<string, AliasTarget[]>();
  const revFull = new Map<string, AliasTarget[]>();
  const revUser = new Map<string, AliasTarget[]>();
  rows.forEach((row, i) => {
    const id = rowIdOf(row, "id", i);
    const aliasUser = readStr(row, table, id, "alias_username", { nonEmpty: true, maxLength: 64 });
    const aliasDomain = readStr(row, table, id, "alias_domain", { maxLength: 64 }).toLowerCase();
    const username = readStr(row, table, id, "username", { nonEmpty: true, maxLength: 64 });
    const domain = readStr(row, table, id, "domain", { maxLength: 64 }).toLowerCase();
    for (const [col, v] of [
      ["alias_username", aliasUser],
      ["username", username],
    ] as const) {
      if (/[\s@:;<>]/.test(v)) throw new TableError(table, id, `${col} '${v}' contains whitespace or one of @ : ; < >`);
    }
    const target: AliasTarget = { username, domain };
    const alias: AliasTarget = { username: aliasUser, domain: aliasDomain };
    push(fwdFull, `${aliasUser.toLowerCase()}@${aliasDomain}`, target);
    push(fwdUser, aliasUser.toLowerCase(), target);
    push(revFull, `${username.toLowerCase()}@${domain}`, alias);
    push(revUser, username.toLowerCase(), alias);
  });
  return new AliasTable(rows.length, fwdFull, fwdUser, revFull, revUser);
}
