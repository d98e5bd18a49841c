/** GET /metrics on the control listener: Kamailio's statistics in Prometheus text format. Ports: a block of 10 from test/kit/ports.ts (freePortBlock), P + offset. */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { join } from "node:path";
import { startProxy, TEST_SCRIPTS } from "./helpers/proxy.js";
import { UdpPeer, request, statusOf } from "./helpers/udp-peer.js";
import type { DataPlane } from "../data-plane/node.js";
import { freePortBlock } from "./kit/ports.js";

const P = await freePortBlock(10);

describe("/metrics", () => {
  let dp: DataPlane;
  beforeAll(async () => {
    dp = await startProxy({
      node: "metrics-node",
      listen: [`udp:127.0.0.1:${P}`],
      control: { listen: `127.0.0.1:${P + 1}` },
      script: { file: join(TEST_SCRIPTS, "proxy-test.ts"), settings: { targets: [`sip:127.0.0.1:${P + 9}`] } },
    });
  });
  afterAll(async () => {
    await dp?.stop();
  });

  it("exposes counters that move with traffic", async () => {
    const get = async () => {
      const r = await fetch(`http://127.0.0.1:${P + 1}/metrics`);
      expect(r.status).toBe(200);
      expect(r.headers.get("content-type")).toContain("text/plain");
      return r.text();
    };
    const value = (text: string, name: string) => Number(new RegExp(`^${name}\\{node="metrics-node"\\} (\\d+)$`, "m").exec(text)?.[1]);
    const before = await get();
    const peer = await UdpPeer.open(P + 2);
    for (let i = 0; i < 3; i++) {
      peer.send(request("OPTIONS", `sip:127.0.0.1:${P}`, { port: P + 2, callId: `m${i}@test` }), P);
      await peer.wait((t) => t.includes(`m${i}@test`) && statusOf(t) === 200);
    }
    peer.close();
    const after = await get();
    expect(value(after, "olelo_core_rcv_requests_total") - value(before, "olelo_core_rcv_requests_total")).toBe(3);
    expect(value(after, "olelo_core_rcv_requests_options_total")).toBeGreaterThanOrEqual(3);
    expect(value(after, "olelo_sl_200_replies_total")).toBeGreaterThanOrEqual(3);
    expect(after).toMatch(/^olelo_tmx_UAS_transactions_total\{node="metrics-node"\} \d+$/m);
    expect(after).toMatch(/^olelo_uptime_seconds\{node="metrics-node"\} \d+$/m);
    expect((await fetch(`http://127.0.0.1:${P + 1}/metrics`, { method: "POST" })).status).toBe(405);
  });
});
