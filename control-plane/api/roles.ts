/**
 * Management API tokens and their roles. A token is `read-only` (list/get/status/nodes/diff/audit,
 * system.*), `operator` (also writes rows and `push`) or `admin` (everything, e.g. access.reload).
 * Tokens come from `--token` (one admin token) and/or a tokens file (`--api-tokens FILE`), JSON
 * `{"<token>": "operator"}` or `{"<token>": {"role": "operator", "name": "alice"}}`; the name
 * (default `<role>-<first 6 hex of the token's SHA-256>`) is the audit actor. The file is watched
 * and re-read by `access.reload` / SIGHUP; a bad file keeps the old tokens.
 *
 * @example
 *   const tokens = new ApiTokens({ file: "/etc/olelo/api-tokens.json" });
 *   tokens.lookup("Bearer 3f…");           // { name: "alice", role: "operator" } or null
 *   requiredRole("dispatcher.create");       // "operator"
 */
import { createHash, timingSafeEqual } from "node:crypto";
import { readFileSync, unwatchFile, watchFile } from "node:fs";
import { NODE_RPC_WRITE } from "./node-rpc.js";

export const API_ROLES = ["read-only", "operator", "admin"] as const;
export type ApiRole = (typeof API_ROLES)[number];

export interface RoleToken {
  name: string;
  token: string;
  role: ApiRole;
}

const READ_ONLY_METHODS = new Set(["status", "nodes", "diff", "audit.list", "snapshots.list", "access.status", "cdrs.export", "cdrs.dead_letters", "canary.status", "route.dryRun"]);

const NODE_RPC_WRITES = new Set<string>(NODE_RPC_WRITE);

/** The least role that may call `method` (`node.rpc:<inner>`: by the data-plane method it forwards). */
export function requiredRole(method: string): ApiRole {
  if (method.startsWith("node.rpc:")) return NODE_RPC_WRITES.has(method.slice("node.rpc:".length)) ? "operator" : "read-only";
  if (method === "node.rpc" || method === "tables.schema") return "read-only";
  if (method.startsWith("access.") && method !== "access.status") return "admin";
  if (method.startsWith("tokens.")) return "admin";
  if (READ_ONLY_METHODS.has(method) || method.startsWith("system.") || /\.(list|get|dump|show)$/.test(method)) return "read-only";
  return "operator";
}

export function roleAllows(role: ApiRole, method: string): boolean {
  return API_ROLES.indexOf(role) >= API_ROLES.indexOf(requiredRole(method));
}

/** Parses a tokens file; throws an Error naming the file and the bad entry (never the token itself). */
export function parseTokensFile(text: string, file: string): RoleToken[] {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    throw new Error(`API tokens file ${file}: invalid JSON: ${(e as Error).message}`);
  }
  if (raw === null || typeof raw !== "object" || Array.isArray(raw)) throw new Error(`API tokens file ${file}: must be a JSON object {token: role}`);
  const out: RoleToken[] = [];
  let n = 0;
  for (const [token, v] of Object.entries(raw as Record<string, unknown>)) {
    n++;
    if (token === "$comment") continue;
    const spec = typeof v === "string" ? { role: v } : v !== null && typeof v === "object" ? (v as Record<string, unknown>) : {};
    const role = spec.role;
    if (typeof role !== "string" || !(API_ROLES as readonly string[]).includes(role)) {
      throw new Error(`API tokens file ${file}: entry ${n}: role must be one of ${API_ROLES.join(", ")}`);
    }
    if (token.length < 16) throw new Error(`API tokens file ${file}: entry ${n}: a token must have at least 16 characters`);
    const name = spec.name === undefined ? `${role}-${createHash("sha256").update(token).digest("hex").slice(0, 6)}` : spec.name;
    if (typeof name !== "string" || !/^[\w.@-]{1,64}$/.test(name)) throw new Error(`API tokens file ${file}: entry ${n}: name must be 1-64 of [A-Za-z0-9_.@-]`);
    out.push({ token, role: role as ApiRole, name });
  }
  return out;
}

export interface ApiTokensOptions {
  file?: string | null;
  /** Fixed tokens (from --token / code), kept across reloads. */
  fixed?: readonly RoleToken[];
  /** mtime poll interval, ms (default 2000; 0 = reload() only). */
  pollMs?: number;
}

