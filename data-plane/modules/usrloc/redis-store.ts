import { randomBytes } from "node:crypto";
import { Redis } from "ioredis";
import type { Logger } from "../../core/api.js";
import type { Binding } from "./binding.js";
import type { ChangeKind } from "./location-table.js";
import { aorOfRow, infoOfRow, rowOf } from "./location-row.js";
import { TABLE_NAME, type LocationStore, type StoredBinding, type StoreStatus } from "./store.js";

/**
 * A change as published on the change channel: `o` is "u" (upsert, `b` = the row as JSON) or
 * "d" (delete); `n` is the writing node. On the wire it is one line of tab-separated fields
 * `n o t r a b` (the AoR JSON-quoted, the row last), so a node can recognise its own changes
 * without parsing them.
 */
export interface ChangeMessage {
  n: string;
  t: string;
  a: string;
  o: "u" | "d";
  r: string;
  b?: string;
}

/** Encodes a change for the channel. */
export function encodeChange(m: ChangeMessage): string {
  return `${m.n}\t${m.o}\t${m.t}\t${m.r}\t${JSON.stringify(m.a)}\t${m.b ?? ""}`;
}

/** Decodes a channel message; null when malformed. */
export function decodeChange(text: string): ChangeMessage | null {
  const f: number[] = [];
  for (let i = text.indexOf("\t"); i >= 0 && f.length < 5; i = text.indexOf("\t", i + 1)) f.push(i);
  if (f.length < 5) return null;
  const o = text.slice(f[0]! + 1, f[1]);
  if (o !== "u" && o !== "d") return null;
  let a: unknown;
  try {
    a = JSON.parse(text.slice(f[3]! + 1, f[4]));
  } catch {
    return null;
  }
  if (typeof a !== "string") return null;
  const b = text.slice(f[4]! + 1);
  return { n: text.slice(0, f[0]), o, t: text.slice(f[1]! + 1, f[2]), r: text.slice(f[2]! + 1, f[3]), a, b: b === "" ? undefined : b };
}

/** Applies a change message to the local tables (wired by the usrloc module). */
export type ChangeApplier = (msg: ChangeMessage, row: Record<string, unknown> | null, own: boolean) => void;

/**
 * Sets the AoR key's expiry to the latest binding expiry plus a grace period (PERSIST when a
 * binding is permanent). Only garbage collection for keys nobody expires any more (every node
 * down); the nodes remove expired bindings themselves.
 */
const RETIME = `
local function retime(key, grace)
  local vals = redis.call('HVALS', key)
  if #vals == 0 then return end
  local maxe = 0
  for _, v in ipairs(vals) do
    local ok, row = pcall(cjson.decode, v)
    if ok and type(row) == 'table' then
      local e = tonumber(row.expires) or 0
      if e == 0 then redis.call('PERSIST', key) return end
      if e > maxe then maxe = e end
    end
  end
  if maxe > 0 then redis.call('PEXPIREAT', key, maxe * 1000 + grace) end
end
`;

/** KEYS[1] aor key; ARGV ruid, row json, channel, message, grace ms. */
const UPSERT = `${RETIME}
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
retime(KEYS[1], tonumber(ARGV[5]))
redis.call('PUBLISH', ARGV[3], ARGV[4])
return 1`;

/** KEYS[1] aor key; ARGV ruid, channel, message, grace ms. Returns 1 when the field existed. */
const REMOVE = `${RETIME}
local n = redis.call('HDEL', KEYS[1], ARGV[1])
if n == 1 then
  retime(KEYS[1], tonumber(ARGV[4]))
  redis.call('PUBLISH', ARGV[2], ARGV[3])
end
return n`;

/**
 * Conditional delete for an expiry: removes the binding only if it is still expired in Redis
 * (another node may have refreshed it). KEYS[1] aor key; ARGV ruid, now (s), channel, message,
 * grace ms. Returns 1 when deleted, the current row JSON when it lives on, 0 when gone already.
 */
