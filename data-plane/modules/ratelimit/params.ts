import { custom, defineParams, int, issue, optStr, str, type ParamsOf } from "../../core/kit/params.js";
import { z } from "zod";

/** One `pipe` modparam: "pipe_no:algorithm:limit" (limit per second for TAILDROP/RED). */
export interface RlPipeParam {
  readonly no: number;
  readonly algo: string;
  readonly limit: number;
}
/** One `queue` modparam: "pipe_no:method" (`*` = every method). */
export interface RlQueueParam {
  readonly pipe: number;
  readonly method: string;
}

const list = (v: unknown): unknown[] => (v === undefined || v === null ? [] : Array.isArray(v) ? v : [v]);

export const ratelimitParams = defineParams("ratelimit", {
  timer_interval: int({ min: 1, max: 3600, default: 10, coerce: "digits", doc: "Seconds per interval (limits stay per second: TAILDROP allows limit × timer_interval per interval)" }),
  pipe: custom<RlPipeParam[]>({
    type: "string[]",
    default: [],
    fail: (_raw, why) => why ?? "must be a list",
    doc: 'Pipes, "pipe_no:algorithm:limit" (one string or a list); pipe_no 0..31',
    schema: z.unknown().transform((v, ctx) => {
      const out: RlPipeParam[] = [];
      for (const s of list(v)) {
        const m = /^\s*(\d+):([A-Z]+):(\d+)\s*$/.exec(String(s));
        if (!m || Number(m[1]) > 31 || !["NOP", "RED", "TAILDROP", "FEEDBACK", "NETWORK"].includes(m[2]!)) {
          return issue(ctx, `must be "pipe_no:algorithm:limit" (pipe_no 0..31, TAILDROP/RED/NETWORK/FEEDBACK), got ${JSON.stringify(s)}`);
        }
        out.push({ no: Number(m[1]), algo: m[2]!, limit: Number(m[3]) });
      }
      return out;
    }),
  }),
  queue: custom<RlQueueParam[]>({
    type: "string[]",
    default: [],
    fail: (_raw, why) => why ?? "must be a list",
    doc: 'Queues, "pipe_no:method" (one string or a list; `*` matches every method); matched in order',
    schema: z.unknown().transform((v, ctx) => {
      const out: RlQueueParam[] = [];
      for (const s of list(v)) {
        const m = /^\s*(\d+):([A-Za-z*]+)\s*$/.exec(String(s));
        if (!m || Number(m[1]) > 31) {
          return issue(ctx, `must be "pipe_no:method", got ${JSON.stringify(s)}`);
        }
        out.push({ pipe: Number(m[1]), method: m[2]!.toUpperCase() });
      }
      return out;
    }),
  }),
  redis_url: optStr({ doc: "Olelo: redis:// URL shared by the fleet (TAILDROP/RED pipes counted fleet-wide)", check: (v) => (/^rediss?:\/\//.test(v) ? null : "must be a redis:// URL") }),
  redis_prefix: str({ default: "olelo:rl:", doc: "Olelo: key prefix of the shared counters" }),
  flush_interval_ms: int({ min: 2, max: 1000, default: 20, coerce: "digits", doc: "Olelo: how often counts go to Redis" }),
  redis_timeout_ms: int({ min: 10, max: 10_000, default: 500, coerce: "digits", doc: "Olelo: a slower Redis round trip counts Redis as down" }),
  fleet_nodes: int({ min: 0, max: 10_000, default: 0, coerce: "digits", doc: "Olelo: node count for the fallback share (0 = as seen in Redis)" }),
});

export type RatelimitParams = ParamsOf<typeof ratelimitParams.shape>;