/** The set of accepted tokens: fixed ones plus the tokens file, kept current. */
export class ApiTokens {
  private fromFile: RoleToken[] = [];
  lastError: string | null = null;
  reloads = 0;

  constructor(private readonly opts: ApiTokensOptions = {}) {
    if (opts.file) {
      this.fromFile = this.read(opts.file);
      const poll = opts.pollMs ?? 2000;
      if (poll > 0) {
        watchFile(opts.file, { interval: poll, persistent: false }, (cur, prev) => {
          if (cur.mtimeMs !== prev.mtimeMs || cur.size !== prev.size || cur.ino !== prev.ino) this.reload();
        });
      }
    }
  }

  private read(file: string): RoleToken[] {
    let text: string;
    try {
      text = readFileSync(file, "utf8");
    } catch (e) {
      throw new Error(`API tokens file ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
    }
    return parseTokensFile(text, file);
  }

  /**
   * Whether requests need a token: some token is set, or a tokens file is configured (a file
   * reloaded to no entries then refuses everyone rather than opening the API).
   */
  get required(): boolean {
    return this.size > 0 || !!this.opts.file;
  }

  /** How many tokens are accepted now. */
  get size(): number {
    return (this.opts.fixed?.length ?? 0) + this.fromFile.length;
  }

  /** The token's name and role from an `Authorization: Bearer …` header; null when unknown. */
  lookup(header: string | undefined): { name: string; role: ApiRole } | null {
    const m = header?.match(/^Bearer\s+(\S+)\s*$/i);
    if (!m) return null;
    const given = Buffer.from(m[1]!);
    let found: RoleToken | null = null;
    for (const t of [...(this.opts.fixed ?? []), ...this.fromFile]) {
      const want = Buffer.from(t.token);
      if (want.length === given.length && timingSafeEqual(want, given)) found = t;
    }
    return found ? { name: found.name, role: found.role } : null;
  }

  reload(): { ok: boolean; tokens: number; error?: string } {
    if (!this.opts.file) return { ok: true, tokens: this.size };
    try {
      this.fromFile = this.read(this.opts.file);
    } catch (e) {
      this.lastError = (e as Error).message;
      return { ok: false, tokens: this.size, error: this.lastError };
    }
    this.lastError = null;
    this.reloads++;
    return { ok: true, tokens: this.size };
  }

  /** Names and roles (never the tokens), fixed ones first. */
  list(): Array<{ name: string; role: ApiRole; from: "flag" | "file" }> {
    return [...(this.opts.fixed ?? []).map((t) => ({ name: t.name, role: t.role, from: "flag" as const })), ...this.fromFile.map((t) => ({ name: t.name, role: t.role, from: "file" as const }))];
  }

  status(): { file: string | null; tokens: number; byRole: Record<ApiRole, number>; reloads: number; lastError: string | null } {
    const byRole: Record<ApiRole, number> = { "read-only": 0, operator: 0, admin: 0 };
    for (const t of [...(this.opts.fixed ?? []), ...this.fromFile]) byRole[t.role]++;
    return { file: this.opts.file ?? null, tokens: this.size, byRole, reloads: this.reloads, lastError: this.lastError };
  }

  close(): void {
    if (this.opts.file) unwatchFile(this.opts.file);
  }
}

const SECRET_COLUMNS = ["password", "ha1", "ha1b"] as const;

/**
 * What a read-only token sees of subscriber rows: `password`, `ha1`, `ha1b` replaced by
 * "(secret)" in `subscriber.list` / `subscriber.get` results (operators and admins see them, as
 * kamctl users do). `reply` is a JSON-RPC reply or a batch of them; changed in place.
 */
export function redactReplyForRole(role: ApiRole, methods: readonly string[], reply: unknown): void {
  if (role !== "read-only" || !methods.some((m) => m.startsWith("subscriber."))) return;
  const hide = (row: unknown) => {
    if (row === null || typeof row !== "object") return;
    const r = row as Record<string, unknown>;
    for (const c of SECRET_COLUMNS) if (typeof r[c] === "string" && r[c] !== "") r[c] = "(secret)";
  };
  for (const one of Array.isArray(reply) ? reply : [reply]) {
    const result = (one as { result?: unknown } | null)?.result;
    if (result === null || typeof result !== "object") continue;
    const rows = (result as { rows?: unknown }).rows;
    if (Array.isArray(rows)) rows.forEach(hide);
    else hide(result);
  }
}