const EXPIRE = `${RETIME}
local v = redis.call('HGET', KEYS[1], ARGV[1])
if not v then return 0 end
local ok, row = pcall(cjson.decode, v)
local e = 0
if ok and type(row) == 'table' then e = tonumber(row.expires) or 0 end
if e ~= 0 and e <= tonumber(ARGV[2]) then
  redis.call('HDEL', KEYS[1], ARGV[1])
  retime(KEYS[1], tonumber(ARGV[5]))
  redis.call('PUBLISH', ARGV[3], ARGV[4])
  return 1
end
return v`;

type ScriptRedis = Redis & {
  oleloUpsert(key: string, ruid: string, json: string, channel: string, msg: string, grace: number): Promise<number>;
  oleloRemove(key: string, ruid: string, channel: string, msg: string, grace: number): Promise<number>;
  oleloExpire(key: string, ruid: string, now: number, channel: string, msg: string, grace: number): Promise<number | string>;
};

/** Options of the Redis store. */
export interface RedisStoreOptions {
  /** Key prefix, e.g. "olelo:usrloc:" (keys `<prefix><table>:aor:<aor>`, channel `<prefix>changes`). */
  prefix: string;
  useDomain: boolean;
  log: Logger;
  /** Seconds a key outlives its last binding's expiry before Redis drops it (default 60). */
  graceS?: number;
}

/**
 * Olelo's shared location store in Redis: several data planes behind one domain see each other's
 * registrations (a phone registers through one node and is called through another).
 *
 * Every node keeps a full copy of the location tables in memory (lookups never wait for Redis).
 * Each change is written with one Lua script that updates the AoR's hash (field = ruid, value =
 * the location row as JSON) and publishes the change; every node, the writer included, applies
 * the published changes in Redis's order, so all copies converge on what Redis holds. Expiry is a
 * conditional delete: the node that removes an expired binding in Redis reports the
 * `registration.expired` event; a binding refreshed meanwhile through another node comes back.
 * A starting node subscribes first, then loads every AoR key (SCAN), then applies the changes
 * that arrived while loading.
 */
export class RedisLocationStore implements LocationStore {
  readonly kind = "redis";
  /** This process's id in change messages. */
  readonly nodeId = randomBytes(6).toString("hex");
  private readonly redis: ScriptRedis;
  private readonly sub: Redis;
  private readonly channel: string;
  private readonly graceMs: number;
  private buffered: string[] | null = [];
  /** Own changes per ruid published but not yet seen back on the channel. */
  private readonly writing = new Map<string, number>();
  /** ruids another node changed while an own change of them was in flight. */
  private readonly overtaken = new Set<string>();
  private readonly ownPrefix: string;
  private applier: ChangeApplier | null = null;
  private inflight = new Set<Promise<unknown>>();
  private writes = 0;
  private errors = 0;
  private lastError: string | null = null;
  private closed = false;

