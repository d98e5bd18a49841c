/**
 * The web console's server side (ui/ is its front end): static files under `/ui/` and the
 * session that lets a browser use `POST /RPC` without keeping the API token in script reach.
 *
 * - `POST /ui/session {token}` checks the token like `Authorization: Bearer` (roles.ts) and answers
 *   `{actor, role, csrf, expiresAt}` with a cookie `olelo_session` (HttpOnly, SameSite=Strict,
 *   Path=/, Secure on HTTPS). Without any tokens configured (loopback mode) any token, also an
 *   empty one, gives actor `local` with role admin, as `/RPC` without a token does.
 * - `GET /ui/session` answers the same for a live cookie (so a reloaded page keeps its session),
 *   401 otherwise; `DELETE /ui/session` ends it.
 * - `POST /RPC` with the cookie and no Authorization header needs the header
 *   `X-Olelo-CSRF: <csrf>` of that session (double submit: a cross-site page can neither read the
 *   value nor set the header), else 403. The session keeps the token and looks it up again on every
 *   call, so a token removed from the tokens file ends its sessions at the next reload.
 * - Sessions live `ttlMs` (default 15 min) after their last use, in memory (a restart logs out).
 * - Static files: from `dir` (the Vite build, dist/ui); an unknown path under /ui/ gives
 *   index.html (client-side routes); with a strict Content-Security-Policy (no inline scripts,
 *   nothing from other origins) and `X-Frame-Options: DENY`.
 *
 * @example
 *   const ui = new ConsoleSessions({ tokens, dir: "dist/ui", secure: false });
 *   if (path.startsWith("/ui")) return ui.serve(req, res, path);
 *   const who = ui.caller(req);   // {actor, role} | {error} | null (no cookie)
 */
import { randomBytes, timingSafeEqual } from "node:crypto";
import { existsSync, readFileSync, statSync } from "node:fs";
import type { IncomingMessage, ServerResponse } from "node:http";
import { basename, extname, join, normalize, resolve } from "node:path";
import type { ApiRole, ApiTokens } from "./roles.js";

export const SESSION_COOKIE = "olelo_session";
export const CSRF_HEADER = "x-olelo-csrf";

interface Session {
  id: string;
  csrf: string;
  /** The bearer token it was opened with ("" in loopback mode), looked up again on each use. */
  token: string;
  expires: number;
}

export interface ConsoleOptions {
  tokens: ApiTokens;
  /** Folder of the built console (index.html, assets/); null = not served. */
  dir: string | null;
  /** HTTPS listener: the cookie gets `Secure`. */
  secure: boolean;
  ttlMs?: number;
}

const TYPES: Record<string, string> = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".svg": "image/svg+xml",
  ".png": "image/png",
  ".ico": "image/x-icon",
  ".json": "application/json",
  ".woff2": "font/woff2",
};
const SECURITY_HEADERS = {
  "content-security-policy": "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'",
  "x-frame-options": "DENY",
  "x-content-type-options": "nosniff",
  "referrer-policy": "no-referrer",
};

/** Where `npm run build` puts the console: dist/ui (from the source tree and from dist/ alike). */
export function defaultConsoleDir(): string {
  const root = resolve(import.meta.dirname, "../..");
  return basename(root) === "dist" ? join(root, "ui") : join(root, "dist", "ui");
}

function cookieOf(req: IncomingMessage, name: string): string | null {
  for (const part of (req.headers.cookie ?? "").split(";")) {
    const [k, ...v] = part.trim().split("=");
    if (k === name) return v.join("=");
  }
  return null;
}

function sameString(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

function json(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { "content-type": "application/json", "content-length": Buffer.byteLength(text), "cache-control": "no-store", ...headers });
  res.end(text);
}

function readSmallBody(req: IncomingMessage, max = 8192): Promise<string | null> {
  return new Promise((resolveP) => {
    let body = "";
    req.on("data", (c: Buffer) => {
      body += c.toString("utf8");
      if (body.length > max) {
        resolveP(null);
        req.destroy();
      }
    });
    req.on("end", () => resolveP(body));
    req.on("error", () => resolveP(null));
  });
}

export class ConsoleSessions {
  private readonly sessions = new Map<string, Session>();
  private readonly ttlMs: number;

  constructor(private readonly opts: ConsoleOptions) {
    this.ttlMs = opts.ttlMs ?? 15 * 60_000;
  }

  private who(token: string): { name: string; role: ApiRole } | null {
    if (!this.opts.tokens.required) return { name: "local", role: "admin" };
    return this.opts.tokens.lookup(`Bearer ${token}`);
  }

  private live(req: IncomingMessage): Session | null {
    const id = cookieOf(req, SESSION_COOKIE);
    if (!id) return null;
    const now = Date.now();
    for (const [k, s] of this.sessions) if (s.expires <= now) this.sessions.delete(k);
    const s = this.sessions.get(id);
    if (!s) return null;
    s.expires = now + this.ttlMs;
    return s;
  }

