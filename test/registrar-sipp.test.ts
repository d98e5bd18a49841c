/**
 * Registrar end to end with sipp over real UDP sockets and the default routing script
 * (REGISTRAR / LOCATION routes): add, refresh, remove, wildcard remove, too-brief expiry and
 * several contacts; expiry on time; a call reaching every registered contact (parallel fork) and
 * a serial fork by q moving on after a 486 and after a timeout. Ports: a block of 100 from test/kit/ports.ts (freePortBlock).
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startProxy } from "./helpers/proxy.js";
import { runSipp, startSippServer } from "./helpers/sipp.js";
import type { DataPlane } from "../data-plane/node.js";
import { captureEvents, usrlocOf, waitFor } from "./scripts/registrar-helpers.js";
import { freePortBlock } from "./kit/ports.js";
import { letTimePass } from "./kit/wait.js";

const P = await freePortBlock(100);

async function registrarProxy(port: number, registrar: Record<string, unknown> = {}, settings: Record<string, unknown> = {}): Promise<DataPlane> {
  return startProxy({
    listen: [`udp:127.0.0.1:${port}`],
    modules: { usrloc: {}, registrar },
    script: { settings },
  });
}

async function registerContact(proxyPort: number, localPort: number, user: string, contact: string, cparams = "", expires = 3600) {
  const r = await runSipp({
    scenario: "reg_add.xml",
    port: localPort,
    remote: `127.0.0.1:${proxyPort}`,
    calls: 1,
    templ: { reg_user: user, reg_contact: contact, reg_cparams: cparams, reg_expires: String(expires) },
  });
  expect(r.failed, r.errors + r.stderr).toBe(0);
  expect(r.successful).toBe(1);
}

describe("REGISTER scenarios with sipp", () => {
  let dp: DataPlane;
  beforeAll(async () => {
    dp = await registrarProxy(P);
  });
  afterAll(async () => {
    await dp?.stop();
  });

  it("adds bindings: every 200 lists the contact with expires=", async () => {
    const r = await runSipp({
      scenario: "reg_add.xml",
      port: P + 1,
      remote: `127.0.0.1:${P}`,
      calls: 20,
      rate: 20,
      templ: { reg_user: "add[call_number]", reg_contact: "sip:add[call_number]@[local_ip]:[local_port]", reg_cparams: "", reg_expires: "3600" },
    });
    expect(r.failed, r.errors + r.stderr).toBe(0);
    expect(r.successful).toBe(20);
    expect(r.code).toBe(0);
    const t = usrlocOf(dp).table("location");
    for (let i = 1; i <= 20; i++) {
      const b = t.valid(`add${i}`);
      expect(b.length).toBe(1);
      expect(b[0]!.contact).toBe(`sip:add${i}@127.0.0.1:${P + 1}`);
      expect(b[0]!.userAgent).toBe("olelo-reg-test");
      expect(b[0]!.socket).toBe(`udp:127.0.0.1:${P}`);
      expect(b[0]!.remaining(Math.floor(Date.now() / 1000))).toBeGreaterThan(3590);
    }
    expect(dp.stats.select("registrar:accepted_regs")[0]![1]).toBeGreaterThanOrEqual(20);
    expect(dp.stats.select("usrloc:location-users")[0]![1]).toBeGreaterThanOrEqual(20);
  });

  it("refreshes a binding with the same Call-ID and a higher CSeq", async () => {
    const ev = captureEvents(dp, ["registration.*"]);
    const r = await runSipp({ scenario: "reg_refresh.xml", port: P + 2, remote: `127.0.0.1:${P}`, calls: 3, rate: 10, templ: { reg_user: "ref[call_number]", reg_expires: "1800" } });
    ev.stop();
    expect(r.failed, r.errors + r.stderr).toBe(0);
    expect(r.successful).toBe(3);
    const t = usrlocOf(dp).table("location");
    for (let i = 1; i <= 3; i++) {
      const b = t.valid(`ref${i}`);
      expect(b.length).toBe(1);
      expect(b[0]!.cseq).toBe(2);
    }
    expect(ev.events.filter((e) => e.kind === "registration.added").length).toBe(3);
    expect(ev.events.filter((e) => e.kind === "registration.refreshed").length).toBe(3);
    const e = ev.events.find((x) => x.kind === "registration.refreshed")!;
    expect(e.data).toMatchObject({ table: "location", expires: 1800, received: null, source: `udp:127.0.0.1:${P + 2}` });
    expect(String(e.data.aor)).toMatch(/^ref\d$/);
  });

  it("removes a binding with Expires: 0", async () => {
    const ev = captureEvents(dp, ["registration.removed"]);
    const r = await runSipp({ scenario: "reg_remove.xml", port: P + 3, remote: `127.0.0.1:${P}`, calls: 3, rate: 10, templ: { reg_user: "rem[call_number]" } });
    ev.stop();
    expect(r.failed, r.errors + r.stderr).toBe(0);
    expect(r.successful).toBe(3);
    const t = usrlocOf(dp).table("location");
    for (let i = 1; i <= 3; i++) expect(t.has(`rem${i}`)).toBe(false);
    expect(ev.events.length).toBe(3);
  });

  it("removes every binding with Contact: * and Expires: 0", async () => {
    const r = await runSipp({ scenario: "reg_wildcard.xml", port: P + 4, remote: `127.0.0.1:${P}`, calls: 2, rate: 10, templ: { reg_user: "wild[call_number]" } });
    expect(r.failed, r.errors + r.stderr).toBe(0);
    expect(r.successful).toBe(2);
    expect(r.code).toBe(0);
    const t = usrlocOf(dp).table("location");
    expect(t.has("wild1")).toBe(false);
    expect(t.has("wild2")).toBe(false);
  });

  it("refuses a too brief expiry with 423 and Min-Expires", async () => {
    const before = dp.stats.select("registrar:rejected_regs")[0]![1];
    const r = await runSipp({ scenario: "reg_brief.xml", port: P + 5, remote: `127.0.0.1:${P}`, calls: 2, rate: 10, templ: { reg_user: "brief[call_number]", reg_expires: "10", reg_min: "60" } });
    expect(r.failed, r.errors + r.stderr).toBe(0);
    expect(r.successful).toBe(2);
    expect(usrlocOf(dp).table("location").has("brief1")).toBe(false);
    expect(dp.stats.select("registrar:rejected_regs")[0]![1]).toBe(before + 2);
  });

  it("keeps several contacts of one AoR ordered by q", async () => {
    const r = await runSipp({ scenario: "reg_multi.xml", port: P + 6, remote: `127.0.0.1:${P}`, calls: 1, templ: { reg_user: "multi" } });
    expect(r.failed, r.errors + r.stderr).toBe(0);
    expect(r.code).toBe(0);
    const b = usrlocOf(dp).table("location").valid("multi");
    expect(b.map((x) => [x.contact.replace(/^.*;/, ""), x.q])).toEqual([
      ["dev=a", 900],
      ["dev=b", 500],
    ]);
  });
});

describe("expiry on time", () => {
  let dp: DataPlane;
  beforeAll(async () => {
    dp = await registrarProxy(P + 10, { min_expires: 1 });
  });
  afterAll(async () => {
    await dp?.stop();
  });

  it("removes a 2-second binding after 2 seconds and reports registration.expired", async () => {
    const ev = captureEvents(dp, ["registration.expired"]);
    const t0 = Date.now();
    await registerContact(P + 10, P + 11, "short", `sip:short@127.0.0.1:${P + 11}`, "", 2);
    const t = usrlocOf(dp).table("location");
    expect(t.valid("short").length).toBe(1);
    const gone = await waitFor(() => ev.events.length > 0, 5000, 20);
    const elapsed = Date.now() - t0;
    ev.stop();
    expect(gone).toBe(true);
    // whole-second expiry: 1 to 2 s after the REGISTER was saved (plus sipp's run time on a busy machine)
    expect(elapsed).toBeGreaterThanOrEqual(1000);
    expect(elapsed).toBeLessThan(4000);
    expect(ev.events[0]!.data).toMatchObject({ aor: "short", contact: `sip:short@127.0.0.1:${P + 11}`, source: "timer", expires: 0 });
    expect(t.has("short")).toBe(false);
    expect(dp.stats.select("usrloc:location-expires")[0]![1]).toBe(1);
  });
});

describe("calls to registered users", () => {
  let dp: DataPlane;
  let serial: DataPlane;
  beforeAll(async () => {
    dp = await registrarProxy(P + 20);
    serial = await registrarProxy(P + 40, {}, { serialForking: true, serialTimeoutMs: 1500 });
  });
  afterAll(async () => {
    await dp?.stop();
    await serial?.stop();
  });

  it("reaches every registered contact (parallel fork), answers from one and cancels the other", async () => {
    const answer = await startSippServer({ scenario: "reg_uas_answer.xml", port: P + 30 });
    const ring = await startSippServer({ scenario: "uas_ring_cancel.xml", port: P + 31 });
    try {
      await registerContact(P + 20, P + 21, "carol", `sip:carol@127.0.0.1:${P + 30}`);
      await registerContact(P + 20, P + 22, "carol", `sip:carol@127.0.0.1:${P + 31}`);
      expect(usrlocOf(dp).table("location").valid("carol").length).toBe(2);
      const r = await runSipp({ scenario: "uac_rr.xml", port: P + 23, remote: `127.0.0.1:${P + 20}`, calls: 5, rate: 5, service: "carol" });
      expect(r.failed, r.errors + r.stderr).toBe(0);
      expect(r.successful).toBe(5);
      expect(r.code).toBe(0);
      await letTimePass(500, "the phones' sipp see the last messages before they are stopped");
    } finally {
      const a = await answer.stop();
      const g = await ring.stop();
      expect(a.successful, a.errors).toBe(5);
      expect(g.successful, "every ringing contact got the INVITE and was cancelled: " + g.errors).toBe(5);
    }
  });

  it("answers 404 for a user without bindings", async () => {
    const r = await runSipp({ scenario: "uac_expect.xml", port: P + 24, remote: `127.0.0.1:${P + 20}`, calls: 1, service: "nobody", templ: { code: "404" } });
    expect(r.failed, r.errors + r.stderr).toBe(0);
    expect(r.code).toBe(0);
  });

  it("forks serially by q and moves on after a 486", async () => {
    const busy = await startSippServer({ scenario: "uas_486.xml", port: P + 32 });
    const answer = await startSippServer({ scenario: "reg_uas_answer.xml", port: P + 33 });
    try {
      await registerContact(P + 40, P + 41, "dave", `sip:dave@127.0.0.1:${P + 32}`, ";q=1.0");
      await registerContact(P + 40, P + 42, "dave", `sip:dave@127.0.0.1:${P + 33}`, ";q=0.5");
      const r = await runSipp({ scenario: "uac_rr.xml", port: P + 43, remote: `127.0.0.1:${P + 40}`, calls: 3, rate: 3, service: "dave" });
      expect(r.failed, r.errors + r.stderr).toBe(0);
      expect(r.successful).toBe(3);
      await letTimePass(500, "the phones' sipp see the last messages before they are stopped");
    } finally {
      const b = await busy.stop();
      const a = await answer.stop();
      expect(b.successful, "tried first (higher q), refused with 486: " + b.errors).toBe(3);
      expect(a.successful, a.errors).toBe(3);
    }
  });

  it("forks serially by q and moves on when the first contact does not answer in time", async () => {
    const answer = await startSippServer({ scenario: "reg_uas_answer.xml", port: P + 34 });
    try {
      // nothing listens on P+49: the q=1.0 branch times out after serialTimeoutMs
      await registerContact(P + 40, P + 44, "erin", `sip:erin@127.0.0.1:${P + 49}`, ";q=1.0");
      await registerContact(P + 40, P + 45, "erin", `sip:erin@127.0.0.1:${P + 34}`, ";q=0.5");
      const t0 = Date.now();
      const r = await runSipp({ scenario: "uac_rr.xml", port: P + 46, remote: `127.0.0.1:${P + 40}`, calls: 1, service: "erin", timeoutS: 20 });
      expect(r.failed, r.errors + r.stderr).toBe(0);
      expect(r.successful).toBe(1);
      expect(Date.now() - t0).toBeGreaterThanOrEqual(1400);
      await letTimePass(300, "the phones' sipp see the last messages before they are stopped");
    } finally {
      const a = await answer.stop();
      expect(a.successful, a.errors).toBe(1);
    }
  });
});
