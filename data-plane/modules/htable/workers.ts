import type { NodeShared } from "../../core/api.js";
import type { HashTable, HtValue } from "./hash-table.js";

/** Mutations copied to the other workers of the node (core/workers/README.md). */
const OPS = ["set", "setExpire", "add", "delete", "clear", "removeMatching"] as const;

interface Change {
  readonly t: string;
  readonly op: (typeof OPS)[number];
  readonly args: unknown[];
}

/**
 * Keeps the htables of the node's workers equal (ipban, counters): every mutation made in one
 * worker is broadcast and applied by the others (`add` commutes, so concurrent increments add up);
 * a (re)started worker asks the others for their items. Tables loaded from files, the database or
 * the control plane are loaded by each worker itself.
 */
export function replicateTables(node: NodeShared, tables: ReadonlyMap<string, HashTable>): void {
  let applying = false;
  for (const t of tables.values()) {
    const target = t as unknown as Record<string, (...a: unknown[]) => unknown>;
    for (const op of OPS) {
      const orig = target[op]!.bind(t);
      target[op] = (...args: unknown[]) => {
        const r = orig(...args);
        if (!applying) node.broadcast("htable", [{ t: t.name, op, args } satisfies Change]);
        return r;
      };
    }
  }
  const apply = (fn: () => void): void => {
    applying = true;
    try {
      fn();
    } finally {
      applying = false;
    }
  };
  node.on("htable", (m) => {
    for (const c of m as Change[]) {
      const t = tables.get(c.t) as unknown as Record<string, (...a: unknown[]) => unknown> | undefined;
      if (t && OPS.includes(c.op)) apply(() => t[c.op]!(...c.args));
    }
  });
  node.on("htable-items", (m) => {
    const { t: name, items } = m as { t: string; items: Array<[string, HtValue, number]> };
    const t = tables.get(name);
    if (t) apply(() => { for (const [k, v, exp] of items) if (t.expiresAt(k) === null) t.setAbsolute(k, v, exp); });
  });
  node.on("htable-sync", () => {
    for (const t of tables.values()) {
      const items: Array<[string, HtValue, number]> = [];
      for (const [k, it] of t.entries()) items.push([k, it.value, it.expires]);
      if (items.length > 0) node.broadcast("htable-items", { t: t.name, items });
    }
  });
  node.broadcast("htable-sync", null);
}
