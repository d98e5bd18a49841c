import { describe, expect, it } from "vitest";
import type { RequestContext } from "../../core/api.js";
import { fakeHost } from "../../testing/fake-host.js";
import { sipRequest, testRequest } from "../../testing/sip-harness.js";
import msilo, { type MsiloApi } from "./index.js";

/** The real request context of a MESSAGE to `to` with a text/plain body (what m_store reads). */
function message(to: string, body: string): RequestContext {
  return testRequest(sipRequest("MESSAGE", `sip:${to}`, { callId: `c-${body}`, headers: [["Content-Type", "text/plain"]], body })).req;
}

describe("msilo m_store limits", () => {
  it("stores up to max_messages / max_bytes per user, then refuses (-2); msilo.dump lists them", async () => {
    const host = fakeHost("msilo", { max_messages: 2, max_bytes: 10 });
    const api = (await msilo.init(host)) as MsiloApi;
    try {
      expect(await api.store(message("bob@example.com", "hi"))).toBe(1);
      expect(await api.store(message("bob@example.com", "12345678901"))).toBe(-2); // bytes
      expect(await api.store(message("bob@example.com", "yo"))).toBe(1);
      expect(await api.store(message("bob@example.com", "3rd"))).toBe(-2); // count
      expect(await api.store(message("carl@example.com", "ok"))).toBe(1);
      const dump = (await host.rpc.call("msilo.dump", ["bob@example.com"], { transport: "internal" })) as Array<{ body: string }>;
      expect(dump.map((m) => m.body)).toEqual(["hi", "yo"]);
      expect(host.stats.select("msilo:")).toEqual(expect.arrayContaining([["msilo:stored_messages", 3], ["msilo:refused_messages", 2]]));
    } finally {
      await msilo.destroy!(api);
    }
  });
});
