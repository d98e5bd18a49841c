/**
 * The console's only way to the control plane: JSON-RPC 2.0 over `POST /RPC` with the session
 * cookie (sent by the browser, HttpOnly) and the session's CSRF token in `X-Olelo-CSRF`.
 */
export interface Session {
  actor: string;
  role: "read-only" | "operator" | "admin";
  csrf: string;
  expiresAt: string;
}

/** A JSON-RPC error answer: code, message and data (data.param names a column; 422 has table/row/reason). */
export class RpcFailure extends Error {
  constructor(
    readonly code: number,
    message: string,
    readonly data: Record<string, unknown> | null,
  ) {
    super(message);
  }
}

let csrf = "";
let onExpired: () => void = () => {};

export function useSession(s: Session | null, expired: () => void): void {
  csrf = s?.csrf ?? "";
  onExpired = expired;
}

export async function rpc<T = any>(method: string, params: unknown = {}): Promise<T> {
  const res = await fetch("/RPC", {
    method: "POST",
    credentials: "same-origin",
    headers: { "content-type": "application/json", "x-olelo-csrf": csrf },
    body: JSON.stringify({ jsonrpc: "2.0", id: 1, method, params }),
  });
  const answer = (await res.json().catch(() => ({ error: { code: res.status, message: `HTTP ${res.status}` } }))) as {
    result?: T;
    error?: { code: number; message: string; data?: Record<string, unknown> };
  };
  if (res.status === 401) onExpired();
  if (answer.error) throw new RpcFailure(answer.error.code, answer.error.message, answer.error.data ?? null);
  return answer.result as T;
}

export async function login(token: string): Promise<Session> {
  const res = await fetch("/ui/session", { method: "POST", credentials: "same-origin", headers: { "content-type": "application/json" }, body: JSON.stringify({ token }) });
  const body = (await res.json()) as Session & { error?: string };
  if (!res.ok) throw new Error(body.error ?? `HTTP ${res.status}`);
  return body;
}

export async function currentSession(): Promise<{ session: Session | null; tokensRequired: boolean }> {
  const res = await fetch("/ui/session", { credentials: "same-origin" });
  const body = (await res.json()) as Session & { tokensRequired?: boolean };
  return res.ok ? { session: body, tokensRequired: true } : { session: null, tokensRequired: body.tokensRequired !== false };
}

export async function logout(): Promise<void> {
  await fetch("/ui/session", { method: "DELETE", credentials: "same-origin", headers: { "x-olelo-csrf": csrf } });
}

export const canWrite = (s: Session | null): boolean => s !== null && s.role !== "read-only";
