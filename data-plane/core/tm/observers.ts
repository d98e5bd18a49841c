import { createLogger } from "../../../lib/log/logger.js";
import type { TransactionObserver } from "./types.js";

const log = createLogger("core");

/**
 * Calls one TransactionObserver method on every observer of a transaction (see
 * tm/types.ts); an observer that throws is logged and never breaks the transaction.
 */
export function notifyObservers<K extends keyof TransactionObserver>(
  list: readonly TransactionObserver[],
  event: K,
  ...args: Parameters<NonNullable<TransactionObserver[K]>>
): void {
  for (const o of list) {
    const fn = o[event] as ((...a: unknown[]) => void) | undefined;
    if (!fn) continue;
    try {
      fn.apply(o, args);
    } catch (e) {
      log.error("transaction observer failed", { event, error: e instanceof Error ? e.stack ?? e.message : String(e) });
    }
  }
}
