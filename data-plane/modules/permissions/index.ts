import { defineModule } from "../../core/api.js";
import { LiveInstances } from "../../core/kit/index.js";
import type { TableSink } from "../../core/api.js";
import type { AddressTable } from "../../../tables/permissions/address-table.js";
import { MysqlTableSource } from "./db-source.js";
import { permissionsParams, type PermissionsParams } from "./params.js";
import { createPermissionsApi, PermissionsState, type PermissionsApi } from "./permissions-api.js";
import { permissionsRpcMethods } from "./rpc.js";
import { compileAddressSet, compileTrustedSet } from "../../../tables/permissions/table.js";
import type { TrustedTable } from "../../../tables/permissions/trusted-table.js";
import { tableNamesOf } from "../../../tables/kinds.js";

export type { PermissionsApi } from "./permissions-api.js";
export type { AddressEntry } from "../../../tables/permissions/address-table.js";
export type { TrustedEntry } from "../../../tables/permissions/trusted-table.js";
export { compileAddressRows, compileTrustedRows, compileAddressSet, compileTrustedSet } from "../../../tables/permissions/table.js";
export { canonicalIp, parseIpInto, formatIp } from "../../core/kit/index.js";

/** DB pool of each live instance by its API, closed by destroy(api); destroy() closes every one. */
const cleanups = new LiveInstances<PermissionsApi>();

/**
 * permissions: IP access control (Kamailio permissions module) — the `address` table (groups of
 * hosts/subnets with port and tag) and the `trusted` table (source IP + proto + From/R-URI regexes),
 * delivered as table kinds "address" and "trusted", plus `isTrusted(ip)` for the pre-parse guards.
 */
export default defineModule<PermissionsApi, PermissionsParams>({
  name: "permissions",
  doc: "IP address and trusted-peer access control (address and trusted tables)",
  params: permissionsParams,
  rpc: ["permissions.addressReload", "permissions.trustedReload", "permissions.addressDump", "permissions.subnetDump", "permissions.domainDump", "permissions.trustedDump"],
  stats: { group: "permissions", counters: ["allowed", "denied", "address_entries", "trusted_entries"] },
  tables: ["address", "trusted"],
  async init(host) {
    const params = host.config;
    const state = new PermissionsState();
    const stats = host.stats.group("permissions", ["allowed", "denied"]);
    stats.gauge("address_entries", () => state.address.entries.length);
    stats.gauge("trusted_entries", () => state.trusted.entries.length);

    const addressSink: TableSink<AddressTable> = {
      kind: "address",
      tables: tableNamesOf("address"),
      compile: compileAddressSet,
      apply(t, version) {
        state.address = t;
        state.addressVersion = version;
      },
    };
    const trustedSink: TableSink<TrustedTable> = {
      kind: "trusted",
      tables: tableNamesOf("trusted"),
      compile: compileTrustedSet,
      apply(t, version) {
        state.trusted = t;
        state.trustedVersion = version;
      },
    };
    host.tables.register(addressSink);
    host.tables.register(trustedSink);

    const source = params.db_url ? new MysqlTableSource(params.db_url) : null;
    const reload = async (kind: "address" | "trusted"): Promise<void> => {
      if (!source) {
        // control-plane mode: the control plane re-reads the table; done once it is applied here
        const upstream = host.tables.sourceOf(kind);
        if (upstream?.refresh) {
          await upstream.refresh();
          return;
        }
        throw new Error("no db_url configured; tables arrive through the table registry");
      }
      const rows = await source.readTable(kind === "address" ? params.address_table : params.trusted_table);
      const res = host.tables.load(kind, { [kind]: rows }, `mysql-${Date.now()}`, "mysql");
      if (!res.ok) throw res.error;
      host.log.info("table reloaded", { kind, rows: rows.length });
    };
    if (source) {
      try {
        await reload("address");
        await reload("trusted");
      } catch (e) {
        await source.close();
        throw new Error(`permissions: initial load from ${params.address_table}/${params.trusted_table} failed: ${(e as Error).message}`);
      }
    }

    host.rpc.registerAll(permissionsRpcMethods({ state, reload }));
    const api = createPermissionsApi(state, {
      peerTagVar: params.peer_tag_var,
      trustedGroups: params.trusted_groups,
      stats,
    });
    if (source) cleanups.add(api, () => source.close());
    return api;
  },
  destroy(api) {
    return cleanups.destroy(api);
  },
});
