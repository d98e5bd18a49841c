import { describe, expect, it } from "vitest";
import { canaryVerdict, DEFAULT_CANARY_POLICY, groupHealth, type CanaryRunView } from "./canary-health.js";
import type { NodeHealth, NodeKindStatus, NodeStatus } from "./node-status.js";

const T0 = Date.parse("2026-12-07T08:00:00Z");
const zero: NodeHealth = { replies: 0, replies5xx: 0, replies408: 0, calls: 0, failedCalls: 0, nacks: 0, at: "" };
const h = (p: Partial<NodeHealth>): NodeHealth => ({ ...zero, ...p });

function kindStatus(p: Partial<NodeKindStatus>): NodeKindStatus {
  return {
    kind: "dispatcher",
    appliedVersion: "v2",
    sentVersion: null,
    sentNonce: null,
    sentMode: null,
    sentBaseVersion: null,
    fullPushes: 0,
    deltaPushes: 0,
    deltaFallbacks: 0,
    lastDeltaFallback: null,
    pending: false,
    lastAckAt: null,
    lastNackVersion: null,
    lastNackAt: null,
    lastNackError: null,
    ...p,
  };
}

function node(nodeId: string, health: NodeHealth | null, table: Partial<NodeKindStatus> = {}): NodeStatus {
  return {
    nodeId,
    buildVersion: "test",
    peer: "127.0.0.1:1",
    kinds: ["dispatcher"],
    labels: {},
    health,
    controlUrl: null,
    connected: true,
    connectedSince: null,
    disconnectedAt: null,
    lastAckAt: null,
    staleNonces: 0,
    tables: [kindStatus(table)],
  };
}

function run(baseline: Record<string, NodeHealth | null>, policy = {}): CanaryRunView {
  return {
    startedAt: T0,
    policy: { ...DEFAULT_CANARY_POLICY, soakMs: 10_000, ...policy },
    candidates: new Map([["dispatcher", "v2"]]),
    canaryNodes: new Set(["c1"]),
    baseline: new Map(Object.entries(baseline)),
  };
}

describe("canary verdict", () => {
  it("rolls back on the 5xx/408 ratio against the other nodes, counting only what moved since the soak started", () => {
    const r = run({ c1: h({ replies: 100, replies5xx: 50 }), r1: h({ replies: 100 }) });
    // before the soak the canary node had many 5xx: they do not count; now 2 of 5 new replies are 5xx/408
    const nodes = [node("c1", h({ replies: 105, replies5xx: 51, replies408: 1 })), node("r1", h({ replies: 150, replies5xx: 1 }))];
    const v = canaryVerdict(r, nodes, T0 + 1000);
    expect(v.action).toBe("rollback");
    expect(v.canary).toMatchObject({ replies: 5, errors: 2, errorRatio: 0.4 });
    expect(v.rest).toMatchObject({ replies: 50, errors: 1, errorRatio: 0.02 });
    expect(v.action === "rollback" && v.reason).toBe("5xx/408 replies on the canary nodes 40.0% (2 of 5) vs 2.0% on the other nodes (allowed +5.0%)");
  });

  it("waits below minSamples and within the allowed rise; promotes after the soak when the candidate runs", () => {
    const r = run({ c1: zero, r1: zero });
    expect(canaryVerdict(r, [node("c1", h({ replies: 4, replies5xx: 4 })), node("r1", zero)], T0 + 1000).action).toBe("wait");
    // 1 of 20 = 5 % vs 1 of 100 = 1 %: +4 % is allowed
    const ok = [node("c1", h({ replies: 20, replies5xx: 1, calls: 10 })), node("r1", h({ replies: 100, replies5xx: 1, calls: 50 }))];
    expect(canaryVerdict(r, ok, T0 + 9_999).action).toBe("wait");
    const done = canaryVerdict(r, ok, T0 + 10_000);
    expect(done.action).toBe("promote");
    expect(done.action === "promote" && done.reason).toMatch(/^soak of 10000 ms passed: 5xx\/408 5\.0% of 20 replies/);
  });

  it("rolls back on failed calls, on a NACK of the candidate, and when the soak ends without the candidate applied", () => {
    const r = run({ c1: zero, r1: zero });
    const failed = canaryVerdict(r, [node("c1", h({ replies: 2, calls: 10, failedCalls: 3 })), node("r1", h({ calls: 10 }))], T0 + 100);
    expect(failed.action === "rollback" && failed.reason).toBe("failed calls on the canary nodes 30.0% (3 of 10) vs 0.0% on the other nodes (allowed +5.0%)");
    const nack = canaryVerdict(
      r,
      [node("c1", zero, { appliedVersion: "v1", lastNackVersion: "v2", lastNackAt: new Date(T0 + 50).toISOString(), lastNackError: { reason: "INVALID_ROW", message: "bad uri" } as never })],
      T0 + 100,
    );
    expect(nack.action === "rollback" && nack.reason).toBe("node c1 rejected dispatcher v2: INVALID_ROW bad uri");
    // a NACK from before the soak started is not this canary's
    const old = canaryVerdict(r, [node("c1", zero, { lastNackVersion: "v2", lastNackAt: new Date(T0 - 50).toISOString() })], T0 + 100);
    expect(old.action).toBe("wait");
    const late = canaryVerdict(r, [node("c1", zero, { appliedVersion: "v1" })], T0 + 10_000);
    expect(late.action === "rollback" && late.reason).toBe("node c1 did not apply dispatcher v2 within the 10000 ms soak (runs v1)");
  });

  it("a node whose counters went down restarted: its counters count from zero", () => {
    const g = groupHealth([node("c1", h({ replies: 3, replies5xx: 3 }))], new Map([["c1", h({ replies: 500, replies5xx: 1 })]]));
    expect(g).toMatchObject({ replies: 3, errors: 3, errorRatio: 1 });
  });
});
