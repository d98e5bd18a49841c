import { RpcCode, RpcError, defineRpc } from "../../core/api.js";
import type { RpcMethod } from "../../core/api.js";
import type { PermissionsState } from "./permissions-api.js";
import { TRUSTED_PROTO_NUMBERS } from "../../../tables/permissions/trusted-table.js";

/** Kamailio's PERM_HASH_SIZE: dumps show the bucket an entry would sit in. */
const PERM_HASH_SIZE = 128;

function bucket(s: string): number {
  let h = 0;
  for (let i = 0; i < s.length; i++) h = (h * 31 + s.charCodeAt(i)) >>> 0;
  return h % PERM_HASH_SIZE;
}

/** Hooks the RPCs need from the module (reloads go through the table registry). */
export interface PermissionsRpcDeps {
  readonly state: PermissionsState;
  /** Re-reads a table kind from the configured source; rejects with a message on failure. */
  reload(kind: "address" | "trusted"): Promise<void>;
}

/**
 * permissions.* RPCs with Kamailio's names and output shapes (`addressDump` → [{table, group,
 * item: {ip, port, tag}}], `subnetDump` → [{id, group, item: {ip, mask, port, tag}}], ...). One
 * difference: Kamailio's trustedDump returns one struct with repeated `table`/`item` keys, which
 * JSON objects cannot hold; Olelo returns an array of {table, item}.
 */
export function permissionsRpcMethods(deps: PermissionsRpcDeps): RpcMethod[] {
  const { state } = deps;
  const reload = (kind: "address" | "trusted") => async () => {
    try {
      await deps.reload(kind);
    } catch (e) {
      throw new RpcError(RpcCode.ServerError, `Reload failed: ${(e as Error).message}`);
    }
    return "Reload OK";
  };
  return [
    defineRpc({
      name: "permissions.addressReload",
      doc: "Re-reads the address table from its source and swaps it in (the old table stays on error)",
      params: [],
      returns: '"Reload OK"',
      handler: reload("address"),
    }),
    defineRpc({
      name: "permissions.trustedReload",
      doc: "Re-reads the trusted table from its source and swaps it in (the old table stays on error)",
      params: [],
      returns: '"Reload OK"',
      handler: reload("trusted"),
    }),
    defineRpc({
      name: "permissions.addressDump",
      doc: "Host entries (full-length mask) of the address table",
      params: [],
      returns: "[{table, group, item: {ip, port, tag}}]",
      handler: () =>
        state.address.hosts().map((e) => ({
          table: bucket(e.ip),
          group: e.grp,
          item: { ip: e.ip, port: e.port, tag: e.tag ?? "NULL" },
        })),
    }),
    defineRpc({
      name: "permissions.subnetDump",
      doc: "Subnet entries of the address table",
      params: [],
      returns: "[{id, group, item: {ip, mask, port, tag}}]",
      handler: () =>
        state.address.subnets().map((e, i) => ({
          id: i,
          group: e.grp,
          item: { ip: e.ip, mask: e.mask, port: e.port, tag: e.tag ?? "" },
        })),
    }),
    defineRpc({
      name: "permissions.domainDump",
      doc: "DNS-name entries of the address table (matched literally)",
      params: [],
      returns: "[{table, group, item: {domain_name, port, tag}}]",
      handler: () =>
        state.address.domains().map((e) => ({
          table: bucket(e.ip),
          group: e.grp,
          item: { domain_name: e.ip, port: e.port, tag: e.tag ?? "NULL" },
        })),
    }),
    defineRpc({
      name: "permissions.trustedDump",
      doc: "Entries of the trusted table, highest priority first per source IP",
      params: [],
      returns: "[{table, item: {ip, proto, pattern, ruri_pattern, tag, priority}}]",
      handler: () =>
        state.trusted.entries.map((e) => ({
          table: bucket(e.srcIp),
          item: {
            ip: e.srcIp,
            proto: TRUSTED_PROTO_NUMBERS[e.proto] ?? 0,
            pattern: e.fromPatternText ?? "NULL",
            ruri_pattern: e.ruriPatternText ?? "NULL",
            tag: e.tag ?? "NULL",
            priority: e.priority,
          },
        })),
    }),
  ];
}
