/**
 * Who may open a table-push stream: the access file (`--push-access FILE`, JSON) and the check
 * made on every Hello. See README.md in this folder, "Security model".
 *
 *   { "nodes": ["edge-1", "edge-2"],          // allow-list (absent = any node the CA vouches for)
 *     "revoked": ["edge-3"],                   // refused, and cut off when the file is reloaded
 *     "tokens": { "edge-4": "64 hex chars…" } } // per-node bearer tokens (server-only TLS setups)
 *
 * Modes: "mtls" (the node id is the client certificate's CN; a token listed for the node is
 * required as well), "token" (server-only TLS; the node's token from `authorization: Bearer`),
 * "insecure" (plaintext on loopback; only the lists apply).
 *
 * @example
 *   const access = new PushAccess("/etc/olelo/push-access.json", { pollMs: 1000 });
 *   access.check({ mode: "mtls", nodeId: "edge-1", certCn: "edge-1", token: null }); // null = allowed
 */
import { timingSafeEqual } from "node:crypto";
import { readFileSync, unwatchFile, watchFile } from "node:fs";

export type PushAuthMode = "mtls" | "token" | "insecure";

export interface PushAccessRules {
  /** null: every node (that authenticates) is allowed. */
  nodes: ReadonlySet<string> | null;
  revoked: ReadonlySet<string>;
  tokens: ReadonlyMap<string, string>;
}

export interface PushIdentity {
  mode: PushAuthMode;
  /** Hello's node.id. */
  nodeId: string;
  /** CN of the verified client certificate, null when none. */
  certCn: string | null;
  /** Bearer token from the call's `authorization` metadata, null when none. */
  token: string | null;
  /** DER of the verified client certificate (checked against the CRL), null when none. */
  certDer?: Buffer | null;
}

const EMPTY: PushAccessRules = { nodes: null, revoked: new Set(), tokens: new Map() };

/** Parses the access file's text; throws an Error naming the file and the bad key. */
export function parsePushAccess(text: string, file: string): PushAccessRules {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    throw new Error(`push access file ${file}: invalid JSON: ${(e as Error).message}`);
  }
  if (raw === null || typeof raw !== "object" || Array.isArray(raw)) throw new Error(`push access file ${file}: must be a JSON object`);
  const r = raw as Record<string, unknown>;
  for (const k of Object.keys(r)) if (!["nodes", "revoked", "tokens", "$comment"].includes(k)) throw new Error(`push access file ${file}: unknown key '${k}'`);
  const names = (v: unknown, key: string): Set<string> => {
    if (!Array.isArray(v) || v.some((x) => typeof x !== "string" || x === "")) throw new Error(`push access file ${file}: '${key}' must be an array of node ids`);
    return new Set(v as string[]);
  };
  const tokens = new Map<string, string>();
  if (r.tokens !== undefined) {
    if (r.tokens === null || typeof r.tokens !== "object" || Array.isArray(r.tokens)) throw new Error(`push access file ${file}: 'tokens' must be an object {node id: token}`);
    for (const [node, t] of Object.entries(r.tokens)) {
      if (typeof t !== "string" || t.length < 16) throw new Error(`push access file ${file}: token of node '${node}' must be a string of at least 16 characters`);
      tokens.set(node, t);
    }
  }
  return { nodes: r.nodes === undefined ? null : names(r.nodes, "nodes"), revoked: r.revoked === undefined ? new Set() : names(r.revoked, "revoked"), tokens };
}

function sameSecret(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

/** The rules applied to `id`: null when allowed, else the reason (sent to the node, logged). */
export function checkPushAccess(rules: PushAccessRules, id: PushIdentity): string | null {
  if (id.mode === "mtls") {
    if (!id.certCn) return "no verified client certificate";
    if (id.certCn !== id.nodeId) return `hello names node '${id.nodeId}' but the client certificate is for '${id.certCn}'`;
  }
  const want = rules.tokens.get(id.nodeId);
  if (id.mode === "token" && want === undefined) return `no token is configured for node '${id.nodeId}'`;
  if (want !== undefined && (id.token === null || !sameSecret(want, id.token))) return `missing or wrong token for node '${id.nodeId}'`;
  if (rules.revoked.has(id.nodeId)) return `node '${id.nodeId}' is revoked`;
  if (rules.nodes && !rules.nodes.has(id.nodeId)) return `node '${id.nodeId}' is not in the allow-list`;
  return null;
}

export interface PushAccessOptions {
  /** mtime poll interval, ms (default 2000; 0 = reload() only). */
  pollMs?: number;
}

/** The access file, kept current (polled, and reloadable on demand). */
export class PushAccess {
  private current: PushAccessRules;
  private readonly listeners = new Set<() => void>();
  lastError: string | null = null;
  lastReloadAt: string | null = null;
  reloads = 0;

  constructor(
    readonly file: string | null,
    opts: PushAccessOptions = {},
  ) {
    this.current = file ? this.read(file) : EMPTY;
    const poll = opts.pollMs ?? 2000;
    if (file && poll > 0) {
      watchFile(file, { interval: poll, persistent: false }, (cur, prev) => {
        if (cur.mtimeMs !== prev.mtimeMs || cur.size !== prev.size || cur.ino !== prev.ino) this.reload();
      });
    }
  }

  private read(file: string): PushAccessRules {
    let text: string;
    try {
      text = readFileSync(file, "utf8");
    } catch (e) {
      throw new Error(`push access file ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
    }
    return parsePushAccess(text, file);
  }

  rules(): PushAccessRules {
    return this.current;
  }

  check(id: PushIdentity): string | null {
    return checkPushAccess(this.current, id);
  }

  /** Called after every successful reload (the push server re-checks its open streams). */
  onChange(fn: () => void): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  /** Re-reads the file; a bad file keeps the old rules. */
  reload(): { ok: boolean; error?: string } {
    if (!this.file) return { ok: true };
    try {
      this.current = this.read(this.file);
    } catch (e) {
      this.lastError = (e as Error).message;
      return { ok: false, error: this.lastError };
    }
    this.lastError = null;
    this.lastReloadAt = new Date().toISOString();
    this.reloads++;
    for (const l of [...this.listeners]) l();
    return { ok: true };
  }

  /** Counts for the management API (never the tokens). */
  status(): { file: string | null; nodes: string[] | null; revoked: string[]; tokenNodes: string[]; reloads: number; lastReloadAt: string | null; lastError: string | null } {
    const r = this.current;
    return {
      file: this.file,
      nodes: r.nodes ? [...r.nodes].sort() : null,
      revoked: [...r.revoked].sort(),
      tokenNodes: [...r.tokens.keys()].sort(),
      reloads: this.reloads,
      lastReloadAt: this.lastReloadAt,
      lastError: this.lastError,
    };
  }

  close(): void {
    if (this.file) unwatchFile(this.file);
    this.listeners.clear();
  }
}
