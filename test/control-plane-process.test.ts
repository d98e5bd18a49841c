import { afterAll, beforeAll, describe, expect, it } from "vitest";
import mysql from "mysql2/promise";
import { setLogSink } from "../lib/log/logger.js";
import { createSyncClient, type SyncClient } from "../data-plane/sync/client.js";
import { createFakeTables } from "../data-plane/sync/testing/fake-sinks.js";
import { spawnJsonChild, type JsonChild } from "./kit/json-child.js";
import { freePortBlock } from "./kit/ports.js";
import { ConfigError, parseControlPlaneConfig } from "../control-plane/config.js";
import { waitUpTo } from "./kit/wait.js";

setLogSink(() => {});

const DB = "olelo_test_push";
// a block below the OS ephemeral range: the child binds them later, and no client socket can take them meanwhile
const GRPC = await freePortBlock(2);
const API = GRPC + 1;

describe("control-plane config", () => {
  it("uses env defaults and lets flags override them", () => {
    const d = parseControlPlaneConfig(["--push-insecure-loopback"], {});
    expect(d).toMatchObject({ dbUrl: "mysql://root@127.0.0.1:3306/olelo", grpcHost: "127.0.0.1", grpcPort: 8071, apiHost: "127.0.0.1", apiPort: 8070, token: undefined, pollIntervalMs: 60000, cdcIntervalMs: 50, migrate: true });
    const c = parseControlPlaneConfig(["--grpc", "0.0.0.0:9071", "--api=[::1]:9070", "--poll-ms", "0", "--no-migrate", "--token", "abcdefgh", "--push-tls-cert", "cp.pem", "--push-tls-key", "cp.key"], {
      OLELO_DB_URL: "mysql://u:p@db:3306/k",
      OLELO_CP_GRPC: "127.0.0.1:1",
      OLELO_CP_TOKEN: "fromenv1",
      OLELO_CP_PUSH_TLS_CA: "ca.pem",
    });
    expect(c.security).toMatchObject({ pushTlsCert: "cp.pem", pushTlsKey: "cp.key", pushTlsCa: "ca.pem", pushInsecureLoopback: false, pushPasswords: false });
    expect(c).toMatchObject({ dbUrl: "mysql://u:p@db:3306/k", grpcHost: "0.0.0.0", grpcPort: 9071, apiHost: "::1", apiPort: 9070, token: "abcdefgh", pollIntervalMs: 0, migrate: false });
  });

  it("change capture: on by default (60 s safety poll), --cdc-ms sets the tail, --no-cdc polls every 5 s", () => {
    expect(parseControlPlaneConfig(["--push-insecure-loopback", "--cdc-ms", "20"], {})).toMatchObject({ cdcIntervalMs: 20, pollIntervalMs: 60000 });
    expect(parseControlPlaneConfig(["--push-insecure-loopback", "--no-cdc"], {})).toMatchObject({ cdcIntervalMs: 0, pollIntervalMs: 5000 });
    expect(parseControlPlaneConfig(["--push-insecure-loopback"], { OLELO_CP_CDC: "0", OLELO_CP_POLL_MS: "1000" })).toMatchObject({ cdcIntervalMs: 0, pollIntervalMs: 1000 });
    expect(() => parseControlPlaneConfig(["--cdc-ms", "fast"], {})).toThrow(/--cdc-ms: 'fast' is not a non-negative integer/);
  });

  it("names the bad setting", () => {
    expect(() => parseControlPlaneConfig(["--grpc", "8071"], {})).toThrow(/--grpc: '8071' is not HOST:PORT/);
    expect(() => parseControlPlaneConfig([], {})).toThrow(/^the table push needs TLS: /);
    expect(() => parseControlPlaneConfig(["--grpc", "10.0.0.1:8071", "--push-insecure-loopback"], {})).toThrow("--push-insecure-loopback: --grpc 10.0.0.1 is not a loopback address");
    expect(() => parseControlPlaneConfig(["--push-tls-cert", "a.pem"], {})).toThrow("--push-tls-cert and --push-tls-key go together");
    expect(() => parseControlPlaneConfig(["--push-tls-cert", "a.pem", "--push-tls-key", "a.key"], {})).toThrow(/server-only TLS \(no --push-tls-ca\) needs per-node tokens/);
    expect(() => parseControlPlaneConfig(["--poll-ms", "-5"], {})).toThrow(ConfigError);
    expect(() => parseControlPlaneConfig(["--frobnicate"], {})).toThrow(/unknown option '--frobnicate'/);
    expect(() => parseControlPlaneConfig(["--db-url"], {})).toThrow(/--db-url needs a value/);
    expect(() => parseControlPlaneConfig([], { OLELO_DB_URL: "postgres://x" })).toThrow(/must start with mysql/);
    expect(() => parseControlPlaneConfig([], { OLELO_CP_API: "localhost:99999" })).toThrow(/OLELO_CP_API/);
  });
});

