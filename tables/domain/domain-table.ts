import { TableError, type TableSet } from "../rows.js";
import { readInt, readStr, rowIdOf, tableRows } from "../kit/row-values.js";

/**
 * Kamailio's domain module tables compiled for lookups:
 *
 *   domain(id, domain, did, last_modified)          -- domain unique (domain_idx)
 *   domain_attrs(id, did, name, type, value, last_modified)
 *
 * Domains compare case-insensitively, dids exactly. A domain's `did` is its `did` column, or the domain itself
 * when NULL/empty (Kamailio's rule). `type` 0 is an integer attribute (its value must be an
 * integer), 2 a string. Attributes belong to a did (several domains may share one did).
 *
 * @example
 *   const t = compileDomain({ domain: [{ id: 1, domain: "Example.com", did: "ex" }], domain_attrs: [{ id: 1, did: "ex", name: "tier", type: 2, value: "gold" }] });
 *   t.lookup("example.COM"); // { domain: "example.com", did: "ex", attrs: [{ name: "tier", type: 2, value: "gold" }] }
 */

/** One attribute of a did. */
export interface DomainAttr {
  readonly name: string;
  /** 0 integer, 2 string (Kamailio's types). */
  readonly type: 0 | 2;
  readonly value: string | number;
}

/** A local domain. */
export interface LocalDomain {
  readonly domain: string;
  readonly did: string;
  readonly attrs: readonly DomainAttr[];
}

export class DomainTable {
  constructor(
    readonly rows: number,
    private readonly byName: ReadonlyMap<string, LocalDomain>,
  ) {}

  static empty(): DomainTable {
    return new DomainTable(0, new Map());
  }

  /** The domain (case-insensitive), or null when it is not local. */
  lookup(host: string): LocalDomain | null {
    return this.byName.get(host.toLowerCase()) ?? null;
  }

  isLocal(host: string): boolean {
    return this.byName.has(host.toLowerCase());
  }

  /** All domains, sorted by name. */
  list(): LocalDomain[] {
    return [...this.byName.values()].sort((a, b) => (a.domain < b.domain ? -1 : a.domain > b.domain ? 1 : 0));
  }
}

const HOST_RE = /^[A-Za-z0-9._:\-[\]]+$/;

/** Validates and compiles domain + domain_attrs; throws TableError naming the table and row. */
export function compileDomain(set: TableSet): DomainTable {
  const attrsByDid = new Map<string, DomainAttr[]>();
  const TA = "domain_attrs";
  const aRows = tableRows(set, TA);
  aRows.forEach((row, i) => {
    const id = rowIdOf(row, "id", i);
    const did = readStr(row, TA, id, "did", { nonEmpty: true, maxLength: 64 }).trim();
    const name = readStr(row, TA, id, "name", { nonEmpty: true, maxLength: 32 });
    const type = readInt(row, TA, id, "type", { min: 0, max: 2 });
    if (type !== 0 && type !== 2) throw new TableError(TA, id, `type must be 0 (integer) or 2 (string), got ${type}`);
    const raw = readStr(row, TA, id, "value", { maxLength: 255 });
    let value: string | number = raw;
    if (type === 0) {
      if (!/^\s*[-+]?\d+\s*$/.test(raw)) throw new TableError(TA, id, `value '${raw}' is not an integer (type 0)`);
      value = Number(raw.trim());
    }
    let l = attrsByDid.get(did);
    if (!l) attrsByDid.set(did, (l = []));
    l.push({ name, type, value });
  });
  const TD = "domain";
  const dRows = tableRows(set, TD);
  const byName = new Map<string, LocalDomain>();
  dRows.forEach((row, i) => {
    const id = rowIdOf(row, "id", i);
    const domain = readStr(row, TD, id, "domain", { nonEmpty: true, maxLength: 64 }).trim().toLowerCase();
    if (!HOST_RE.test(domain)) throw new TableError(TD, id, `domain '${domain}' is not a host name or address`);
    const did = readStr(row, TD, id, "did", { maxLength: 64 }).trim() || domain;
    if (byName.has(domain)) throw new TableError(TD, id, `domain '${domain}' appears twice (unique key domain_idx)`);
    byName.set(domain, { domain, did, attrs: attrsByDid.get(did) ?? [] });
  });
  return new DomainTable(dRows.length + aRows.length, byName);
}
