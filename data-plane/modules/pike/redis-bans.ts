import { Redis } from "ioredis";
import type { Logger } from "../../core/api.js";
import type { BanSync, FloodGuard } from "./flood-guard.js";

/**
 * Bans shared by the fleet through Redis. A ban is a key `<prefix>ban:<address>` holding its
 * expiry (ms since the epoch) and expiring then (PXAT), plus a message on `<prefix>bans`
 * (`b <node> <address> <until>` / `u <node> <address>`, tab-separated) so the other nodes apply
 * it at once; a node that starts (or reconnects) reads the keys and so learns the current bans.
 * Every node expires a ban at the same instant (the absolute expiry travels, not a duration).
 * The SIP path never waits for Redis: lookups stay in the local store, writes are fire and forget.
 */
export class RedisBanSync implements BanSync {
  private readonly redis: Redis;
  private readonly sub: Redis;
  private readonly channel: string;
  private closed = false;
  /** Messages and keys applied from other nodes (stats). */
  received = 0;
  errors = 0;

  constructor(
    url: string,
    private readonly prefix: string,
    private readonly node: string,
    private readonly guard: FloodGuard,
    private readonly log: Logger,
  ) {
    const common = { maxRetriesPerRequest: 1, connectTimeout: 2000, retryStrategy: (n: number) => Math.min(n * 200, 2000) };
    this.redis = new Redis(url, common);
    this.sub = new Redis(url, common);
    this.channel = `${prefix}bans`;
    this.redis.on("error", () => undefined);
    this.sub.on("error", () => undefined);
    this.sub.on("message", (_ch: string, msg: string) => this.onMessage(msg));
    this.sub.on("ready", () => {
      this.sub.subscribe(this.channel).then(
        () => this.load(),
        (e: unknown) => this.fail("subscribe", e),
      );
    });
    guard.setSync(this);
  }

  private key(addr: string): string {
    return `${this.prefix}ban:${addr}`;
  }

  private fail(what: string, e: unknown): void {
    this.errors++;
    if (!this.closed) this.log.warn("pike: Redis ban sync failed", { what, error: e instanceof Error ? e.message : String(e) });
  }

  private onMessage(msg: string): void {
    const f = msg.split("\t");
    if (f[1] === this.node) return;
    if (f[0] === "b" && f.length === 4) {
      const until = Number(f[3]);
      if (!Number.isFinite(until)) return;
      this.received++;
      this.guard.applyRemote(f[2]!, until);
    } else if (f[0] === "u" && f.length === 3) {
      this.received++;
      this.guard.applyRemote(f[2]!, null);
    }
  }

  /** Reads every current ban (SCAN + MGET) into the guard's store, and writes this node's own bans Redis does not have. */
  load(): void {
    const run = async () => {
      const keys: string[] = [];
      let cursor = "0";
      do {
        const [next, batch] = await this.redis.scan(cursor, "MATCH", `${this.prefix}ban:*`, "COUNT", 500);
        cursor = next;
        keys.push(...batch);
      } while (cursor !== "0" && keys.length < 1_000_000);
      const cut = `${this.prefix}ban:`.length;
      for (let i = 0; i < keys.length; i += 500) {
        const slice = keys.slice(i, i + 500);
        const vals = await this.redis.mget(slice);
        vals.forEach((v, j) => {
          const until = Number(v);
          if (v !== null && Number.isFinite(until)) this.guard.applyRemote(slice[j]!.slice(cut), until);
        });
      }
      const now = Date.now();
      for (const b of this.guard.bans()) if (b.until > now) await this.redis.set(this.key(b.key), String(b.until), "PXAT", b.until, "NX");
    };
    run().catch((e: unknown) => this.fail("load", e));
  }

  banned(key: string, untilMs: number): void {
    if (this.closed) return;
    this.redis
      .multi()
      .set(this.key(key), String(untilMs), "PXAT", untilMs)
      .publish(this.channel, `b\t${this.node}\t${key}\t${untilMs}`)
      .exec()
      .catch((e: unknown) => this.fail("ban", e));
  }

  unbanned(key: string): void {
    if (this.closed) return;
    this.redis
      .multi()
      .del(this.key(key))
      .publish(this.channel, `u\t${this.node}\t${key}`)
      .exec()
      .catch((e: unknown) => this.fail("unban", e));
  }

  storeChanged(): void {
    if (this.sub.status === "ready") this.load();
  }

  close(): void {
    this.closed = true;
    this.guard.setSync(null);
    this.redis.disconnect();
    this.sub.disconnect();
  }
}
