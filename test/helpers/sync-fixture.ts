/**
 * What the sync-client ⇄ push-server tests (test/sync-client.test.ts, test/sync-delta.test.ts)
 * start and clean up: push servers, sync clients and temporary cache directories, each closed or
 * removed after every test.
 */
import { afterEach } from "vitest";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createPushServer, type PushServer } from "../../control-plane/push/server.js";
import { createSyncClient, type SyncClient } from "../../data-plane/sync/client.js";

export interface SyncFixture {
  /** A push server, closed (force) after the test. */
  serve(opts: Parameters<typeof createPushServer>[0]): Promise<PushServer>;
  /** A sync client, closed after the test. */
  client(opts: Parameters<typeof createSyncClient>[0]): Promise<SyncClient>;
  /** A fresh directory under the system temp dir, removed after the test. */
  tempDir(): string;
}

/** Registers the afterEach clean-up in the calling file and returns the starters. */
export function useSyncFixture(tmpPrefix: string): SyncFixture {
  const servers: PushServer[] = [];
  const clients: SyncClient[] = [];
  const dirs: string[] = [];
  afterEach(async () => {
    for (const c of clients.splice(0)) await c.close();
    for (const s of servers.splice(0)) await s.close({ force: true });
    for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
  });
  return {
    async serve(opts) {
      const s = await createPushServer(opts);
      servers.push(s);
      return s;
    },
    async client(opts) {
      const c = await createSyncClient(opts);
      clients.push(c);
      return c;
    },
    tempDir() {
      const d = mkdtempSync(join(tmpdir(), tmpPrefix));
      dirs.push(d);
      return d;
    },
  };
}
