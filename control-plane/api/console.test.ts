/**
 * The console's server side without a database: session cookie and CSRF header (console.ts) on a
 * real HTTP listener, static files (index.html fallback, no path escape), node.rpc forwarding to a
 * real JSON-RPC listener with its role split (node-rpc.ts, roles.ts), and the Hello control_url
 * check (push/node-status.ts). Ports: OS-assigned (listen on 0).
 */
import { createServer, request as httpRequest, type Server } from "node:http";
import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ConsoleSessions, SESSION_COOKIE } from "./console.js";
import { ApiTokens, requiredRole } from "./roles.js";
import { nodeRpcMethods } from "./node-rpc.js";
import { announcedControlUrl, type NodeStatus } from "../push/node-status.js";

const ADMIN = "admin-token-0123456789";
const VIEWER = "viewer-token-0123456789";
const dir = mkdtempSync(join(tmpdir(), "olelo-console-unit-"));
mkdirSync(join(dir, "assets"));
writeFileSync(join(dir, "index.html"), "<!doctype html><title>console</title>");
writeFileSync(join(dir, "assets", "app-1.js"), "console.log(1)");
writeFileSync(join(tmpdir(), "olelo-console-secret.txt"), "secret");

function listen(s: Server): Promise<string> {
  return new Promise((r) => s.listen(0, "127.0.0.1", () => r(`http://127.0.0.1:${(s.address() as AddressInfo).port}`)));
}

/** A server that answers /ui/* through ConsoleSessions and /whoami with its caller(). */
function consoleServer(tokens: ApiTokens, ttlMs?: number): Server {
  const ui = new ConsoleSessions({ tokens, dir, secure: false, ttlMs });
  return createServer((req, res) => {
    const path = (req.url ?? "/").split("?")[0]!;
    if (path.startsWith("/ui")) return void ui.serve(req, res, path);
    req.resume();
    res.end(JSON.stringify(ui.caller(req)));
  });
}

let withTokens: Server;
let loopback: Server;
let base = "";
let baseLoop = "";
const tokens = new ApiTokens({ fixed: [{ name: "alice", token: ADMIN, role: "admin" }, { name: "viewer", token: VIEWER, role: "read-only" }] });

beforeAll(async () => {
  withTokens = consoleServer(tokens, 300);
  loopback = consoleServer(new ApiTokens());
  base = await listen(withTokens);
  baseLoop = await listen(loopback);
});
afterAll(() => {
  withTokens.close();
  loopback.close();
});

const login = (url: string, token: string) => fetch(`${url}/ui/session`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ token }) });
const cookieOf = (r: Response) => (r.headers.get("set-cookie") ?? "").split(";")[0]!;

describe("console session (cookie + CSRF header)", () => {
  it("a good token gives an HttpOnly SameSite=Strict cookie and a CSRF token; a bad one 401", async () => {
    expect((await login(base, "nope-nope-nope-nope")).status).toBe(401);
    expect((await fetch(`${base}/ui/session`, { method: "POST", headers: { "content-type": "text/plain" }, body: ADMIN })).status).toBe(415);
    const r = await login(base, VIEWER);
    expect(r.status).toBe(200);
    expect(r.headers.get("set-cookie")).toMatch(new RegExp(`^${SESSION_COOKIE}=[\\w-]{40,}; HttpOnly; SameSite=Strict; Path=/; Max-Age=1$`));
    const body = (await r.json()) as { actor: string; role: string; csrf: string };
    expect(body).toMatchObject({ actor: "viewer", role: "read-only" });
    const cookie = cookieOf(r);
    const who = (h: Record<string, string>) => fetch(`${base}/whoami`, { headers: { cookie, ...h } }).then((x) => x.json());
    expect(await who({ "x-olelo-csrf": body.csrf })).toEqual({ actor: "viewer", role: "read-only" });
    expect(await who({})).toMatchObject({ status: 403 });
    expect(await who({ "x-olelo-csrf": "x" + body.csrf.slice(1) })).toMatchObject({ status: 403 });
    // a bearer header wins: the cookie is ignored
    expect(await who({ authorization: `Bearer ${ADMIN}` })).toBeNull();
    // GET /ui/session gives the same session back (reloaded page)
    expect(await (await fetch(`${base}/ui/session`, { headers: { cookie } })).json()).toMatchObject({ actor: "viewer", csrf: body.csrf });
    // logout needs the CSRF header, then the session is gone
    expect((await fetch(`${base}/ui/session`, { method: "DELETE", headers: { cookie } })).status).toBe(403);
    expect((await fetch(`${base}/ui/session`, { method: "DELETE", headers: { cookie, "x-olelo-csrf": body.csrf } })).status).toBe(200);
    expect(await who({ "x-olelo-csrf": body.csrf })).toMatchObject({ status: 401 });
  });

  it("a session expires after its idle time", async () => {
    const r = await login(base, ADMIN);
    const { csrf } = (await r.json()) as { csrf: string };
    await new Promise((x) => setTimeout(x, 400));
    expect(await fetch(`${base}/whoami`, { headers: { cookie: cookieOf(r), "x-olelo-csrf": csrf } }).then((x) => x.json())).toMatchObject({ status: 401 });
  });

  it("loopback mode (no tokens): any token logs in as local admin", async () => {
    const r = await login(baseLoop, "");
    expect(await r.json()).toMatchObject({ actor: "local", role: "admin" });
    expect(await (await fetch(`${baseLoop}/ui/session`)).json()).toMatchObject({ tokensRequired: false });
  });
});

