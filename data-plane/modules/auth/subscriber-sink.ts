/**
 * The auth module's table sink for kind "subscriber": a full set compiles in slices when big
 * (1M subscribers without blocking SIP), a delta (kamctl add / rm / passwd pushed by the control
 * plane) goes into an overlay over the live maps at once (tables/subscriber/delta.ts), and when
 * deltas pause for FOLD_AFTER_MS the whole set is compiled again in slices and swapped in if
 * nothing changed meanwhile, so lookups are back to the plain maps.
 *
 * @example
 *   const sink = createSubscriberSink({ log, needPassword: ["SHA-256"], onApply: (t) => { live = t; } });
 *   host.tables.register(sink.sink);
 */
import type { TableSink } from "../../core/api.js";
import { OverlayCompactor, compileBySize } from "../../core/kit/index.js";
import type { Logger } from "../../../lib/log/logger.js";
import type { TableSet } from "../../../tables/rows.js";
import { tableNamesOf } from "../../../tables/kinds.js";
import { applySubscriberChanges } from "../../../tables/subscriber/delta.js";
import { compileSubscriberSteps, subscriberRowsOf, SubscriberTable } from "../../../tables/subscriber/table.js";

/** Idle time after the last delta before the overlay is folded into fresh maps. */
export const FOLD_AFTER_MS = 2000;

export interface SubscriberSinkOptions {
  log: Pick<Logger, "warn" | "error">;
  /** Configured digest algorithms that need the plaintext password (all but MD5). */
  needPassword: readonly string[];
  /** Called with every table that goes live (applied or folded). */
  onApply(t: SubscriberTable): void;
}

const compileSet = (set: TableSet) => compileBySize(set, () => compileSubscriberSteps(subscriberRowsOf(set)));

/** The sink and the live table. */
export function createSubscriberSink(opts: SubscriberSinkOptions): { sink: TableSink<SubscriberTable>; current(): SubscriberTable } {
  let live = SubscriberTable.empty();
  let warned = 0;
  /** compileDelta produced the table about to be applied. */
  let deltaPending = false;

  const swap = (t: SubscriberTable) => {
    live = t;
    opts.onApply(t);
  };
  // folds the overlay back into fresh maps when deltas pause (a fold also goes through onApply)
  const compactor = new OverlayCompactor<SubscriberTable>({
    hasOverlay: (t) => t.overlay !== undefined,
    current: () => live,
    compile: compileSet,
    replace: swap,
    onError: (e) => opts.log.error("auth: folding the subscriber delta overlay into new maps failed; the overlay stays", { error: e.message }),
    afterMs: FOLD_AFTER_MS,
  });

  const sink: TableSink<SubscriberTable> = {
    kind: "subscriber",
    tables: tableNamesOf("subscriber"),
    compile: compileSet,
    compileDelta: (change) => {
      const next = applySubscriberChanges(live, change.tables.get("subscriber") ?? { removed: [], added: [] }, change.set);
      if (next) {
        compactor.deltaCompiled(change.set);
        deltaPending = true;
      }
      return next;
    },
    apply(t) {
      const incremental = t.overlay !== undefined && deltaPending;
      deltaPending = false;
      swap(t);
      compactor.applied(t);
      // A control plane pushes ha1/ha1b only unless started with --push-passwords: say so when
      // the configured algorithms need the plaintext (only MD5 has a stored hash); once per full
      // table, and again after a delta only when the count grew.
      const noPw = opts.needPassword.length > 0 ? t.withoutPassword : 0;
      if (noPw > 0 && (!incremental || noPw > warned)) {
        opts.log.warn("subscribers without a plaintext password cannot answer these digest algorithms (only MD5 from ha1/ha1b); push passwords with the control plane's --push-passwords", {
          subscribers: noPw,
          algorithms: opts.needPassword.join(","),
        });
      }
      warned = noPw;
    },
  };
  return { sink, current: () => live };
}
