import { describe, expect, it } from "vitest";
import { fakeHost } from "../../testing/fake-host.js";
import ratelimit, { type RatelimitApi } from "./index.js";

const req = (method: string) => ({ method }) as never;

describe("ratelimit (Kamailio rl_check, queues, per-second limits)", () => {
  it("queues pick pipes by method; TAILDROP admits limit x timer_interval per interval; undefined pipes and unmatched methods drop", async () => {
    const host = fakeHost("ratelimit", { timer_interval: 2, pipe: ["0:TAILDROP:2", "1:NOP:0"], queue: ["0:INVITE", "1:REGISTER"] });
    const rl = (await ratelimit.init(host)) as RatelimitApi;
    try {
      expect(Array.from({ length: 5 }, () => rl.check(req("INVITE")))).toEqual([1, 1, 1, 1, -1]); // 2/s x 2 s
      expect(rl.check(req("BYE"))).toBe(-1); // no queue
      expect(rl.checkPipe(req("BYE"), 1)).toBe(-1); // NOP pipe: not defined for rl_check_pipe
      expect(rl.check(req("BYE"), 7)).toBe(-1);
      const rpc = (m: string, p: unknown[] = []) => host.rpc.call(m, p, {} as never);
      expect(await rpc("rl.set_pipe", [2, "TAILDROP", 1])).toBe("Ok");
      expect(await rpc("rl.set_queue", [5, "*", 2])).toBe("Ok");
      expect((await rpc("rl.get_queues")) as unknown[]).toContainEqual({ queue: 5, method: "*", pipe: 2 });
      expect([rl.checkPipe(req("BYE"), 2), rl.checkPipe(req("BYE"), 2), rl.checkPipe(req("BYE"), 2)]).toEqual([1, 1, -1]);
      expect((await rpc("rl.get_pipes")) as unknown[]).toContainEqual(expect.objectContaining({ pipe: 0, algorithm: "TAILDROP", limit: 2, counter: 5 }));
      await expect(rpc("rl.set_pipe", [40, "RED", 1])).rejects.toThrow(/Invalid pipe number/);
      expect(rl.fleetMode()).toBe("local");
    } finally {
      await ratelimit.destroy?.(rl);
    }
  });

  it("refuses a malformed pipe param naming it", async () => {
    await expect(async () => ratelimit.init(fakeHost("ratelimit", { pipe: "0:taildrop:5" }))).rejects.toThrow(/pipe/);
  });
});