describe("console static files", () => {
  it("serves files with a strict CSP, index.html for client routes, never a file outside the folder", async () => {
    const js = await fetch(`${base}/ui/assets/app-1.js`);
    expect(js.headers.get("content-type")).toBe("text/javascript; charset=utf-8");
    expect(js.headers.get("cache-control")).toMatch(/immutable/);
    expect(await js.text()).toBe("console.log(1)");
    const index = await fetch(`${base}/ui/`);
    expect(index.headers.get("content-security-policy")).toMatch(/default-src 'self'.*script-src 'self'/);
    expect(index.headers.get("x-frame-options")).toBe("DENY");
    expect(await index.text()).toContain("<title>console</title>");
    expect(await (await fetch(`${base}/ui/tables/dispatcher`)).text()).toContain("<title>console</title>");
    expect(await (await fetch(`${base}/ui/..%2F..%2F${encodeURIComponent(dir.split("/").slice(0, -1).join("/").slice(1))}%2Folelo-console-secret.txt`)).text()).not.toContain("secret");
    // a raw request line (fetch would normalise the dots away)
    const raw = await new Promise<string>((resolveP) => {
      const req = httpRequest(`${base}/`, { path: "/ui/../../../../etc/passwd" }, (res) => {
        let b = "";
        res.on("data", (c) => (b += c));
        res.on("end", () => resolveP(b));
      });
      req.end();
    });
    expect(raw).toContain("<title>console</title>");
    expect((await fetch(`${base}/ui`, { redirect: "manual" })).headers.get("location")).toBe("/ui/");
    expect((await fetch(`${base}/ui/`, { method: "POST" })).status).toBe(405);
  });
});

describe("node.rpc", () => {
  let dp: Server;
  let dpUrl = "";
  const seen: Array<{ method: string; params: unknown; auth: string | undefined }> = [];
  beforeAll(async () => {
    dp = createServer((req, res) => {
      let b = "";
      req.on("data", (c) => (b += c));
      req.on("end", () => {
        const j = JSON.parse(b) as { method: string; params: unknown };
        seen.push({ method: j.method, params: j.params, auth: req.headers.authorization });
        const answer = j.method === "dlg.end_dlg" ? { error: { code: 404, message: "dialog not found" } } : { result: { ok: j.method } };
        res.end(JSON.stringify({ jsonrpc: "2.0", id: 1, ...answer }));
      });
    });
    dpUrl = `${await listen(dp)}/RPC`;
  });
  afterAll(() => void dp.close());
  const node = (over: Partial<NodeStatus>): NodeStatus => ({ nodeId: "n1", buildVersion: "", peer: "127.0.0.1:1", kinds: [], labels: {}, health: null, controlUrl: dpUrl, connected: true, connectedSince: null, disconnectedAt: null, lastAckAt: null, staleNonces: 0, tables: [], ...over });

  it("forwards allow-listed methods with the node token, answers the data plane's result or error, refuses the rest", async () => {
    let nodes = [node({})];
    const [m] = nodeRpcMethods({ nodes: () => nodes, token: "dp-token" });
    const call = (args: Record<string, unknown>) => m!.handler(args, { transport: "http" } as never);
    expect(await call({ node: "n1", method: "dispatcher.list", params: [] })).toEqual({ ok: "dispatcher.list" });
    expect(seen.at(-1)).toEqual({ method: "dispatcher.list", params: [], auth: "Bearer dp-token" });
    await expect(call({ node: "n1", method: "dlg.end_dlg", params: { h_entry: 1, h_id: 2 } })).rejects.toMatchObject({ code: 404, message: "node 'n1': dialog not found" });
    await expect(call({ node: "n1", method: "core.kill" })).rejects.toMatchObject({ code: -32602, data: { param: "method" } });
    await expect(call({ node: "n2", method: "dlg.list" })).rejects.toMatchObject({ code: 404 });
    nodes = [node({ connected: false })];
    await expect(call({ node: "n1", method: "dlg.list" })).rejects.toMatchObject({ code: 503, message: "node 'n1' is not connected" });
    nodes = [node({ controlUrl: null })];
    await expect(call({ node: "n1", method: "dlg.list" })).rejects.toMatchObject({ code: 503 });
    nodes = [node({ controlUrl: "http://127.0.0.1:1/RPC" })];
    await expect(call({ node: "n1", method: "dlg.list" })).rejects.toMatchObject({ code: 503, message: expect.stringContaining("control API http://127.0.0.1:1/RPC") });
  });

  it("role by the forwarded method: reads need read-only, ending a call operator", () => {
    expect(requiredRole("node.rpc:dlg.list")).toBe("read-only");
    expect(requiredRole("node.rpc:dispatcher.list")).toBe("read-only");
    expect(requiredRole("node.rpc:dlg.end_dlg")).toBe("operator");
    expect(requiredRole("node.rpc:pike.unban")).toBe("operator");
    expect(requiredRole("tables.schema")).toBe("read-only");
    expect(requiredRole("pending.list")).toBe("read-only");
  });

  it("the announced control URL: http(s) only, an unspecified host becomes the peer's", () => {
    expect(announcedControlUrl("http://127.0.0.1:8060/RPC", "10.0.0.5:40000")).toBe("http://127.0.0.1:8060/RPC");
    expect(announcedControlUrl("http://0.0.0.0:8060/RPC", "10.0.0.5:40000")).toBe("http://10.0.0.5:8060/RPC");
    expect(announcedControlUrl("http://[::]:8060/RPC", "[2001:db8::5]:40000")).toBe("http://[2001:db8::5]:8060/RPC");
    expect(announcedControlUrl("file:///etc/passwd", "10.0.0.5:1")).toBeNull();
    expect(announcedControlUrl("not a url", "10.0.0.5:1")).toBeNull();
    expect(announcedControlUrl("", "10.0.0.5:1")).toBeNull();
  });
});
