import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { setLogSink } from "../lib/log/logger.js";
import { createSyncClient, type SyncClient } from "../data-plane/sync/client.js";
import { createFakeTables } from "../data-plane/sync/testing/fake-sinks.js";
import { createDbSnapshotSource, type DbSnapshotSource } from "../control-plane/compile/source.js";
import type { Database } from "../control-plane/db/connect.js";
import { migrateDatabase } from "../control-plane/db/migrate.js";
import { dropTestDatabase, freshTestDatabase } from "../control-plane/db/test-support.js";
import { createPushServer, type PushServer } from "../control-plane/push/server.js";
import { freePort } from "./kit/ports.js";
import { waitUntil } from "./kit/wait.js";

const DB = "olelo_test_delta1";
const PORT = await freePort();
let d: Database;

setLogSink(() => undefined);

beforeAll(async () => {
  d = await freshTestDatabase(DB);
  await migrateDatabase(d.db, d.pool);
});

afterAll(async () => {
  await d.close();
  await dropTestDatabase(DB);
  setLogSink(null);
});

const until = (cond: () => boolean, ms = 20_000, what = "condition") => waitUntil(cond, { timeoutMs: ms, intervalMs: 20, what });

describe("deltas from the DB-backed source", () => {
  it("after a control-plane restart the data plane's version comes back from olelo_snapshots as the delta base", async () => {
    const values = Array.from({ length: 3000 }, (_, i) => [`49${String(i).padStart(6, "0")}`, `route_${i % 40}`, ""]);
    await d.pool.query("INSERT INTO prefix_route (prefix, route, comment) VALUES ?", [values]);
    let source: DbSnapshotSource = await createDbSnapshotSource({ db: d.db, pool: d.pool, pollIntervalMs: 0 });
    let push: PushServer = await createPushServer({ source, host: "127.0.0.1", port: PORT });
    const v1 = source.current("prefix_route")!.version;
    const { tables, live } = createFakeTables(["prefix_route"]);
    const sync: SyncClient = await createSyncClient({ url: `127.0.0.1:${PORT}`, nodeId: "dp-db", tables, cacheDir: null, backoff: { initialMs: 50, maxMs: 200 } });
    try {
      await until(() => live.get("prefix_route")?.version === v1, 20_000, "v1 applied");
      await push.close({ force: true });
      await source.close();

      // While the control plane is down, one row changes and one goes.
      await d.pool.query("UPDATE prefix_route SET route = 'moved' WHERE prefix = '49001234'");
      await d.pool.query("DELETE FROM prefix_route WHERE prefix = '49000007'");
      source = await createDbSnapshotSource({ db: d.db, pool: d.pool, pollIntervalMs: 0 });
      const v2 = source.current("prefix_route")!.version;
      expect(v2).not.toBe(v1);
      // The new process never compiled v1; the snapshot store still has its rows (hash-checked).
      expect((await source.snapshot("prefix_route", v1))?.rows).toBe(3000);
      expect(await source.snapshot("prefix_route", "0123456789abcdef")).toBeUndefined();
      push = await createPushServer({ source, host: "127.0.0.1", port: PORT });

      await until(() => live.get("prefix_route")?.version === v2, 20_000, "v2 applied");
      expect(sync.status().lastReceived.prefix_route).toMatchObject({ mode: "delta", baseVersion: v1, rows: 1, removed: 1 });
      const m = live.get("prefix_route")!.maps.get("prefix_route")!;
      expect(m.size).toBe(2999);
      expect(m.get("49001234")!.route).toBe("moved");
      expect(m.has("49000007")).toBe(false);
      await until(() => push.nodes()[0]?.tables.find((t) => t.kind === "prefix_route")?.appliedVersion === v2);
      expect(push.pushStats()).toMatchObject({ deltaSends: 1, fullSends: 0, deltaFallbacks: 0 });
    } finally {
      await sync.close();
      await push.close({ force: true });
      await source.close();
    }
  });
});
