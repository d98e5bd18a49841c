import { TableError, type TableSet } from "../rows.js";
import { readInt, readStr, rowIdOf, tableRows } from "../kit/row-values.js";

/**
 * Kamailio's `uacreg` table (uac module, version 5): one row per remote registration to a
 * carrier, and the credentials uac_auth answers that carrier's challenges with.
 *
 *   uacreg(id, l_uuid, l_username, l_domain, r_username, r_domain, realm, auth_username,
 *          auth_password, auth_ha1, auth_proxy, expires, flags, reg_delay, contact_addr, socket)
 *
 * `expires` 0 keeps the row as credentials only (no REGISTER is sent); `flags` bit 0 disables
 * the registration (Kamailio's UAC_REG_DISABLED).
 */

/** One valid uacreg row. */
export interface UacRegRow {
  readonly id: number;
  readonly l_uuid: string;
  readonly l_username: string;
  readonly l_domain: string;
  readonly r_username: string;
  readonly r_domain: string;
  readonly realm: string;
  readonly auth_username: string;
  readonly auth_password: string;
  readonly auth_ha1: string;
  readonly auth_proxy: string;
  readonly expires: number;
  readonly flags: number;
  readonly reg_delay: number;
  readonly contact_addr: string;
  readonly socket: string;
}

/** Kamailio's UAC_REG_DISABLED flag. */
export const UACREG_DISABLED = 1;

/** The compiled table: rows in id order and by l_uuid. */
export class UacRegTable {
  readonly byUuid: ReadonlyMap<string, UacRegRow>;
  constructor(readonly rows: readonly UacRegRow[]) {
    this.byUuid = new Map(rows.map((r) => [r.l_uuid, r]));
  }

  static empty(): UacRegTable {
    return new UacRegTable([]);
  }

  /**
   * Credentials for a challenge: the row of the carrier the request went to (`domain`: host of the
   * R-URI / destination, compared with r_domain and the auth_proxy's host) with this realm, else
   * any row of this realm. Rows with an empty realm match any realm.
   */
  credentialsFor(realm: string, domain: string | null): UacRegRow | null {
    let byRealm: UacRegRow | null = null;
    for (const r of this.rows) {
      if (!r.auth_username || (!r.auth_password && !r.auth_ha1)) continue;
      if (r.realm !== "" && r.realm !== realm) continue;
      if (domain !== null && (r.r_domain.toLowerCase() === domain || proxyHost(r.auth_proxy) === domain)) return r;
      if (!byRealm && r.realm === realm) byRealm = r;
    }
    return byRealm;
  }
}

function proxyHost(proxy: string): string {
  if (!proxy) return "";
  const m = /^sips?:(?:[^@]*@)?(\[[^\]]+\]|[^:;>]+)/i.exec(proxy);
  return m ? m[1]!.toLowerCase() : "";
}

const HOST_RE = /^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+)(:\d{1,5})?$/;
const SOCKET_RE = /^(udp|tcp|tls|sctp|ws|wss):(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+)(:\d{1,5})?$/i;
const TOKEN_RE = /^[A-Za-z0-9\-_.!~*'()%+]+$/;

/** Validates and compiles `uacreg` rows; throws TableError naming the table, the row and the reason. */
export function compileUacReg(set: TableSet, table = "uacreg"): UacRegTable {
  const rows = tableRows(set, table);
  const seen = new Map<string, string | number>();
  const out: UacRegRow[] = [];
  rows.forEach((row, i) => {
    const id = rowIdOf(row, "id", i);
    const s = (c: string, maxLength: number, nonEmpty = false) => readStr(row, table, id, c, { maxLength, nonEmpty });
    const r: UacRegRow = {
      id: typeof id === "number" ? id : i + 1,
      l_uuid: s("l_uuid", 64, true),
      l_username: s("l_username", 64),
      l_domain: s("l_domain", 64),
      r_username: s("r_username", 64),
      r_domain: s("r_domain", 64),
      realm: s("realm", 64),
      auth_username: s("auth_username", 64),
      auth_password: s("auth_password", 64),
      auth_ha1: s("auth_ha1", 128),
      auth_proxy: s("auth_proxy", 255).trim(),
      expires: readInt(row, table, id, "expires", { min: 0, max: 31_536_000 }),
      flags: readInt(row, table, id, "flags", { min: 0 }),
      reg_delay: readInt(row, table, id, "reg_delay", { min: 0, max: 86_400 }),
      contact_addr: s("contact_addr", 255).trim(),
      socket: s("socket", 128).trim(),
    };
    const dup = seen.get(r.l_uuid);
    if (dup !== undefined) throw new TableError(table, id, `l_uuid '${r.l_uuid}' is also the l_uuid of row ${dup}`);
    seen.set(r.l_uuid, id);
    if (!TOKEN_RE.test(r.l_uuid)) throw new TableError(table, id, `l_uuid '${r.l_uuid}' is not a valid SIP URI user`);
    if (r.auth_ha1 && !/^([0-9a-fA-F]{32}|[0-9a-fA-F]{64})$/.test(r.auth_ha1)) throw new TableError(table, id, "auth_ha1 must be 32 (MD5) or 64 (SHA-256) hex digits");
    if (r.auth_proxy && !/^sips?:\S+$/i.test(r.auth_proxy)) throw new TableError(table, id, `auth_proxy '${r.auth_proxy}' is not a sip: or sips: URI`);
    if (r.contact_addr && !HOST_RE.test(r.contact_addr)) throw new TableError(table, id, `contact_addr '${r.contact_addr}' is not host[:port]`);
    if (r.socket && !SOCKET_RE.test(r.socket)) throw new TableError(table, id, `socket '${r.socket}' is not proto:address[:port]`);
    if (r.expires > 0) {
      // a registration needs an address of record and someone to answer the challenge
      if (!r.r_username) throw new TableError(table, id, "r_username must not be empty for a registration (expires > 0)");
      if (!r.r_domain || !HOST_RE.test(r.r_domain)) throw new TableError(table, id, `r_domain '${r.r_domain}' is not host[:port]`);
    }
    if (r.auth_username && !r.auth_password && !r.auth_ha1) throw new TableError(table, id, "auth_username is set but auth_password and auth_ha1 are empty");
    out.push(r);
  });
  return new UacRegTable(out);
}
