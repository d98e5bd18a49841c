/**
 * The permissions module's configuration section, validated once at init (Kamailio modparams
 * where they exist: db_url, address_table, trusted_table, peer_tag_avp → peer_tag_var).
 */
export interface PermissionsParams {
  /** MySQL URL used by addressReload / trustedReload (and at start when set). */
  readonly db_url: string | null;
  readonly address_table: string;
  readonly trusted_table: string;
  /** Request variable receiving the matched row's tag (Kamailio peer_tag_avp). */
  readonly peer_tag_var: string;
  /** Address groups whose members `isTrusted()` accepts (flood/auth exemption). */
  readonly trusted_groups: readonly number[];
}

const KNOWN = new Set(["db_url", "address_table", "trusted_table", "peer_tag_var", "trusted_groups"]);
const SQL_NAME = /^[A-Za-z_][A-Za-z0-9_]{0,63}$/;

/** Validates the section; throws an Error naming the parameter. */
export function parsePermissionsParams(cfg: Readonly<Record<string, unknown>>): PermissionsParams {
  for (const k of Object.keys(cfg)) if (!KNOWN.has(k)) throw new Error(`permissions: unknown parameter '${k}'`);
  const str = (k: string, def: string | null): string | null => {
    const v = cfg[k];
    if (v === undefined || v === null) return def;
    if (typeof v !== "string" || v === "") throw new Error(`permissions: parameter '${k}' must be a non-empty string`);
    return v;
  };
  const table = (k: string, def: string): string => {
    const v = str(k, def)!;
    if (!SQL_NAME.test(v)) throw new Error(`permissions: parameter '${k}' must be a plain SQL table name, got '${v}'`);
    return v;
  };
  let groups: number[] = [1];
  const g = cfg.trusted_groups;
  if (g !== undefined) {
    const arr = Array.isArray(g) ? g : [g];
    groups = arr.map((x) => {
      const n = typeof x === "string" && /^\d+$/.test(x) ? Number(x) : x;
      if (typeof n !== "number" || !Number.isInteger(n) || n < 0) {
        throw new Error(`permissions: parameter 'trusted_groups' must be a list of non-negative integers`);
      }
      return n;
    });
  }
  return {
    db_url: str("db_url", null),
    address_table: table("address_table", "address"),
    trusted_table: table("trusted_table", "trusted"),
    peer_tag_var: str("peer_tag_var", "permissions:tag")!,
    trusted_groups: groups,
  };
}
