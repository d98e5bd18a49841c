/**
 * subscriber.create / subscriber.update / subscriber.passwd: like kamctl `add`/`passwd`, they store
 * the password and the digests auth_db checks (kamailio-reference.md §8.3), with realm = domain:
 * ha1 = MD5(username:realm:password), ha1b = MD5(username@domain:realm:password).
 *
 * @example
 *   {"method":"subscriber.create","params":{"username":"alice","domain":"example.com","password":"s3cret"}}
 */
import { createHash } from "node:crypto";
import { RpcCode, RpcError } from "../../lib/rpc/errors.js";
import type { RpcMethod } from "../../lib/rpc/registry.js";
import { tableInfo } from "../db/catalog.js";
import { actorOf, columnValues, insertRow, notFound, updateRow, type CrudDeps } from "./crud.js";
import { coerceColumnValue } from "./values.js";
import { runWrite, selectRow } from "./write.js";

const md5 = (s: string) => createHash("md5").update(s).digest("hex");

/** The two digests auth_db compares against (RFC 2617 HA1 with realm = domain). */
export function subscriberDigests(username: string, domain: string, password: string): { ha1: string; ha1b: string } {
  return { ha1: md5(`${username}:${domain}:${password}`), ha1b: md5(`${username}@${domain}:${domain}:${password}`) };
}

/** Replaces the generic subscriber.create/update and adds subscriber.passwd. */
export function subscriberMethods(deps: CrudDeps): RpcMethod[] {
  const table = tableInfo("subscriber");
  const col = (n: string) => table.column.get(n)!;
  const secret = (pw: unknown) => {
    const s = coerceColumnValue(col("password"), pw) as string;
    if (s === "") throw RpcError.invalidParam("password", "must not be empty");
    return s;
  };
  return [
    {
      name: "subscriber.create",
      doc: "Adds a subscriber; stores password (unless store_plaintext is false) and ha1/ha1b with realm = domain.",
      params: [
        { name: "username", type: "any" },
        { name: "domain", type: "any", optional: true, doc: "default ''" },
        { name: "password", type: "any" },
        { name: "id", type: "any", optional: true },
        { name: "store_plaintext", type: "bool", optional: true, doc: "keep the plain password column (default true, as kamctl)" },
      ],
      returns: "{ row, kind, version }",
      async handler(args, call) {
        const username = coerceColumnValue(col("username"), args.username) as string;
        if (username === "") throw RpcError.invalidParam("username", "must not be empty");
        const domain = args.domain === undefined ? "" : (coerceColumnValue(col("domain"), args.domain) as string);
        const password = secret(args.password);
        const values: Record<string, unknown> = {
          ...(args.id !== undefined ? { id: coerceColumnValue(col("id"), args.id) } : {}),
          username,
          domain,
          password: args.store_plaintext === false ? "" : password,
          ...subscriberDigests(username, domain, password),
        };
        const res = await runWrite(deps.pool, deps.source, { actor: actorOf(call), action: "create", table, apply: insertRow(table, values) });
        return { row: res.row, kind: res.kind, version: res.version, ...(res.warning ? { warning: res.warning } : {}) };
      },
    },
    {
      name: "subscriber.update",
      doc: "Changes username, domain and/or password of a subscriber (by id); ha1/ha1b are recomputed.",
      params: [
        { name: "id", type: "any" },
        { name: "username", type: "any", optional: true },
        { name: "domain", type: "any", optional: true },
        { name: "password", type: "any", optional: true },
        { name: "store_plaintext", type: "bool", optional: true },
      ],
      returns: "{ row, kind, version }",
      async handler(args, call) {
        const id = coerceColumnValue(col("id"), args.id);
        const changes = columnValues(table, { username: args.username, domain: args.domain }, new Set());
        if (changes.username === "") throw RpcError.invalidParam("username", "must not be empty");
        const newPw = args.password === undefined ? undefined : secret(args.password);
        if (Object.keys(changes).length === 0 && newPw === undefined) {
          throw new RpcError(RpcCode.InvalidParams, "nothing to update: give username, domain or password");
        }
        const res = await runWrite(deps.pool, deps.source, {
          actor: actorOf(call),
          action: "update",
          table,
          apply: async (conn) => {
            const cur = await selectRow(conn, table, id, true);
            if (!cur) throw notFound(table, id);
            const username = (changes.username as string | undefined) ?? String(cur.username);
            const domain = (changes.domain as string | undefined) ?? String(cur.domain);
            const pw = newPw ?? String(cur.password ?? "");
            if (pw === "") throw RpcError.invalidParam("password", "required: the stored password is empty, so ha1/ha1b cannot be recomputed");
            const keepPlain = args.store_plaintext === undefined ? String(cur.password ?? "") !== "" || newPw !== undefined : args.store_plaintext !== false;
            const values = { ...changes, password: keepPlain ? pw : "", ...subscriberDigests(username, domain, pw) };
            return updateRow(table, id, values)(conn);
          },
        });
        return { row: res.row, kind: res.kind, version: res.version, ...(res.warning ? { warning: res.warning } : {}) };
      },
    },
    {
      name: "subscriber.passwd",
      doc: "Sets a subscriber's password (by username+domain, or by id), recomputing ha1/ha1b (kamctl passwd).",
      params: [
        { name: "username", type: "any", optional: true },
        { name: "domain", type: "any", optional: true },
        { name: "password", type: "any" },
        { name: "id", type: "any", optional: true },
      ],
      returns: "{ row, kind, version }",
      async handler(args, call) {
        const password = secret(args.password);
        let id: unknown = args.id === undefined ? undefined : coerceColumnValue(col("id"), args.id);
        if (id === undefined) {
          if (args.username === undefined) throw new RpcError(RpcCode.InvalidParams, "missing parameter 'username' (or 'id')", { param: "username" });
          const username = coerceColumnValue(col("username"), args.username);
          const domain = args.domain === undefined ? "" : coerceColumnValue(col("domain"), args.domain);
          const [rows] = await deps.pool.query<import("mysql2/promise").RowDataPacket[]>(
            "SELECT `id` FROM `subscriber` WHERE `username` = ? AND `domain` = ?",
            [username, domain],
          );
          if (!rows[0]) throw new RpcError(RpcCode.NotFound, `subscriber ${String(username)}@${String(domain)} not found`, { table: "subscriber", username, domain });
          id = rows[0].id;
        }
        const res = await runWrite(deps.pool, deps.source, {
          actor: actorOf(call),
          action: "passwd",
          table,
          apply: async (conn) => {
            const cur = await selectRow(conn, table, id, true);
            if (!cur) throw notFound(table, id);
            const plain = String(cur.password ?? "") !== "" || String(cur.ha1 ?? "") === "";
            const values = { password: plain ? password : "", ...subscriberDigests(String(cur.username), String(cur.domain), password) };
            return updateRow(table, id, values)(conn);
          },
        });
        return { row: res.row, kind: res.kind, version: res.version, ...(res.warning ? { warning: res.warning } : {}) };
      },
    },
  ];
}
