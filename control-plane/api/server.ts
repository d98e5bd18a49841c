/**
 * The management API: JSON-RPC 2.0 over HTTP `POST /RPC` (json-rpc-2.0 through the core's
 * JsonRpcDispatcher), so kamcli-style tools and `curl` can edit the Kamailio tables, push, and see
 * which data planes run which version. Every change goes through a compile check and into
 * olelo_audit (write.ts).
 *
 * Auth: `Authorization: Bearer <token>`. Required whenever a token is configured, and a token is
 * mandatory when binding to a non-loopback address. The token's name is the audit actor; without
 * tokens (loopback only) the actor is "local".
 *
 * Error codes (JSON-RPC error objects): -32602 invalid params (data.param names it), 404 not found,
 * 409 duplicate, 422 rejected by compile (data: {kind, table, row, reason}), 401 unauthorized.
 *
 * @example
 *   const api = await createManagementServer({ source, db, pool, port: 8070, nodes: () => push.nodes() });
 *   // curl -s localhost:8070/RPC -d '{"jsonrpc":"2.0","method":"dispatcher.list","params":{"setid":1},"id":1}'
 */
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { timingSafeEqual } from "node:crypto";
import type { Pool, RowDataPacket } from "mysql2/promise";
import { createLogger, type Logger } from "../../lib/log/logger.js";
import { RpcCode, RpcError } from "../../lib/rpc/errors.js";
import { JsonRpcDispatcher } from "../../lib/rpc/json-rpc.js";
import { RpcRegistry, formatSignature, type RpcMethod } from "../../lib/rpc/registry.js";
import { and, desc, eq } from "drizzle-orm";
import { TABLES } from "../db/catalog.js";
import { olelo_audit } from "../db/schema.js";
import type { OleloDb } from "../db/connect.js";
import type { DbSnapshotSource } from "../compile/source.js";
import type { NodeStatus } from "../push/node-status.js";
import { actorOf, crudMethods, type ApiCallInfo } from "./crud.js";
import { subscriberMethods } from "./subscriber.js";
import { auditEvent } from "./write.js";
import type { FleetController } from "../push/fleet.js";
import { fleetMethods } from "./fleet-methods.js";
import { dryRunMethod } from "./dry-run-method.js";

export type { NodeStatus };

/** A named API token; the name is written to olelo_audit as the actor. */
export interface ApiToken {
  name: string;
  token: string;
}

export interface ManagementServerOptions {
  source: DbSnapshotSource;
  db: OleloDb;
  pool: Pool;
  /** Default 127.0.0.1. */
  host?: string;
  /** Default 8070; 0 picks a free port. */
  port?: number;
  /** One token (actor name "admin") or named tokens. Required for a non-loopback host. */
  token?: string | readonly ApiToken[];
  /** Data planes as the push server sees them (control-plane/push). */
  nodes?: () => readonly NodeStatus[];
  /** The fleet controller (canary, rollback, pins): replaces push and nodes with fleet-methods.ts. */
  fleet?: FleetController;
  /** Largest accepted request body (default 1 MiB). */
  maxBodyBytes?: number;
  log?: Logger;
}

export interface ManagementServer {
  readonly host: string;
  readonly port: number;
  /** e.g. http://127.0.0.1:8070/RPC */
  readonly url: string;
  readonly registry: RpcRegistry;
  close(): Promise<void>;
}

/** Whether `host` only accepts local connections. */
export function isLoopback(host: string): boolean {
  return host === "localhost" || host === "::1" || /^127\.\d+\.\d+\.\d+$/.test(host) || host === "::ffff:127.0.0.1";
}

function normalizeTokens(t: ManagementServerOptions["token"]): ApiToken[] {
  if (t === undefined) return [];
  const list = typeof t === "string" ? [{ name: "admin", token: t }] : [...t];
  for (const x of list) {
    if (!x.token || x.token.length < 8) throw new Error(`API token '${x.name}' is shorter than 8 characters`);
    if (!/^[\w.@-]{1,64}$/.test(x.name)) throw new Error(`API token name '${x.name}' must be 1-64 of [A-Za-z0-9_.@-]`);
  }
  return list;
}

function tokenName(tokens: readonly ApiToken[], header: string | undefined): string | null {
  const m = header?.match(/^Bearer\s+(\S+)\s*$/i);
  if (!m) return null;
  const given = Buffer.from(m[1]!);
  let found: string | null = null;
  for (const t of tokens) {
    const want = Buffer.from(t.token);
    if (want.length === given.length && timingSafeEqual(want, given)) found = t.name;
  }
  return found;
}

