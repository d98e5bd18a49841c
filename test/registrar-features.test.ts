/**
 * Call features on top of the location service, through the default script's LOCATION route with
 * tables pushed as table kinds: aliases (alias_db / dbaliases), speed dial (speed_dial), call
 * forwarding unconditional / busy / no answer / unavailable and caller deny/allow lists (callfwd /
 * olelo_callfwd + olelo_callblock). Calls with sipp over UDP. Ports: a block of 50 from test/kit/ports.ts (freePortBlock).
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startProxy } from "./helpers/proxy.js";
import { runSipp, startSippServer, type SippServer } from "./helpers/sipp.js";
import type { DataPlane } from "../data-plane/node.js";
import { usrlocOf } from "./scripts/registrar-helpers.js";
import { freePortBlock } from "./kit/ports.js";
import { letTimePass } from "./kit/wait.js";

const P = await freePortBlock(50);
const BOB = P + 10; // answers
const BUSY = P + 11; // 486
const RING = P + 12; // rings until cancelled
const BOB2 = P + 13; // answers (second alias target)

describe("aliases, speed dial, forwarding and screening", () => {
  let dp: DataPlane;
  let port = P + 20;
  const call = async (service: string, expect603 = false) =>
    runSipp(
      expect603
        ? { scenario: "uac_expect.xml", port: port++, remote: `127.0.0.1:${P}`, calls: 1, service, templ: { code: "603" } }
        : { scenario: "uac_rr.xml", port: port++, remote: `127.0.0.1:${P}`, calls: 1, service, timeoutS: 15 },
    );
  /** Runs `fn` with UAS on the given ports and returns each UAS's successful count. */
  async function withPhones(uas: Array<[number, string]>, fn: () => Promise<void>): Promise<number[]> {
    const servers: SippServer[] = [];
    for (const [p, s] of uas) servers.push(await startSippServer({ scenario: s, port: p }));
    try {
      await fn();
      await letTimePass(500, "the phones' sipp see the last messages before they are stopped");
    } finally {
      const out: number[] = [];
      for (const s of servers) out.push((await s.stop()).successful);
      // eslint-disable-next-line no-unsafe-finally
      return out;
    }
  }

  beforeAll(async () => {
    dp = await startProxy({
      listen: [`udp:127.0.0.1:${P}`],
      modules: { usrloc: {}, registrar: {}, alias_db: { append_branches: 1 }, speed_dial: {}, callfwd: { noanswer_timeout: 1 } },
    });
    const t = usrlocOf(dp).table("location");
    const now = Math.floor(Date.now() / 1000);
    const bind = (aor: string, port: number) => t.insert(aor, { contact: `sip:${aor}@127.0.0.1:${port}`, expires: now + 600, q: -1, callid: `cid-${aor}-${port}`, cseq: 1 }, { source: "test" });
    bind("bob", BOB);
    bind("bob2", BOB2);
    bind("dan", BUSY);
    bind("erin", RING);
    const load = (kind: string, set: Record<string, unknown[]>) => {
      const r = dp.tables.load(kind, set as never, "v1", "test");
      if (!r.ok) throw r.error;
    };
    load("alias_db", {
      dbaliases: [
        { id: 1, alias_username: "sales", alias_domain: "", username: "bob", domain: "" },
        { id: 2, alias_username: "team", alias_domain: "", username: "bob", domain: "" },
        { id: 3, alias_username: "team", alias_domain: "", username: "bob2", domain: "" },
      ],
    });
    load("speed_dial", { speed_dial: [{ id: 1, username: "sipp", domain: "", sd_username: "12", sd_domain: "", new_uri: `sip:bob@127.0.0.1:${P}` }] });
    load("callfwd", {
      olelo_callfwd: [
        { id: 1, username: "carol", domain: "", cf_type: "unconditional", target: `sip:bob@127.0.0.1:${P}` },
        { id: 2, username: "dan", domain: "", cf_type: "busy", target: `sip:bob@127.0.0.1:${P}` },
        { id: 3, username: "erin", domain: "", cf_type: "noanswer", target: `sip:bob@127.0.0.1:${P}`, timeout: 1 },
        { id: 4, username: "frank", domain: "", cf_type: "unavailable", target: `sip:bob@127.0.0.1:${P}` },
      ],
      olelo_callblock: [
        { id: 1, username: "grace", domain: "", list_type: "deny", caller: "sipp" },
        { id: 2, username: "henry", domain: "", list_type: "allow", caller: "boss" },
        { id: 3, username: "bob", domain: "", list_type: "allow", caller: "*" },
      ],
    });
  });
  afterAll(async () => {
    await dp?.stop();
  });

  it("alias_db: an alias reaches the user it names", async () => {
    const [bob] = await withPhones([[BOB, "reg_uas_answer.xml"]], async () => {
      const r = await call("sales");
      expect(r.failed, r.errors + r.stderr).toBe(0);
    });
    expect(bob).toBe(1);
  });

  it("alias_db with append_branches: an alias of two users rings both", async () => {
    const [bob, bob2] = await withPhones(
      [
        [BOB, "reg_uas_answer.xml"],
        [BOB2, "uas_ring_cancel.xml"],
      ],
      async () => {
        const r = await call("team");
        expect(r.failed, r.errors + r.stderr).toBe(0);
      },
    );
    expect(bob + bob2).toBe(2); // one answered, the other rang and was cancelled
  });

  it("speed_dial: the caller's two-digit code becomes its new_uri", async () => {
    const [bob] = await withPhones([[BOB, "reg_uas_answer.xml"]], async () => {
      const r = await call("12");
      expect(r.failed, r.errors + r.stderr).toBe(0);
    });
    expect(bob).toBe(1);
  });

  it("callfwd unconditional and unavailable forward before ringing", async () => {
    const [bob] = await withPhones([[BOB, "reg_uas_answer.xml"]], async () => {
      for (const user of ["carol", "frank"]) {
        const r = await call(user);
        expect(r.failed, `${user}: ${r.errors}${r.stderr}`).toBe(0);
      }
    });
    expect(bob).toBe(2);
    expect(dp.stats.select("callfwd:forwarded")[0]![1]).toBeGreaterThanOrEqual(2);
  });

  it("callfwd busy: a 486 from the user's phone forwards the call", async () => {
    const [busy, bob] = await withPhones(
      [
        [BUSY, "uas_486.xml"],
        [BOB, "reg_uas_answer.xml"],
      ],
      async () => {
        const r = await call("dan");
        expect(r.failed, r.errors + r.stderr).toBe(0);
      },
    );
    expect([busy, bob]).toEqual([1, 1]);
  });

  it("callfwd no answer: after the ring time the call goes to the forward target", async () => {
    const t0 = Date.now();
    const [ring, bob] = await withPhones(
      [
        [RING, "uas_ring_cancel.xml"],
        [BOB, "reg_uas_answer.xml"],
      ],
      async () => {
        const r = await call("erin");
        expect(r.failed, r.errors + r.stderr).toBe(0);
      },
    );
    expect(Date.now() - t0).toBeGreaterThan(1000);
    expect([ring, bob]).toEqual([1, 1]);
  });

  it("deny and allow lists refuse callers with 603", async () => {
    for (const user of ["grace", "henry"]) {
      const r = await call(user, true);
      expect(r.failed, `${user}: ${r.errors}${r.stderr}`).toBe(0);
      expect(r.successful).toBe(1);
    }
    expect(dp.stats.select("callfwd:blocked")[0]![1]).toBe(2);
  });

  it("rejects a bad forwarding table with a row-named error and keeps the old one", () => {
    const r = dp.tables.load("callfwd", { olelo_callfwd: [{ id: 99, username: "x", cf_type: "often", target: "sip:a@b" }] }, "v2", "test");
    expect(r.ok).toBe(false);
    expect(!r.ok && r.error.message).toMatch(/olelo_callfwd row 99: cf_type/);
    expect(dp.tables.statusOf("callfwd")?.version).toBe("v1");
  });
});