  private constructor(
    url: string,
    private readonly opts: RedisStoreOptions,
  ) {
    const common = { lazyConnect: true, maxRetriesPerRequest: 2, enableAutoPipelining: true } as const;
    this.redis = new Redis(url, common) as ScriptRedis;
    this.sub = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 2 });
    this.channel = `${opts.prefix}changes`;
    this.ownPrefix = `${this.nodeId}\t`;
    this.graceMs = (opts.graceS ?? 60) * 1000;
    this.redis.defineCommand("oleloUpsert", { numberOfKeys: 1, lua: UPSERT });
    this.redis.defineCommand("oleloRemove", { numberOfKeys: 1, lua: REMOVE });
    this.redis.defineCommand("oleloExpire", { numberOfKeys: 1, lua: EXPIRE });
    for (const c of [this.redis, this.sub]) c.on("error", (e: Error) => this.fail("redis connection error", e));
  }

  /** Connects both connections and subscribes to the change channel (messages are buffered until `start`). */
  static async connect(url: string, opts: RedisStoreOptions): Promise<RedisLocationStore> {
    const s = new RedisLocationStore(url, opts);
    try {
      await s.redis.connect();
      await s.sub.connect();
      s.sub.on("message", (_ch: string, m: string) => s.onMessage(m));
      await s.sub.subscribe(s.channel);
    } catch (e) {
      s.redis.disconnect();
      s.sub.disconnect();
      throw new Error(`usrloc: cannot connect to Redis at ${url}: ${e instanceof Error ? e.message : String(e)}`);
    }
    return s;
  }

  private key(table: string, aor: string): string {
    return `${this.opts.prefix}${table}:aor:${aor}`;
  }

  async load(table: string): Promise<StoredBinding[]> {
    if (!TABLE_NAME.test(table)) throw new Error(`bad location table name '${table}'`);
    const now = Math.floor(Date.now() / 1000);
    const out: StoredBinding[] = [];
    const match = `${this.opts.prefix}${table}:aor:*`;
    let cursor = "0";
    do {
      const [next, keys] = await this.redis.scan(cursor, "MATCH", match, "COUNT", 1000);
      cursor = next;
      if (keys.length === 0) continue;
      const pipe = this.redis.pipeline();
      for (const k of keys) pipe.hgetall(k);
      const res = (await pipe.exec()) ?? [];
      for (let i = 0; i < res.length; i++) {
        const [err, h] = res[i]!;
        if (err || !h) continue;
        for (const json of Object.values(h as Record<string, string>)) {
          const row = parseRow(json);
          const info = row && infoOfRow(row);
          if (!info || (info.expires !== 0 && info.expires <= now)) continue;
          out.push({ aor: aorOfRow({ username: String(row!.username ?? ""), domain: (row!.domain as string | null) ?? null }, this.opts.useDomain), info });
        }
      }
    } while (cursor !== "0");
    return out;
  }

  /** Starts applying change messages (those received since `connect` first, in order). */
  start(applier: ChangeApplier): void {
    this.applier = applier;
    const held = this.buffered ?? [];
    this.buffered = null;
    for (const m of held) this.onMessage(m);
  }

  /**
   * Applies one channel message. This node's own changes are already in memory: their echo is
   * skipped unless another node changed the same binding while ours was in flight — then the
   * echo is applied too, so the local copy ends on whatever Redis applied last.
   */
  private onMessage(text: string): void {
    if (this.buffered) {
      this.buffered.push(text);
      return;
    }
    const own = text.startsWith(this.ownPrefix);
    let msg: ChangeMessage | null;
    if (own) {
      const r = this.ruidOf(text);
      const n = (this.writing.get(r) ?? 1) - 1;
      if (n <= 0) this.writing.delete(r);
      else this.writing.set(r, n);
      const dirty = this.overtaken.has(r);
      if (n <= 0) this.overtaken.delete(r);
      if (!dirty) return;
      msg = decodeChange(text);
    } else {
      msg = decodeChange(text);
      if (msg && this.writing.has(msg.r)) this.overtaken.add(msg.r);
    }
    if (!msg) return;
    const row = msg.o === "u" && typeof msg.b === "string" ? parseRow(msg.b) : null;
    if (msg.o === "u" && !row) return;
    try {
      this.applier?.(msg, row, own);
    } catch (e) {
      this.opts.log.warn("usrloc: applying a replicated change failed", { error: String(e) });
    }
  }

  /** The ruid field of an encoded message (4th field). */
  private ruidOf(text: string): string {
    let i = -1;
    for (let k = 0; k < 3; k++) i = text.indexOf("\t", i + 1);
    return text.slice(i + 1, text.indexOf("\t", i + 1));
  }

  /** Forgets an expected echo (the script published nothing, or failed). */
  private unsent(ruid: string): void {
    const n = (this.writing.get(ruid) ?? 1) - 1;
    if (n <= 0) {
      this.writing.delete(ruid);
      this.overtaken.delete(ruid);
    } else this.writing.set(ruid, n);
  }

  /** Counts a change of ours on its way through Redis (its echo is expected). */
  private sent(ruid: string): void {
    this.writing.set(ruid, (this.writing.get(ruid) ?? 0) + 1);
  }

  changed(table: string, kind: ChangeKind, b: Binding): void {
    if (this.closed) return;
    const key = this.key(table, b.aor);
    if (kind === "added" || kind === "refreshed") {
      const json = JSON.stringify(rowOf(b, this.opts.useDomain));
      const msg = encodeChange({ n: this.nodeId, t: table, a: b.aor, o: "u", r: b.ruid, b: json });
      this.sent(b.ruid);
      const p = this.redis.oleloUpsert(key, b.ruid, json, this.channel, msg, this.graceMs);
      this.track(p);
      p.catch(() => this.unsent(b.ruid));
    } else if (kind === "removed") {
      const msg = encodeChange({ n: this.nodeId, t: table, a: b.aor, o: "d", r: b.ruid });
      this.sent(b.ruid);
      const p = this.redis.oleloRemove(key, b.ruid, this.channel, msg, this.graceMs);
      this.track(p);
      p.then(
        (n) => {
          if (n !== 1) this.unsent(b.ruid); // nothing deleted, nothing published
        },
        () => this.unsent(b.ruid),
      );
    }
    // "expired" goes through expire(), which the module calls to learn who removed it
  }

  /**
   * Removes an expired binding from Redis if it is still expired there. Resolves "deleted" when
   * this node removed it (and should report the expiry), "gone" when another node did, or the
   * row that replaced it (refreshed through another node; the caller puts it back).
   */
  async expire(table: string, b: Binding): Promise<"deleted" | "gone" | Record<string, unknown>> {
    const msg = encodeChange({ n: this.nodeId, t: table, a: b.aor, o: "d", r: b.ruid });
    this.sent(b.ruid);
    const p = this.redis.oleloExpire(this.key(table, b.aor), b.ruid, Math.floor(Date.now() / 1000), this.channel, msg, this.graceMs);
    this.track(p);
    let r: number | string;
    try {
      r = await p;
    } catch (e) {
      this.unsent(b.ruid);
      throw e;
    }
    if (r !== 1) this.unsent(b.ruid); // published only when deleted
    if (r === 1) return "deleted";
    if (typeof r === "string") return parseRow(r) ?? "gone";
    return "gone";
  }

  private track(p: Promise<unknown>): void {
    this.inflight.add(p);
    p.then(
      () => {
        this.writes++;
        this.inflight.delete(p);
      },
      (e: unknown) => {
        this.inflight.delete(p);
        this.fail("usrloc: Redis write failed", e);
      },
    );
  }

  private fail(what: string, e: unknown): void {
    this.errors++;
    this.lastError = e instanceof Error ? e.message : String(e);
    if (!this.closed) this.opts.log.warn(what, { error: this.lastError });
  }

  async flush(): Promise<void> {
    while (this.inflight.size > 0) await Promise.allSettled([...this.inflight]);
  }

  status(): StoreStatus {
    return { kind: this.kind, writes: this.writes, errors: this.errors, pending: this.inflight.size, lastError: this.lastError };
  }

  async close(): Promise<void> {
    if (this.closed) return;
    await this.flush();
    this.closed = true;
    await Promise.allSettled([this.sub.quit(), this.redis.quit()]);
  }
}

function parseRow(json: string): Record<string, unknown> | null {
  try {
    const v = JSON.parse(json) as unknown;
    return v && typeof v === "object" && !Array.isArray(v) ? (v as Record<string, unknown>) : null;
  } catch {
    return null;
  }
}
