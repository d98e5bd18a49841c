import { RpcCode, RpcError, type ModuleHost } from "../api.js";

/**
 * Kamailio's `<module>.reload` RPCs re-read the module's tables from the database. In Olelo the
 * core knows where a kind's rows come from (a table file, the control plane) and re-reads them
 * with `host.tables.reload(kind)`: the rows are validated and compiled to one side and swapped in
 * only when every row is good, so a bad row leaves the live table (and the calls routed by it)
 * as they were. This wrapper adds what the RPCs need on top: one reload of a kind at a time
 * (a second one while a 1M-row compile runs is refused instead of doubling the memory), and an
 * error that says which source was read and which row was refused.
 *
 * @example
 *   const reload = createTableReloader(host, "lcr");
 *   rpc.register({ name: "lcr.reload", ..., handler: async () => { await reload(); return null; } });
 */
export function createTableReloader(host: Pick<ModuleHost, "tables">, kind: string): () => Promise<{ version: string; source: string }> {
  let running = false;
  return async () => {
    if (running) throw new RpcError(RpcCode.Conflict, `${kind}: a reload is already running`);
    running = true;
    try {
      const r = await host.tables.reload(kind);
      if (!r.ok) {
        // name the source unless the error does already (a file that cannot be read or parsed)
        const src = host.tables.sourceOf(kind)?.describe;
        const msg = r.error.message;
        throw new RpcError(RpcCode.ServerError, src && !msg.includes(src.replace(/^file:/, "")) ? `${src}: ${msg}` : msg);
      }
      return { version: r.version, source: r.source };
    } finally {
      running = false;
    }
  };
}

/**
 * Runs a `<module>.reload` RPC's reload and turns its failure into an RpcError (`code`, default
 * ServerError) whose message is `prefix` + the failure's message: the wording each Kamailio module
 * uses for its reload RPC.
 *
 * @example
 *   handler: async () => { await runReload(reload, "LCR Module Reload Failed: "); return null; },
 */
export async function runReload(reload: () => Promise<unknown>, prefix: string, code: RpcCode = RpcCode.ServerError): Promise<void> {
  try {
    await reload();
  } catch (e) {
    throw new RpcError(code, `${prefix}${e instanceof Error ? e.message : String(e)}`);
  }
}
