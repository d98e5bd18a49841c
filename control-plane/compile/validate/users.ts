/**
 * Control-plane validators for subscriber (auth_db), address and trusted (permissions) and htable;
 * kamailio-reference.md §6.2, §8.3, §8.5.
 * TODO(subscriber): switch to data-plane/modules/auth/table.ts once it exists.
 * TODO(address, trusted): switch to data-plane/modules/permissions/table.ts once it exists.
 * TODO(htable): switch to data-plane/modules/htable/table.ts once it exists.
 */
import { isIP } from "node:net";
import { TableError, type TableSet } from "../../../data-plane/core/tables/registry.js";
import { idOf, int, isHost, range, regex, required, rowsOf, str, unique } from "./common.js";

/** subscriber: username, credentials (plain password or an MD5/SHA-256 ha1), unique user@domain. */
export function validateSubscriber(set: TableSet): { subscribers: number } {
  const rows = rowsOf(set, "subscriber");
  rows.forEach((r, i) => {
    const id = idOf(r, "id", i);
    required("subscriber", id, r, "username");
    const pw = str(r, "password");
    const ha1 = str(r, "ha1");
    if (pw === "" && ha1 === "") throw new TableError("subscriber", id, "neither password nor ha1 is set");
    for (const col of ["ha1", "ha1b"]) {
      const h = str(r, col);
      if (h !== "" && !/^([0-9a-f]{32}|[0-9a-f]{64})$/i.test(h)) throw new TableError("subscriber", id, `${col} is not a hex MD5 or SHA-256 digest`);
    }
  });
  unique("subscriber", rows, "id", (r) => `${str(r, "username")}@${str(r, "domain")}`, "username/domain");
  return { subscribers: rows.length };
}

/** address: IP (or DNS name, matched literally), mask within the family, group and port. */
export function validateAddress(set: TableSet): { addresses: number } {
  const rows = rowsOf(set, "address");
  rows.forEach((r, i) => {
    const id = idOf(r, "id", i);
    const ip = required("address", id, r, "ip_addr");
    const fam = isIP(ip);
    if (fam === 0 && !isHost(ip)) throw new TableError("address", id, `ip_addr '${ip}' is not an IP address or host name`);
    const mask = int("address", id, r, "mask", 32);
    range("address", id, "mask", mask, 0, fam === 6 ? 128 : 32);
    range("address", id, "port", int("address", id, r, "port", 0), 0, 65535);
    int("address", id, r, "grp", 1);
  });
  return { addresses: rows.length };
}

const PROTOS = new Set(["any", "udp", "tcp", "tls", "sctp", "ws", "wss", "none"]);

/** trusted: source IP, protocol name, valid patterns. */
export function validateTrusted(set: TableSet): { peers: number } {
  const rows = rowsOf(set, "trusted");
  rows.forEach((r, i) => {
    const id = idOf(r, "id", i);
    const ip = required("trusted", id, r, "src_ip");
    if (isIP(ip) === 0) throw new TableError("trusted", id, `src_ip '${ip}' is not an IP address`);
    const proto = str(r, "proto").trim().toLowerCase();
    if (!PROTOS.has(proto)) throw new TableError("trusted", id, `proto '${str(r, "proto")}' is not one of ${[...PROTOS].join(", ")}`);
    regex("trusted", id, "from_pattern", str(r, "from_pattern"));
    regex("trusted", id, "ruri_pattern", str(r, "ruri_pattern"));
    int("trusted", id, r, "priority", 0);
  });
  return { peers: rows.length };
}

/** htable: key names, key/value types 0 or 1, integer values for value_type 1. */
export function validateHtable(set: TableSet): { items: number } {
  const rows = rowsOf(set, "htable");
  rows.forEach((r, i) => {
    const id = idOf(r, "id", i);
    required("htable", id, r, "key_name");
    range("htable", id, "key_type", int("htable", id, r, "key_type", 0), 0, 1);
    const vt = int("htable", id, r, "value_type", 0);
    range("htable", id, "value_type", vt, 0, 1);
    if (vt === 1 && !/^\s*[-+]?\d+\s*$/.test(str(r, "key_value"))) {
      throw new TableError("htable", id, `key_value '${str(r, "key_value")}' is not an integer (value_type 1)`);
    }
    int("htable", id, r, "expires", 0);
  });
  return { items: rows.length };
}