  /**
   * The caller of a `/RPC` request made with the session cookie (no Authorization header):
   * null without a cookie, `{error, status}` for an expired session or a missing/wrong CSRF header.
   */
  caller(req: IncomingMessage): { actor: string; role: ApiRole } | { error: string; status: number } | null {
    if (req.headers.authorization !== undefined || cookieOf(req, SESSION_COOKIE) === null) return null;
    const s = this.live(req);
    if (!s) return { status: 401, error: "unauthorized: the console session has expired; log in again" };
    const csrf = req.headers[CSRF_HEADER];
    if (typeof csrf !== "string" || !sameString(csrf, s.csrf)) return { status: 403, error: `forbidden: a request with the session cookie needs the ${CSRF_HEADER} header of the session` };
    const who = this.who(s.token);
    if (!who) {
      this.sessions.delete(s.id);
      return { status: 401, error: "unauthorized: the session's token is no longer valid" };
    }
    return { actor: who.name, role: who.role };
  }

  private cookie(value: string, maxAgeS: number): string {
    return `${SESSION_COOKIE}=${value}; HttpOnly; SameSite=Strict; Path=/; Max-Age=${maxAgeS}${this.opts.secure ? "; Secure" : ""}`;
  }

  private async session(req: IncomingMessage, res: ServerResponse): Promise<void> {
    if (req.method === "GET") {
      req.resume();
      const s = this.live(req);
      const who = s ? this.who(s.token) : null;
      if (!s || !who) return json(res, 401, { error: "no session", tokensRequired: this.opts.tokens.required });
      return json(res, 200, { actor: who.name, role: who.role, csrf: s.csrf, expiresAt: new Date(s.expires).toISOString() });
    }
    if (req.method === "DELETE") {
      req.resume();
      const id = cookieOf(req, SESSION_COOKIE);
      const s = id ? this.sessions.get(id) : undefined;
      // a logout needs the CSRF header too: a cross-site page must not end the session either
      if (s && (req.headers[CSRF_HEADER] === undefined || !sameString(String(req.headers[CSRF_HEADER]), s.csrf))) return json(res, 403, { error: "forbidden: missing CSRF header" });
      if (s) this.sessions.delete(s.id);
      return json(res, 200, { ok: true }, { "set-cookie": this.cookie("", 0) });
    }
    if (req.method !== "POST") return json(res, 405, { error: "use GET, POST or DELETE" }, { allow: "GET, POST, DELETE" });
    if (!String(req.headers["content-type"] ?? "").startsWith("application/json")) {
      req.resume();
      return json(res, 415, { error: "send the token as application/json {\"token\": \"…\"}" });
    }
    const body = await readSmallBody(req);
    let token: unknown;
    try {
      token = body === null ? undefined : ((JSON.parse(body || "{}") as { token?: unknown }).token ?? "");
    } catch {
      token = undefined;
    }
    if (typeof token !== "string") return json(res, 400, { error: "body must be {\"token\": \"…\"}" });
    const who = this.who(token.trim());
    if (!who) return json(res, 401, { error: "unauthorized: unknown token" });
    const s: Session = { id: randomBytes(32).toString("base64url"), csrf: randomBytes(24).toString("base64url"), token: token.trim(), expires: Date.now() + this.ttlMs };
    this.sessions.set(s.id, s);
    return json(res, 200, { actor: who.name, role: who.role, csrf: s.csrf, expiresAt: new Date(s.expires).toISOString() }, { "set-cookie": this.cookie(s.id, Math.max(1, Math.round(this.ttlMs / 1000))) });
  }

  /** Answers every request under /ui (session API and static files). */
  async serve(req: IncomingMessage, res: ServerResponse, path: string): Promise<void> {
    if (path === "/ui/session") return this.session(req, res);
    req.resume();
    if (path === "/ui" || path === "/") {
      res.writeHead(302, { location: "/ui/" });
      return void res.end();
    }
    if (req.method !== "GET" && req.method !== "HEAD") return json(res, 405, { error: "use GET" }, { allow: "GET" });
    const dir = this.opts.dir;
    if (!dir || !existsSync(join(dir, "index.html"))) return json(res, 503, { error: "the web console is not built: run npm run build (or give --ui-dir)" });
    let rel: string;
    try {
      rel = normalize(decodeURIComponent(path.slice("/ui/".length))).replace(/^(\.\.(\/|$))+/, "");
    } catch {
      return json(res, 400, { error: "bad path" });
    }
    const root = resolve(dir);
    let file = join(root, rel);
    if (!file.startsWith(root + "/") || rel === "" || rel === "." || !existsSync(file) || !statSync(file).isFile()) file = join(root, "index.html");
    const data = readFileSync(file);
    const hashed = /\/assets\//.test(file);
    res.writeHead(200, {
      "content-type": TYPES[extname(file)] ?? "application/octet-stream",
      "content-length": data.length,
      "cache-control": hashed ? "public, max-age=31536000, immutable" : "no-cache",
      ...SECURITY_HEADERS,
    });
    res.end(req.method === "HEAD" ? undefined : data);
  }
}
