import { Redis } from "ioredis";
import type { Logger } from "../../core/api.js";
import { branchOfRow, branchRow, dialogOfRow, dialogRow, type Row } from "./rows.js";
import type { BranchRecord, DialogRecord, ToposStore } from "./store.js";

/**
 * topos state in Redis (Kamailio topos_redis): one hash per dialog, `<prefix>d:<uuid>`, and one
 * per branch, `<prefix>t:<branch>`, with the topos_d / topos_t column names as fields and a TTL
 * (dialog_expire, branch_expire) that Redis enforces. Commands go out in order on one connection.
 */
export class ToposRedisStore implements ToposStore {
  private readonly redis: Redis;
  private readonly pending = new Set<Promise<unknown>>();
  private lastErrorLog = 0;
  errors = 0;

  constructor(
    url: string,
    private readonly prefix: string,
    private readonly log: Logger,
  ) {
    this.redis = new Redis(url, { maxRetriesPerRequest: 2, connectTimeout: 5000, enableAutoPipelining: true });
    this.redis.on("error", () => undefined);
  }

  private track(p: Promise<unknown>): Promise<void> {
    const q = p.then(
      () => undefined,
      (e: unknown) => {
        this.errors++;
        if (Date.now() - this.lastErrorLog > 10_000) {
          this.lastErrorLog = Date.now();
          this.log.error("topos: redis write failed", { error: (e as Error).message });
        }
      },
    );
    this.pending.add(q);
    void q.finally(() => this.pending.delete(q));
    return q;
  }

  private write(key: string, row: Row, ttlSec: number): Promise<void> {
    const flat: string[] = [];
    for (const [k, v] of Object.entries(row)) flat.push(k, v instanceof Date ? String(v.getTime()) : v === null ? "" : String(v));
    return this.track(this.redis.multi().hset(key, ...flat).expire(key, ttlSec).exec());
  }

  saveDialog(d: DialogRecord, ttlSec: number): Promise<void> {
    return this.write(`${this.prefix}d:${d.uuid}`, dialogRow(d), ttlSec);
  }
  async loadDialog(uuid: string): Promise<DialogRecord | null> {
    const h = await this.redis.hgetall(`${this.prefix}d:${uuid}`);
    return dialogOfRow({ ...h, rectime: Number(h.rectime) });
  }
  endDialog(uuid: string, graceSec: number): void {
    this.track(this.redis.expire(`${this.prefix}d:${uuid}`, graceSec));
  }
  saveBranch(b: BranchRecord, ttlSec: number): void {
    void this.write(`${this.prefix}t:${b.branch}`, branchRow(b), ttlSec);
  }
  async loadBranch(branch: string): Promise<BranchRecord | null> {
    const h = await this.redis.hgetall(`${this.prefix}t:${branch}`);
    return branchOfRow({ ...h, rectime: Number(h.rectime) });
  }
  async clean(): Promise<number> {
    return 0; // keys carry their TTL
  }
  async flush(): Promise<void> {
    await Promise.all([...this.pending]);
  }
  async close(): Promise<void> {
    await this.flush();
    this.redis.disconnect();
  }
}