/** Registers every management method on `registry`. */
export function registerManagementMethods(registry: RpcRegistry, opts: ManagementServerOptions, started: number): void {
  const deps = { pool: opts.pool, source: opts.source };
  const subscriber = subscriberMethods(deps);
  const overridden = new Set(subscriber.map((m) => m.name));
  for (const table of TABLES.values()) {
    // olelo_audit / olelo_snapshots have their own methods (audit.list, snapshots.list);
    // writable olelo_* tables (olelo_callfwd, olelo_callblock) get the generic CRUD like Kamailio's
    if (table.name.startsWith("olelo_") && !table.writable) continue;
    registry.registerAll(crudMethods(table, deps).filter((m) => !overridden.has(m.name)));
  }
  registry.registerAll(subscriber);
  const fleet = opts.fleet ? fleetMethods({ source: opts.source, pool: opts.pool, fleet: opts.fleet, nodes: opts.nodes ?? (() => []) }) : [];
  registry.registerAll(fleet);
  const fleetNames = new Set(fleet.map((m) => m.name));
  const builtIn: RpcMethod[] = [
    {
      name: "push",
      doc: "Recompiles every kind from the database now; changed kinds are pushed to the data planes at once.",
      params: [],
      returns: "{ kinds: [{kind, version, rows, changed, error}], changed: [kind], errors: [{kind, table, row, reason}] }",
      async handler(_args, call) {
        const res = await opts.source.refresh(`push by ${actorOf(call)}`);
        const errs = new Map(res.errors.map((e) => [e.kind, e]));
        const kinds = opts.source.kinds().map((k) => {
          const cur = opts.source.current(k);
          return { kind: k, version: cur?.version ?? null, rows: cur?.rows ?? 0, changed: res.changed.includes(k), error: errs.get(k) ?? null };
        });
        await auditEvent(opts.pool, actorOf(call), "push", { changed: res.changed, errors: res.errors });
        return { kinds, changed: res.changed, errors: res.errors };
      },
    },
    {
      name: "nodes",
      doc: "Connected (and recently disconnected) data planes: per kind the applied version, ACK/NACK state and last error.",
      params: [],
      returns: "[{ nodeId, peer, connected, tables: [{kind, appliedVersion, pending, lastNackVersion, lastNackError}] }]",
      handler: () => (opts.nodes ? opts.nodes() : []),
    },
    {
      name: "diff",
      doc: "What the next push would change: per kind, rows added/removed/changed (by key) between the served version and the database.",
      params: [],
      returns: "[{ kind, from, to, error?, added: [{table, id, row}], removed: [...], changed: [{table, id, columns, before, after}] }]",
      handler: () => opts.source.diff(),
    },
    {
      name: "status",
      doc: "Control-plane status: database, per-kind versions and compile errors, change-check state, node count.",
      params: [],
      returns: "{ uptime, db: {ok, database, server}, kinds: [...], changeCheck: {...}, nodes: n }",
      async handler() {
        let db: Record<string, unknown>;
        try {
          const [r] = await opts.pool.query<RowDataPacket[]>("SELECT DATABASE() AS d, VERSION() AS v");
          db = { ok: true, database: r[0]!.d, server: r[0]!.v };
        } catch (e) {
          db = { ok: false, error: (e as Error).message };
        }
        const s = opts.source.status();
        return {
          uptime: Math.round((Date.now() - started) / 1000),
          db,
          kinds: s.kinds,
          changeCheck: { intervalMs: s.pollIntervalMs, lastAt: s.lastPollAt, lastError: s.lastPollError, checks: s.polls, ...s.scans },
          nodes: opts.nodes ? opts.nodes().length : 0,
        };
      },
    },
    {
      name: "audit.list",
      doc: "Audit log of changes, newest first; filter by table_name, row_id, actor, kind.",
      params: [
        { name: "table_name", type: "string", optional: true },
        { name: "row_id", type: "string", optional: true },
        { name: "actor", type: "string", optional: true },
        { name: "kind", type: "string", optional: true },
        { name: "limit", type: "int", optional: true, doc: "default 100, at most 10000" },
        { name: "offset", type: "int", optional: true },
      ],
      returns: "{ rows: [{id, ts, actor, action, kind, table_name, row_id, before, after, version}] }",
      async handler(args) {
        const a = olelo_audit;
        const conds = (["table_name", "row_id", "actor", "kind"] as const).filter((k) => args[k] !== undefined).map((k) => eq(a[k], args[k] as string));
        const limit = (args.limit as number | undefined) ?? 100;
        if (limit < 0 || limit > 10000) throw RpcError.invalidParam("limit", "must be 0..10000");
        const offset = (args.offset as number | undefined) ?? 0;
        if (offset < 0) throw RpcError.invalidParam("offset", "must not be negative");
        const rows = await opts.db
          .select()
          .from(a)
          .where(conds.length ? and(...conds) : undefined)
          .orderBy(desc(a.id))
          .limit(limit)
          .offset(offset);
        // MariaDB stores JSON as LONGTEXT: the driver hands back strings.
        const parse = (v: unknown) => (typeof v === "string" ? (JSON.parse(v) as unknown) : (v ?? null));
        return { rows: rows.map((r) => ({ ...r, ts: `${r.ts.replace(" ", "T")}Z`, before: parse(r.before), after: parse(r.after) })) };
      },
    },
    {
      name: "snapshots.list",
      doc: "Compiled versions recorded per kind (olelo_snapshots), newest first.",
      params: [
        { name: "kind", type: "string", optional: true },
        { name: "limit", type: "int", optional: true, doc: "default 50" },
      ],
      returns: "{ rows: [{id, kind, version, rows, reason, created_at, has_data}] }",
      async handler(args) {
        const limit = (args.limit as number | undefined) ?? 50;
        if (limit < 0 || limit > 10000) throw RpcError.invalidParam("limit", "must be 0..10000");
        const [rows] = await opts.pool.query<RowDataPacket[]>({
          sql:
            "SELECT `id`, `kind`, `version`, `row_count`, `reason`, `created_at`, `data` IS NOT NULL AS has_data FROM `olelo_snapshots`" +
            (args.kind !== undefined ? " WHERE `kind` = ?" : "") +
            " ORDER BY `id` DESC LIMIT ?",
          values: args.kind !== undefined ? [args.kind, limit] : [limit],
          dateStrings: true,
        });
        return {
          rows: rows.map((r) => ({
            id: Number(r.id),
            kind: r.kind,
            version: r.version,
            rows: Number(r.row_count),
            reason: r.reason,
            created_at: `${String(r.created_at).replace(" ", "T")}Z`,
            has_data: Number(r.has_data) === 1,
          })),
        };
      },
    },
    {
      name: "system.listMethods",
      doc: "Names of all management methods.",
      params: [],
      handler: () => registry.list().map((m) => m.name),
    },
    {
      name: "system.methodHelp",
      doc: "Help text of one method: signature, parameters, result.",
      params: [{ name: "method", type: "string" }],
      handler: ({ method }) => registry.help(method as string),
    },
    {
      name: "system.methodSignature",
      doc: "Signature of one method.",
      params: [{ name: "method", type: "string" }],
      handler: ({ method }) => {
        const m = registry.get(method as string);
        if (!m) throw new RpcError(RpcCode.MethodNotFound, `method '${String(method)}' not found`);
        return formatSignature(m);
      },
    },
  ];
  registry.registerAll(builtIn.filter((m) => !fleetNames.has(m.name)));
  if (!opts.fleet) registry.register(dryRunMethod({ source: opts.source }));
}

