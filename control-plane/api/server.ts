/**
 * The management API: JSON-RPC 2.0 over HTTP `POST /RPC` (json-rpc-2.0 through the core's
 * JsonRpcDispatcher), so kamcli-style tools and `curl` can edit the Kamailio tables, push, and see
 * which data planes run which version. Every change goes through a compile check and into
 * olelo_audit (write.ts).
 *
 * Auth: `Authorization: Bearer <token>`. Required whenever a token is configured, and a token is
 * mandatory when binding to a non-loopback address. Each token has a role (roles.ts: read-only,
 * operator, admin); a call above the token's role is refused with HTTP 403. The token's name is
 * the audit actor; without tokens (loopback only) the actor is "local" with every right.
 * TLS: `tls` (a WatchedPemFiles with cert and key) serves HTTPS; new files apply to new connections.
 *
 * Error codes (JSON-RPC error objects): -32602 invalid params (data.param names it), 404 not found,
 * 409 duplicate, 422 rejected by compile (data: {kind, table, row, reason}), 401 unauthorized,
 * 403 forbidden (the token's role does not allow the method).
 *
 * @example
 *   const api = await createManagementServer({ source, db, pool, port: 8070, nodes: () => push.nodes() });
 *   // curl -s localhost:8070/RPC -d '{"jsonrpc":"2.0","method":"dispatcher.list","params":{"setid":1},"id":1}'
 */
import { createServer, type IncomingMessage, type RequestListener, type ServerResponse } from "node:http";
import { createServer as createHttpsServer } from "node:https";
import { METRICS_CONTENT_TYPE } from "../../lib/metrics/text.js";
import { controlPlaneReady, renderControlPlaneMetrics } from "./observability.js";
import type { PushStats } from "../push/server.js";
import type { AddressInfo } from "node:net";
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
import { cdrsMethods } from "./cdrs.js";
import { auditEvent } from "./write.js";
import type { FleetController } from "../push/fleet.js";
import { fleetMethods } from "./fleet-methods.js";
import { dryRunMethod } from "./dry-run-method.js";
import { ApiTokens, redactReplyForRole, requiredRole, roleAllows, type ApiRole } from "./roles.js";
import type { WatchedPemFiles } from "../../lib/tls/pem-files.js";
import { ConsoleSessions, defaultConsoleDir } from "./console.js";
import { nodeRpcInner, nodeRpcMethods } from "./node-rpc.js";

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
  /** Role tokens (a tokens file); together with `token` (role admin). */
  tokens?: ApiTokens;
  /** HTTPS with this certificate and key. */
  tls?: WatchedPemFiles;
  /** `access.reload` / `access.status` (control-plane/security.ts): re-read certificates, access and token files. */
  access?: { reload(): unknown; status(): unknown };
  /** Data planes as the push server sees them (control-plane/push). */
  nodes?: () => readonly NodeStatus[];
  /** The fleet controller (canary, rollback, pins): replaces push and nodes with fleet-methods.ts. */
  fleet?: FleetController;
  /** Push counters for GET /metrics (control-plane/push). */
  pushStats?: () => PushStats;
  /** The web console's built files (default dist/ui, see console.ts); null = no console. */
  uiDir?: string | null;
  /** Bearer token node.rpc sends to the data planes' control APIs. */
  nodeRpcToken?: string | null;
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

/**
 * Method names of a JSON-RPC request body (single or batch); [] when it does not parse (the
 * dispatcher answers that). A node.rpc call is named `node.rpc:<inner method>` (its role depends on it).
 */
