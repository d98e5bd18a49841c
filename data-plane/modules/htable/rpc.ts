import { RpcCode, RpcError, defineRpc } from "../../core/api.js";
import type { RpcMethod } from "../../core/api.js";
import type { HashTable } from "./hash-table.js";
import type { HtableManager } from "./htable-manager.js";

/** Kamailio's AVP flag for string values, shown by htable.get. */
const AVP_VAL_STR = 2;

function pad(n: number): string {
  return n < 10 ? `0${n}` : String(n);
}

/** "%Y-%m-%d %H:%M:%S" in local time, as htable.get prints `expire`. */
function formatExpire(ms: number): string {
  if (ms === 0) return "NEVER";
  const d = new Date(ms);
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
}

const fail = (msg: string, code: number = RpcCode.ServerError) => new RpcError(code, msg);

/**
 * htable.* RPCs with Kamailio's names, parameters and output shapes (reply texts such as
 * "Ok. Key set to new value." included, so kamcli users see what they know).
 */
export function htableRpcMethods(mgr: HtableManager, upstream?: () => { refresh?(): Promise<unknown> } | undefined): RpcMethod[] {
  const table = (name: unknown): HashTable => {
    const t = mgr.get(String(name));
    if (!t) throw fail("No such htable");
    return t;
  };
  const tk = [
    { name: "htable", type: "string", doc: "table name" },
    { name: "key", type: "string", doc: "item name" },
  ] as const;
  return [
    defineRpc({
      name: "htable.get",
      doc: "Returns one item",
      params: [...tk],
      returns: "{item: {name, value, flags, expire}}",
      handler: ({ htable, key }) => {
        const t = table(htable);
        const k = String(key);
        if (!t.has(k)) throw fail("Key name doesn't exist in htable.");
        const v = t.get(k)!;
        const exp = t.expiresAt(k) ?? 0;
        return { item: { name: k, value: v, flags: typeof v === "string" ? AVP_VAL_STR : 0, expire: formatExpire(exp) } };
      },
    }),
    defineRpc({
      name: "htable.delete",
      doc: "Deletes one item",
      params: [...tk],
      returns: '"Ok. Key deleted."',
      handler: ({ htable, key }) => {
        if (!table(htable).delete(String(key))) throw fail("Key not found in htable.", RpcCode.NotFound);
        return "Ok. Key deleted.";
      },
    }),
    defineRpc({
      name: "htable.sets",
      doc: "Sets an item to a string value",
      params: [...tk, { name: "value", type: "string" }],
      returns: '"Ok. Key set to new value."',
      handler: ({ htable, key, value }) => {
        table(htable).set(String(key), String(value));
        return "Ok. Key set to new value.";
      },
    }),
    defineRpc({
      name: "htable.seti",
      doc: "Sets an item to an integer value",
      params: [...tk, { name: "value", type: "int" }],
      returns: '"Ok. Key set to new value."',
      handler: ({ htable, key, value }) => {
        table(htable).set(String(key), value);
        return "Ok. Key set to new value.";
      },
    }),
    defineRpc({
      name: "htable.setex",
      doc: "Sets the expiry (seconds from now, 0 = never) of an existing item",
      params: [...tk, { name: "expire", type: "int" }],
      returns: '"Ok"',
      handler: ({ htable, key, expire }) => {
        if (!table(htable).setExpire(String(key), expire)) throw fail("Failed to set the item");
        return "Ok";
      },
    }),
    defineRpc({
      name: "htable.setxs",
      doc: "Sets an item to a string value with its own expiry (seconds)",
      params: [...tk, { name: "value", type: "string" }, { name: "expire", type: "int" }],
      returns: '"Ok. Key set to new value."',
      handler: ({ htable, key, value, expire }) => {
        table(htable).set(String(key), String(value), expire);
        return "Ok. Key set to new value.";
      },
    }),
    defineRpc({
      name: "htable.setxi",
      doc: "Sets an item to an integer value with its own expiry (seconds)",
      params: [...tk, { name: "value", type: "int" }, { name: "expire", type: "int" }],
      returns: '"Ok. Key set to new value."',
      handler: ({ htable, key, value, expire }) => {
        table(htable).set(String(key), value, expire);
        return "Ok. Key set to new value.";
      },
    }),
    defineRpc({
      name: "htable.dump",
      doc: "Dumps a table by bucket",
      params: [{ name: "htable", type: "string" }],
      returns: "[{entry, size, slot: [{name, value, type: str|int}]}]",
      handler: ({ htable }) => {
        const out: unknown[] = [];
        table(htable)
          .buckets()
          .forEach((items, i) => {
            if (items.length === 0) return;
            out.push({
              entry: i,
              size: items.length,
              slot: items.map(([k, it]) => ({ name: k, value: it.value, type: typeof it.value === "string" ? "str" : "int" })),
            });
          });
        return out;
      },
    }),
    defineRpc({
      name: "htable.flush",
      doc: "Removes every item of a table",
      params: [{ name: "htable", type: "string" }],
      returns: '"Ok. Htable flushed."',
      handler: ({ htable }) => {
        table(htable).clear();
        return "Ok. Htable flushed.";
      },
    }),
    defineRpc({
      name: "htable.reload",
      doc: "Reloads a table from its dbtable (the old content stays on error)",
      params: [{ name: "htable", type: "string" }],
      returns: '"Ok. Htable reloaded."',
      handler: async ({ htable }) => {
        const t = table(htable);
        try {
          // control-plane mode (no db_url here): the control plane re-reads the htable table
          const up = !mgr.db && t.def.dbtable ? upstream?.() : undefined;
          if (up?.refresh) await up.refresh();
          else await mgr.reload(String(htable));
        } catch (e) {
          throw fail(`Htable reload failed: ${(e as Error).message}`);
        }
        return "Ok. Htable reloaded.";
      },
    }),
    defineRpc({
      name: "htable.store",
      doc: "Writes a table to its dbtable now, replacing the stored rows",
      params: [{ name: "htable", type: "string" }],
      returns: '"Ok. Htable successfully stored to DB."',
      handler: async ({ htable }) => {
        const t = table(htable);
        if (!mgr.db) throw fail("No htable db_url");
        if (!t.def.dbtable) throw fail("No database htable");
        try {
          await mgr.store(t.name);
        } catch (e) {
          throw fail(`Storing htable failed: ${(e as Error).message}`);
        }
        return "Ok. Htable successfully stored to DB.";
      },
    }),
    defineRpc({
      name: "htable.listTables",
      doc: "Lists the defined tables and their attributes",
      params: [],
      returns: "[{name, dbtable, dbmode, expire, updateexpire, size, dmqreplicate}]",
      handler: () => {
        if (mgr.tables.size === 0) throw fail("No htables");
        return [...mgr.tables.values()].map((t) => ({
          name: t.name,
          dbtable: t.def.dbtable ?? "",
          dbmode: t.def.dbmode,
          expire: t.def.autoexpire,
          updateexpire: t.def.updateexpire ? 1 : 0,
          size: t.slots,
          dmqreplicate: t.def.dmqreplicate,
        }));
      },
    }),
    defineRpc({
      name: "htable.stats",
      doc: "Bucket statistics per table",
      params: [],
      returns: "[{name, slots, all, min, max}]",
      handler: () => {
        if (mgr.tables.size === 0) throw fail("No htables");
        return [...mgr.tables.values()].map((t) => {
          const sizes = t.buckets().map((b) => b.length);
          return {
            name: t.name,
            slots: t.slots,
            all: sizes.reduce((a, b) => a + b, 0),
            min: Math.min(...sizes),
            max: Math.max(...sizes),
          };
        });
      },
    }),
  ];
}
