/**
 * Dialog persistence in Redis (db_mode 1 with a `redis://` db_url, as Kamailio's dialog module does
 * over db_redis): one hash per node, `<prefix><node>`, with one field per confirmed dialog,
 * `<h_entry>.<h_id>`, whose value is the dialog's stored form as JSON (the same fields as the
 * MySQL row, variables included). Written when the dialog is confirmed and when it changes,
 * deleted when it ends; a node started on a new disk takes its calls over from its hash.
 *
 * Commands go out in order on one connection (ioredis keeps the order); nothing on the SIP path
 * waits for them. A write that fails is counted and logged (at most every 10 s).
 *
 * @example
 *   const s = new DialogRedisStore("redis://127.0.0.1:6379/0", "olelo:dialog:", "node-a", log);
 *   const up = await s.load(); // this node's dialogs
 */
import { Redis } from "ioredis";
import type { Logger } from "../../core/api.js";
import type { Dialog } from "./dialog.js";
import { storedFromJson, storedOf, storedToJson, type DialogRowStore, type StoredDialog, type StoredDialogJson } from "./db-store.js";

export class DialogRedisStore implements DialogRowStore {
  private readonly redis: Redis;
  private readonly key: string;
  private lastErrorLog = 0;
  private closed = false;
  private pending = new Set<Promise<unknown>>();
  errors = 0;
  pruned = 0;

  constructor(
    url: string,
    prefix: string,
    private readonly node: string,
    private readonly log: Logger,
  ) {
    this.redis = new Redis(url, { maxRetriesPerRequest: 2, connectTimeout: 5000, enableAutoPipelining: true });
    this.redis.on("error", () => undefined); // counted per command below
    this.key = `${prefix}${node}`;
  }

  private track(p: Promise<unknown>): void {
    const q = p.then(
      () => undefined,
      (e: unknown) => {
        this.errors++;
        const now = Date.now();
        if (now - this.lastErrorLog > 10_000) {
          this.lastErrorLog = now;
          this.log.error("dialog: redis write failed", { error: (e as Error).message });
        }
      },
    );
    this.pending.add(q);
    void q.finally(() => this.pending.delete(q));
  }

  async load(): Promise<StoredDialog[]> {
    let all: Record<string, string>;
    try {
      all = await this.redis.hgetall(this.key);
    } catch (e) {
      this.log.warn("dialog: could not load dialogs from redis", { error: (e as Error).message });
      return [];
    }
    const out: StoredDialog[] = [];
    for (const v of Object.values(all)) {
      try {
        const s = JSON.parse(v) as StoredDialogJson;
        if (s.x?.n !== this.node) continue;
        out.push(storedFromJson(s));
      } catch {
        // not written by Olelo
      }
    }
    return out;
  }

  save(d: Dialog): void {
    if (this.closed) return;
    this.track(this.redis.hset(this.key, `${d.hEntry}.${d.hId}`, JSON.stringify(storedToJson(storedOf(d, this.node)))));
  }

  remove(d: Dialog): void {
    if (this.closed) return;
    this.track(this.redis.hdel(this.key, `${d.hEntry}.${d.hId}`));
  }

  pruneOthers(keep: readonly Dialog[], owned: (hId: number) => boolean = () => true): void {
    if (this.closed) return;
    const kept = new Set(keep.map((d) => `${d.hEntry}.${d.hId}`));
    this.track(
      this.redis.hkeys(this.key).then(async (fields) => {
        const stale = fields.filter((f) => !kept.has(f) && owned(Number(f.slice(f.indexOf(".") + 1))));
        if (stale.length) {
          await this.redis.hdel(this.key, ...stale);
          this.pruned += stale.length;
        }
      }),
    );
  }

  async flush(): Promise<void> {
    await Promise.all([...this.pending]);
  }

  async close(): Promise<void> {
    await Promise.race([this.flush(), new Promise((r) => setTimeout(r, 2000).unref())]);
    this.closed = true;
    this.redis.disconnect();
  }
}
