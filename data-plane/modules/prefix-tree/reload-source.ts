import type { ModuleHost } from "../../core/module.js";
import { RpcCode, RpcError } from "../../core/rpc/errors.js";
import type { TableSet } from "../../core/tables/registry.js";

/**
 * Kamailio's `<module>.reload` RPCs re-read the module's tables from the database. In Olelo the
 * tables come from a file, MySQL or the control plane, and the core owns that; until it offers a
 * reload hook, a module takes an optional loader from its config section (`reloadSource`, a
 * function returning the table set, sync or async) and pushes the result through the normal
 * table registry, so a reload is validated and swapped exactly like any other push.
 *
 * @example
 *   const reload = createReloader(host, "lcr");
 *   rpc.register({ name: "lcr.reload", ..., handler: () => reload() });
 */
export type ReloadSource = () => TableSet | Promise<TableSet>;

/** Finds the injected loader: config `reloadSource`, or a `reloadSource` offered by a required module. */
export function findReloadSource(host: ModuleHost): ReloadSource | null {
  const fromConfig = host.config["reloadSource"];
  if (typeof fromConfig === "function") return fromConfig as ReloadSource;
  for (const api of Object.values(host.modules)) {
    const f = (api as { reloadSource?: unknown } | null)?.reloadSource;
    if (typeof f === "function") return f as ReloadSource;
  }
  return null;
}

/**
 * Returns a function that reloads `kind` from the injected source; it resolves with the new
 * version and rejects with RpcError(500) when there is no source, the source fails or a row
 * is rejected (the live table then stays as it was).
 */
export function createReloader(host: ModuleHost, kind: string): () => Promise<string> {
  let seq = 0;
  let running = false;
  return async () => {
    const source = findReloadSource(host);
    if (source === null) {
      throw new RpcError(RpcCode.ServerError, `${kind}: no reloadable source (tables are pushed by the control plane or loaded from a file; nothing to re-read)`);
    }
    if (running) throw new RpcError(RpcCode.Conflict, `${kind}: a reload is already running`);
    running = true;
    try {
      let set: TableSet;
      try {
        set = await source();
      } catch (e) {
        throw new RpcError(RpcCode.ServerError, `${kind}: reload source failed: ${e instanceof Error ? e.message : String(e)}`);
      }
      const version = `reload-${++seq}-${Date.now()}`;
      const res = host.tables.load(kind, set, version, "rpc reload");
      if (!res.ok) throw new RpcError(RpcCode.ServerError, `${kind}: reload failed: ${res.error.message}`);
      return version;
    } finally {
      running = false;
    }
  };
}