describe("control-plane process (MariaDB → compile → gRPC push → data plane)", () => {
  let admin: mysql.Connection;
  let cp: JsonChild;
  let sync: SyncClient | null = null;

  beforeAll(async () => {
    admin = await mysql.createConnection({ host: "127.0.0.1", port: 3306, user: "root" });
    await admin.query(`DROP DATABASE IF EXISTS ${DB}`);
    await admin.query(`CREATE DATABASE ${DB} CHARACTER SET utf8mb4`);
  });

  afterAll(async () => {
    await sync?.close();
    if (cp && cp.proc.exitCode === null) cp.proc.kill("SIGKILL");
    await admin?.query(`DROP DATABASE IF EXISTS ${DB}`);
    await admin?.end();
  });

  it("starts, migrates, pushes DB rows to a data plane, follows a SQL change, serves nodes over the API and stops on SIGTERM", async () => {
    cp = spawnJsonChild("control-plane/main.ts", [
      "--db-url", `mysql://root@127.0.0.1:3306/${DB}`, "--grpc", `127.0.0.1:${GRPC}`, "--api", `127.0.0.1:${API}`, "--poll-ms", "200", "--push-insecure-loopback",
    ]);
    const { tables, live } = createFakeTables(["dispatcher", "address"]);
    sync = await createSyncClient({ url: `127.0.0.1:${GRPC}`, nodeId: "e2e-dp", tables, cacheDir: null, backoff: { initialMs: 100, maxMs: 500 } });
    // Migrations create empty Kamailio tables; their (empty) versions arrive first.
    const deadline = Date.now() + 40_000;
    if (!(await waitUpTo(() => !!(live.get("dispatcher") && live.get("address")), 40_000, 50))) throw new Error(`no tables pushed; control plane stderr: ${cp.stderr().slice(-2000)}`);
    const v0 = live.get("dispatcher")!.version;
    expect(live.get("dispatcher")!.rows).toBe(0);

    await admin.query(`INSERT INTO ${DB}.dispatcher (setid, destination, flags, priority, attrs, description) VALUES (1, 'sip:10.1.1.1:5060', 0, 0, 'duid=a', 'e2e')`);
    if (!(await waitUpTo(() => live.get("dispatcher")!.version !== v0, Math.max(0, deadline - Date.now()), 50))) throw new Error("SQL change not pushed");
    expect(live.get("dispatcher")!.rows).toBe(1);
    expect([...live.get("dispatcher")!.maps.get("dispatcher")!.values()][0]).toMatchObject({ setid: 1, destination: "sip:10.1.1.1:5060", attrs: "duid=a" });

    const res = await fetch(`http://127.0.0.1:${API}/RPC`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ jsonrpc: "2.0", method: "nodes", id: 1 }),
    });
    const body = (await res.json()) as { result: Array<{ nodeId: string; connected: boolean; tables: Array<{ kind: string; appliedVersion: string }> }> };
    const n = body.result.find((x) => x.nodeId === "e2e-dp")!;
    expect(n.connected).toBe(true);
    expect(n.tables.find((t) => t.kind === "dispatcher")!.appliedVersion).toBe(live.get("dispatcher")!.version);

    cp.proc.kill("SIGTERM");
    expect(await cp.exited).toBe(0);
  });
});