function methodsOf(body: string): string[] {
  try {
    const j = JSON.parse(body) as unknown;
    const list = Array.isArray(j) ? j : [j];
    return list.flatMap((r) => {
      if (!r || typeof r !== "object" || typeof (r as { method?: unknown }).method !== "string") return [];
      const { method, params } = r as { method: string; params?: unknown };
      return [method === "node.rpc" ? `node.rpc:${nodeRpcInner(params) ?? ""}` : method];
    });
  } catch {
    return [];
  }
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
  registry.registerAll(cdrsMethods(opts.pool));
  registry.registerAll(nodeRpcMethods({ nodes: opts.nodes ?? (() => []), token: opts.nodeRpcToken }));
  const builtIn: RpcMethod[] = [
    {
      name: "push",
      doc: "Recompiles every kind from the database now; changed kinds are pushed to the data planes at once.",
      params: [],
      returns: "{ kinds: [{kind, version, rows, changed, error}], changed: [kind], errors: [{kind, table, row, reason}], refused: [{kind, table, key, reason}] }",
      async handler(_args, call) {
        const res = await opts.source.refresh(`push by ${actorOf(call)}`);
        const errs = new Map(res.errors.map((e) => [e.kind, e]));
        const kinds = opts.source.kinds().map((k) => {
          const cur = opts.source.current(k);
          return { kind: k, version: cur?.version ?? null, rows: cur?.rows ?? 0, changed: res.changed.includes(k), error: errs.get(k) ?? null };
        });
        await auditEvent(opts.pool, actorOf(call), "push", { changed: res.changed, errors: res.errors });
        return { kinds, changed: res.changed, errors: res.errors, refused: res.refused };
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
      doc: "Control-plane status: database, per-kind versions, bad-row policy, refused rows and held kinds, change-check state, node count.",
      params: [],
      returns: "{ uptime, db: {ok, database, server}, kinds: [{kind, version, rows, policy, held, lastError, refused: [{table, key, reason, since}]}], refusalsTotal, refusedRows, changeCheck: {...}, nodes: n, security?: (as access.status) }",
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
          refusalsTotal: s.refusalsTotal,
          refusedRows: s.refusedRows,
          changeCheck: { intervalMs: s.pollIntervalMs, lastAt: s.lastPollAt, lastError: s.lastPollError, checks: s.polls, ...s.scans },
          changeCapture: s.cdc,
          nodes: opts.nodes ? opts.nodes().length : 0,
          ...(opts.access ? { security: opts.access.status() } : {}),
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
      name: "access.reload",
      doc: "Re-reads the push certificates, the push access file (revoked nodes are cut off), the API certificate and the API tokens file. Admin only.",
      params: [],
      returns: "{ push: {tls, access}, api: {tls, tokens} } with per file {ok, error?}",
      async handler(_args, call) {
        if (!opts.access) throw new RpcError(RpcCode.Unavailable, "no certificates or access files configured");
        const r = await opts.access.reload();
        await auditEvent(opts.pool, actorOf(call), "access.reload", r as Record<string, unknown>);
        return r;
      },
    },
    {
      name: "access.status",
      doc: "Security settings in force: push mode (mtls, token, insecure), certificate subjects and expiry, allow-list, revoked nodes, token counts per role (never secrets).",
      params: [],
      returns: "{ push: {mode, tls, access, passwords}, api: {https, tls, tokens} }",
      handler: () => (opts.access ? opts.access.status() : { push: { mode: "unknown" }, api: {} }),
    },
    {
      name: "tokens.list",
      doc: "API tokens by name and role (read-only, operator, admin) and where they come from (--token or the tokens file); never the tokens themselves. Admin only.",
      params: [],
      returns: "[{ name, role, from }]",
      handler: () => opts.tokens?.list() ?? [],
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
  const tokens = opts.tokens ?? new ApiTokens({ fixed: normalizeTokens(opts.token).map((t) => ({ ...t, role: "admin" as ApiRole })) });
  if (opts.tokens && opts.token) throw new Error("give the management API tokens either as `token` or as `tokens`, not both");
  if (!tokens.required && !isLoopback(host)) {
    throw new Error(`management API on non-loopback address ${host} needs a token (Authorization: Bearer)`);
  }
  const log = opts.log ?? createLogger("control-plane.api");
  const maxBody = opts.maxBodyBytes ?? 1024 * 1024;
  const registry = new RpcRegistry();
  registerManagementMethods(registry, opts, Date.now());
  const dispatcher = new JsonRpcDispatcher({ registry, log });
  const ui = new ConsoleSessions({ tokens, dir: opts.uiDir === undefined ? defaultConsoleDir() : opts.uiDir, secure: !!opts.tls });

  const startedAt = Date.now();
  /** /health and /ready carry no token (probes); /metrics wants one when tokens are configured. */
  async function serveObservability(path: string, req: IncomingMessage, res: ServerResponse): Promise<void> {
    req.resume();
    if (path === "/health") return send(res, 200, { status: "ok", uptime: Math.round((Date.now() - startedAt) / 1000) });
    if (path === "/ready") {
      const r = await controlPlaneReady(opts);
      return send(res, r.ready ? 200 : 503, r);
    }
    if (tokens.required && tokens.lookup(req.headers.authorization) === null) {
      return send(res, 401, { error: "unauthorized: send Authorization: Bearer <token>" }, { "www-authenticate": 'Bearer realm="olelo"' });
    }
    const text = renderControlPlaneMetrics({ ...opts, startedAt });
    res.writeHead(200, { "content-type": METRICS_CONTENT_TYPE, "content-length": Buffer.byteLength(text) });
    res.end(text);
  }
  const handler: RequestListener = (req, res) => {
    void (async () => {
      const path = (req.url ?? "/").split("?")[0];
      if (req.method === "GET" && (path === "/health" || path === "/ready" || path === "/metrics")) return serveObservability(path, req, res);
      if (path === "/" || path === "/ui" || path.startsWith("/ui/")) return ui.serve(req, res, path);
      if (path !== "/RPC") return send(res, 404, { error: "not found; POST JSON-RPC 2.0 to /RPC" });
      if (req.method !== "POST") return send(res, 405, { error: "use POST" }, { allow: "POST" });
      let actor = "local";
      let role: ApiRole = "admin";
      const session = ui.caller(req);
      if (session && "error" in session) {
        req.resume();
        return send(res, session.status, { jsonrpc: "2.0", id: null, error: { code: session.status, message: session.error } });
      }
      if (session) {
        actor = session.actor;
        role = session.role;
      } else if (tokens.required) {
        const who = tokens.lookup(req.headers.authorization);
        if (who === null) {
          req.resume();
          return send(
            res,
            401,
            { jsonrpc: "2.0", id: null, error: { code: RpcCode.Unauthorized, message: "unauthorized: send Authorization: Bearer <token>" } },
            { "www-authenticate": 'Bearer realm="olelo"' },
          );
        }
        actor = who.name;
        role = who.role;
      }
      const body = await readBody(req, maxBody);
      if (body === null) {
        return send(res, 413, { jsonrpc: "2.0", id: null, error: { code: RpcCode.InvalidRequest, message: `request body over ${maxBody} bytes` } });
      }
      const methods = methodsOf(body);
      const denied = methods.find((m) => !roleAllows(role, m));
      if (denied !== undefined) {
        log.warn("management call refused", { actor, role, method: denied });
        const message = `forbidden: '${denied}' needs role ${requiredRole(denied)}; token '${actor}' has role ${role}`;
        return send(res, 403, { jsonrpc: "2.0", id: null, error: { code: RpcCode.Forbidden, message } });
      }
      const info: ApiCallInfo = { transport: "http", remote: `${req.socket.remoteAddress}:${req.socket.remotePort}`, actor };
      const reply = await dispatcher.handleText(body, { info });
      if (reply === null) {
        res.writeHead(204);
        res.end();
        return;
      }
      redactReplyForRole(role, methods, reply);
      send(res, 200, reply);
    })().catch((e: Error) => {
      log.error("management request failed", { error: e.message });
      if (!res.headersSent) send(res, 500, { jsonrpc: "2.0", id: null, error: { code: RpcCode.InternalError, message: e.message } });
      else res.destroy();
    });
  };
  let server: ReturnType<typeof createServer>;
  if (opts.tls) {
    const pem = opts.tls.current();
    if (!pem.cert || !pem.key) throw new Error("management API TLS needs a certificate and a key");
    const https = createHttpsServer({ cert: pem.cert, key: pem.key }, handler);
    opts.tls.addIdentityCertificateListener((u) => {
      if (u) https.setSecureContext({ cert: u.certificate, key: u.privateKey });
    });
    server = https as unknown as ReturnType<typeof createServer>;
  } else server = createServer(handler);
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(opts.port ?? 8070, host, () => {
      server.off("error", reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  const urlHost = host.includes(":") ? `[${host}]` : host;
  const url = `${opts.tls ? "https" : "http"}://${urlHost}:${port}/RPC`;
  log.info("management API listening", { url, auth: tokens.required });
  if (!opts.tls && !isLoopback(host)) log.warn("management API on a non-loopback address without TLS: tokens and rows travel in plaintext (give --api-tls-cert/--api-tls-key)");
  return {
    host,
    port,
    url,
    registry,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
