import { randomBytes } from "node:crypto";
import { Redis } from "ioredis";
import type { Logger } from "../../core/api.js";

/**
 * Change notifications between the presence servers of a fleet: after a publication changed (and
 * was written to MySQL), the node publishes `{n, u, e}` (node id, presentity URI, event) on the
 * Redis channel `<prefix>presence`; every other node reloads that presentity from MySQL and
 * NOTIFYs the watchers whose subscription dialogs it holds.
 */
export class PresenceFleet {
  readonly nodeId = randomBytes(6).toString("hex");
  private readonly pub: Redis;
  private readonly sub: Redis;
  private readonly channel: string;
  received = 0;
  sent = 0;

  private constructor(
    url: string,
    prefix: string,
    private readonly log: Logger,
  ) {
    const common = { lazyConnect: true, maxRetriesPerRequest: 2 } as const;
    this.pub = new Redis(url, common);
    this.sub = new Redis(url, common);
    this.channel = `${prefix}presence`;
    for (const c of [this.pub, this.sub]) c.on("error", (e: Error) => this.log.warn("presence: redis connection error", { error: e.message }));
  }

  /** Connects and subscribes; `onChange` runs for every change another node announces. */
  static async connect(url: string, prefix: string, log: Logger, onChange: (uri: string, event: string) => void): Promise<PresenceFleet> {
    const f = new PresenceFleet(url, prefix, log);
    try {
      await f.pub.connect();
      await f.sub.connect();
      f.sub.on("message", (_ch: string, m: string) => {
        try {
          const msg = JSON.parse(m) as { n?: string; u?: string; e?: string };
          if (msg.n === f.nodeId || typeof msg.u !== "string" || typeof msg.e !== "string") return;
          f.received++;
          onChange(msg.u, msg.e);
        } catch {
          // a foreign message on our channel is ignored
        }
      });
      await f.sub.subscribe(f.channel);
    } catch (e) {
      f.pub.disconnect();
      f.sub.disconnect();
      throw new Error(`presence: cannot connect to Redis at ${url}: ${e instanceof Error ? e.message : String(e)}`);
    }
    return f;
  }

  /** Announces a change of one presentity's state for one event. */
  announce(uri: string, event: string): void {
    this.sent++;
    this.pub.publish(this.channel, JSON.stringify({ n: this.nodeId, u: uri, e: event })).catch((e: Error) => this.log.warn("presence: redis publish failed", { error: e.message }));
  }

  close(): void {
    this.pub.disconnect();
    this.sub.disconnect();
  }
}