function readBody(req: IncomingMessage, max: number): Promise<string | null> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on("data", (c: Buffer) => {
      size += c.length;
      if (size > max) {
        resolve(null);
        req.destroy();
        return;
      }
      chunks.push(c);
    });
    req.on("end", () => resolve(Buffer.concat(chunks).toString("utf8")));
    req.on("error", reject);
  });
}

function send(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = body === null ? "" : JSON.stringify(body);
  res.writeHead(status, { "content-type": "application/json", "content-length": Buffer.byteLength(text), ...headers });
  res.end(text);
}

/** Starts the management API server; resolves once it listens. */
export async function createManagementServer(opts: ManagementServerOptions): Promise<ManagementServer> {
  const host = opts.host ?? "127.0.0.1";
  const tokens = normalizeTokens(opts.token);
  if (tokens.length === 0 && !isLoopback(host)) {
    throw new Error(`management API on non-loopback address ${host} needs a token (Authorization: Bearer)`);
  }
  const log = opts.log ?? createLogger("control-plane.api");
  const maxBody = opts.maxBodyBytes ?? 1024 * 1024;
  const registry = new RpcRegistry();
  registerManagementMethods(registry, opts, Date.now());
  const dispatcher = new JsonRpcDispatcher({ registry, log });

  const server = createServer((req, res) => {
    void (async () => {
      const path = (req.url ?? "/").split("?")[0];
      if (path !== "/RPC") return send(res, 404, { error: "not found; POST JSON-RPC 2.0 to /RPC" });
      if (req.method !== "POST") return send(res, 405, { error: "use POST" }, { allow: "POST" });
      let actor = "local";
      if (tokens.length > 0) {
        const name = tokenName(tokens, req.headers.authorization);
        if (name === null) {
          req.resume();
          return send(
            res,
            401,
            { jsonrpc: "2.0", id: null, error: { code: RpcCode.Unauthorized, message: "unauthorized: send Authorization: Bearer <token>" } },
            { "www-authenticate": 'Bearer realm="olelo"' },
          );
        }
        actor = name;
      }
      const body = await readBody(req, maxBody);
      if (body === null) {
        return send(res, 413, { jsonrpc: "2.0", id: null, error: { code: RpcCode.InvalidRequest, message: `request body over ${maxBody} bytes` } });
      }
      const info: ApiCallInfo = { transport: "http", remote: `${req.socket.remoteAddress}:${req.socket.remotePort}`, actor };
      const reply = await dispatcher.handleText(body, { info });
      if (reply === null) {
        res.writeHead(204);
        res.end();
        return;
      }
      send(res, 200, reply);
    })().catch((e: Error) => {
      log.error("management request failed", { error: e.message });
      if (!res.headersSent) send(res, 500, { jsonrpc: "2.0", id: null, error: { code: RpcCode.InternalError, message: e.message } });
      else res.destroy();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(opts.port ?? 8070, host, () => {
      server.off("error", reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  const urlHost = host.includes(":") ? `[${host}]` : host;
  log.info("management API listening", { url: `http://${urlHost}:${port}/RPC`, auth: tokens.length > 0 });
  return {
    host,
    port,
    url: `http://${urlHost}:${port}/RPC`,
    registry,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
