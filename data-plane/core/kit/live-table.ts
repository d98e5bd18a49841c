import { tableNamesOf } from "../../../tables/kinds.js";
import type { TableRegistry, TableSet, TableSink } from "../api.js";

/**
 * Registers the sink of a table kind whose apply only swaps the compiled value in (callfwd,
 * domain, dialplan, stir_attest), with the kind's Kamailio tables from tables/kinds.ts, and
 * returns the reader of the live value (`initial` until the first version is applied).
 *
 * @example const table = registerLiveTable(host.tables, "domain", DomainTable.empty(), compileDomain); table().isLocal(h)
 */
export function registerLiveTable<C>(tables: TableRegistry, kind: string, initial: C, compile: (set: TableSet) => C): () => C {
  let live = initial;
  const sink: TableSink<C> = {
    kind,
    tables: tableNamesOf(kind),
    compile,
    apply(compiled) {
      live = compiled;
    },
  };
  tables.register(sink);
  return () => live;
}
