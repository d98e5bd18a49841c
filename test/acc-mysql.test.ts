/**
 * The acc module end to end against a real MariaDB (databases olelo_test_acc_*): sipp calls
 * through a proxy with dialog + acc write Kamailio's acc rows for INVITE and BYE, a CDR whose
 * duration matches the call, missed_calls rows for failed calls, and keep calls flowing while
 * the database is unreachable (rows buffered, written once it is back). Call events are read
 * over the real control API. Ports: a block of 100 from test/kit/ports.ts (freePortBlock), P + offset.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { join } from "node:path";
import type mysql from "mysql2/promise";
import { startProxy, TEST_SCRIPTS } from "./helpers/proxy.js";
import { runSipp, startSippServer, type SippServer } from "./helpers/sipp.js";
import { EventStream, rpc, until } from "./scripts/dialog-control.js";
import { DbRelay, dropAccDb, freshAccDb, MYSQL_ROOT, rows } from "./scripts/dialog-acc-db.js";
import type { DataPlane } from "../data-plane/node.js";
import { freePortBlock } from "./kit/ports.js";

const P = await freePortBlock(100);

const DLG_SCRIPT = join(TEST_SCRIPTS, "dialog-test.ts");
const DB_EXTRA = "src_user=$fU;src_domain=$fd;src_ip=$si;dst_ouser=$tU;dst_user=$rU;dst_domain=$rd";
const CDR_EXTRA = "callid=$ci;from_tag=$ft;to_tag=$tt;src_user=$fU;dst_user=$rU;gateway=$dlg(gateway);sip_code=$dlg(code)";

describe("acc with dialog through the default script", () => {
  const DB = "olelo_test_acc_calls";
  const SIP = P;
  const CTL = P + 2;
  let db: mysql.Connection;
  let dp: DataPlane;
  let uas: SippServer;
  let stream: EventStream;
  beforeAll(async () => {
    db = await freshAccDb(DB);
    uas = await startSippServer({ scenario: "uas_rr.xml", port: P + 10 });
    dp = await startProxy({
      listen: [`udp:127.0.0.1:${SIP}`],
      script: { settings: { nextHop: `sip:127.0.0.1:${P + 10}` } },
      modules: {
        dialog: {},
        acc: { db_url: `${MYSQL_ROOT}/${DB}`, db_extra: DB_EXTRA, cdr_enable: 1, cdr_start_on_confirmed: 1, cdr_extra: CDR_EXTRA, db_flush_interval: 20 },
      },
      control: { listen: `127.0.0.1:${CTL}` },
    });
    stream = await EventStream.open(CTL, ["call.ended"]);
  });
  afterAll(async () => {
    stream?.close();
    await uas?.stop();
    await dp?.stop();
    await dropAccDb(db, DB);
  });

  it("writes acc rows for the INVITE and the BYE and a CDR with the call's duration", async () => {
    const r = await runSipp({ scenario: "dlg_uac_call.xml", port: P + 1, remote: `127.0.0.1:${SIP}`, calls: 1, service: "bob" });
    expect(r.failed, r.errors).toBe(0);
    const ended = (await stream.waitFor((e) => e.length === 1))[0]!.data;
    await until(async () => (await rows(db, "SELECT COUNT(*) n FROM acc"))[0].n === 2 && (await rows(db, "SELECT COUNT(*) n FROM acc_cdrs"))[0].n === 1, 5000, "acc rows and CDR");
    const acc = await rows(db, "SELECT method, from_tag, to_tag, callid, sip_code, sip_reason, UNIX_TIMESTAMP(time) t, src_user, src_domain, src_ip, dst_ouser, dst_user, dst_domain FROM acc ORDER BY id");
    const common = {
      from_tag: ended.from_tag,
      to_tag: ended.to_tag,
      callid: ended.call_id,
      sip_code: "200",
      sip_reason: "OK",
      src_user: "sipp",
      src_domain: "127.0.0.1",
      src_ip: "127.0.0.1",
      dst_ouser: "bob",
    };
    expect(acc[0]).toMatchObject({ ...common, method: "INVITE", dst_user: "bob", dst_domain: "127.0.0.1" });
    // the BYE is sent to the callee's Contact (no user part)
    expect(acc[1]).toMatchObject({ ...common, method: "BYE", dst_user: "", dst_domain: "127.0.0.1" });
    const answerS = new Date(ended.answer_time).getTime() / 1000;
    const endS = new Date(ended.end_time).getTime() / 1000;
    expect(Math.abs(Number(acc[0].t) - answerS)).toBeLessThanOrEqual(1);
    expect(Math.abs(Number(acc[1].t) - endS)).toBeLessThanOrEqual(1);
    const [cdr] = await rows(db, "SELECT UNIX_TIMESTAMP(start_time) s, UNIX_TIMESTAMP(end_time) e, duration, callid, from_tag, to_tag, src_user, dst_user, gateway, sip_code FROM acc_cdrs");
    expect(cdr).toMatchObject({ callid: ended.call_id, from_tag: ended.from_tag, to_tag: ended.to_tag, src_user: "sipp", dst_user: "bob", gateway: `sip:127.0.0.1:${P + 10}`, sip_code: "200" });
    // sipp holds the call 1000 ms; the CDR starts at the answer (cdr_start_on_confirmed)
    expect(cdr.duration).toBeCloseTo(ended.duration, 3);
    expect(cdr.duration).toBeGreaterThanOrEqual(0.99);
    expect(cdr.duration).toBeLessThan(2);
    expect(Number(cdr.s)).toBe(Math.floor(answerS));
    expect(Number(cdr.e)).toBe(Math.floor(endS));
    expect(await rows(db, "SELECT * FROM missed_calls")).toEqual([]);
    const st = await rpc(CTL, "stats.fetchn", ["acc:"]);
    expect(st).toMatchObject({ "acc.db_written": 3, "acc.db_queued": 0, "acc.acc_records": 2, "acc.cdr_records": 1 });
  });

  it("accounts 200 calls at 50 calls/s: one CDR and two acc rows each, no dialog left behind", async () => {
    const r = await runSipp({ scenario: "uac_rr.xml", port: P + 3, remote: `127.0.0.1:${SIP}`, calls: 200, rate: 50, service: "bob", timeoutS: 30 });
    expect(r.failed, r.errors).toBe(0);
    expect(r.successful).toBe(200);
    await until(async () => (await rows(db, "SELECT COUNT(*) n FROM acc_cdrs"))[0].n === 201, 10000, "201 CDRs");
    await until(async () => (await rows(db, "SELECT COUNT(*) n FROM acc"))[0].n === 402, 10000, "402 acc rows");
    const per = await rows(db, "SELECT callid, COUNT(*) n, SUM(method = 'INVITE') i, SUM(method = 'BYE') b FROM acc GROUP BY callid HAVING n <> 2 OR i <> 1 OR b <> 1");
    expect(per).toEqual([]);
    const orphans = await rows(db, "SELECT c.callid FROM acc_cdrs c LEFT JOIN acc a ON a.callid = c.callid WHERE a.id IS NULL");
    expect(orphans).toEqual([]);
    expect(await rpc(CTL, "dlg.stats_active")).toMatchObject({ all: 0 });
    expect(dp.stats.select("dialog:processed_dialogs")[0]![1]).toBe(201);
    expect(dp.stats.select("dialog:active_dialogs")[0]![1]).toBe(0);
  });
});

describe("acc: failed calls and missed_calls", () => {
  const DB = "olelo_test_acc_missed";
  const SIP = P + 20;
  const CTL = P + 22;
  let db: mysql.Connection;
  let dp: DataPlane;
  let uas: SippServer;
  let stream: EventStream;
  beforeAll(async () => {
    db = await freshAccDb(DB);
    uas = await startSippServer({ scenario: "uas_486.xml", port: P + 30 });
    dp = await startProxy({
      listen: [`udp:127.0.0.1:${SIP}`],
      script: { file: DLG_SCRIPT, settings: { target: `sip:127.0.0.1:${P + 30}` } },
      modules: { dialog: {}, acc: { db_url: `${MYSQL_ROOT}/${DB}`, db_extra: DB_EXTRA, cdr_enable: 1, cdr_extra: CDR_EXTRA, db_flush_interval: 20 } },
      control: { listen: `127.0.0.1:${CTL}` },
    });
    stream = await EventStream.open(CTL, ["call.ended"]);
  });
  afterAll(async () => {
    stream?.close();
    await uas?.stop();
    await dp?.stop();
    await dropAccDb(db, DB);
  });

  it("a 486 gives call.ended 486, a missed_calls row and a zero-length CDR, but no acc row", async () => {
    const r = await runSipp({ scenario: "uac_expect.xml", port: P + 21, remote: `127.0.0.1:${SIP}`, calls: 1, service: "bob", templ: { code: "486" } });
    expect(r.failed, r.errors).toBe(0);
    const ended = (await stream.waitFor((e) => e.length === 1))[0]!.data;
    expect(ended).toMatchObject({ code: 486, reason: "Busy Here", ended_by: "callee" });
    await until(async () => (await rows(db, "SELECT COUNT(*) n FROM missed_calls"))[0].n === 1 && (await rows(db, "SELECT COUNT(*) n FROM acc_cdrs"))[0].n === 1, 5000, "missed call row and CDR");
    const [mc] = await rows(db, "SELECT * FROM missed_calls");
    expect(mc).toMatchObject({ method: "INVITE", callid: ended.call_id, from_tag: ended.from_tag, to_tag: ended.to_tag, sip_code: "486", sip_reason: "Busy Here", src_user: "sipp", dst_user: "bob" });
    expect(ended.to_tag).toMatch(/SIPpTag011$/);
    const [cdr] = await rows(db, "SELECT duration, sip_code, callid FROM acc_cdrs");
    expect(cdr).toMatchObject({ duration: 0, sip_code: "486", callid: ended.call_id });
    // failed_transaction_flag is not set on INVITEs by the script: no acc row for the 486
    expect(await rows(db, "SELECT * FROM acc")).toEqual([]);
  });
});

describe("acc: the database goes away and comes back", () => {
  const DB = "olelo_test_acc_outage";
  const SIP = P + 40;
  const RELAY = P + 90;
  let db: mysql.Connection;
  let dp: DataPlane;
  let uas: SippServer;
  const relay = new DbRelay(RELAY);
  beforeAll(async () => {
    db = await freshAccDb(DB);
    uas = await startSippServer({ scenario: "uas_rr.xml", port: P + 50 });
    // the relay starts down: the node comes up with an unreachable database
    dp = await startProxy({
      listen: [`udp:127.0.0.1:${SIP}`],
      script: { file: DLG_SCRIPT, settings: { target: `sip:127.0.0.1:${P + 50}` } },
      modules: { dialog: {}, acc: { db_url: `mysql://root@127.0.0.1:${RELAY}/${DB}`, db_extra: DB_EXTRA, cdr_enable: 1, db_flush_interval: 20, db_retry_interval: 100 } },
    });
  });
  afterAll(async () => {
    await uas?.stop();
    await dp?.stop();
    await relay.down();
    await dropAccDb(db, DB);
  });

  const accStat = (n: string) => dp.stats.select(`acc:${n}`)[0]?.[1] ?? -1;

  it("keeps calls flowing, buffers the rows, and writes them all once the database is back", async () => {
    const r = await runSipp({ scenario: "uac_rr.xml", port: P + 41, remote: `127.0.0.1:${SIP}`, calls: 5, rate: 20, service: "bob" });
    expect(r.failed, r.errors).toBe(0);
    expect(r.successful).toBe(5);
    // 5 × (INVITE + BYE) acc rows + 5 CDRs waiting
    await until(() => accStat("db_queued") === 15, 5000, "15 rows queued");
    expect(accStat("db_errors")).toBeGreaterThan(0);
    expect(accStat("db_written")).toBe(0);
    await relay.up();
    await until(() => accStat("db_queued") === 0, 15000, "queue drained");
    expect(accStat("db_written")).toBe(15);
    expect((await rows(db, "SELECT COUNT(*) n FROM acc"))[0].n).toBe(10);
    expect((await rows(db, "SELECT COUNT(*) n FROM acc_cdrs"))[0].n).toBe(5);
    expect(accStat("db_dropped")).toBe(0);
    // cut again while connected: the pool's connections die, rows buffer and are retried
    await relay.down();
    const r2 = await runSipp({ scenario: "uac_rr.xml", port: P + 42, remote: `127.0.0.1:${SIP}`, calls: 2, rate: 20, service: "bob" });
    expect(r2.successful, r2.errors).toBe(2);
    await until(() => accStat("db_queued") === 6, 5000, "6 rows queued");
    await relay.up();
    await until(() => accStat("db_queued") === 0, 15000, "queue drained again");
    expect((await rows(db, "SELECT COUNT(*) n FROM acc"))[0].n).toBe(14);
    expect((await rows(db, "SELECT COUNT(*) n FROM acc_cdrs"))[0].n).toBe(7);
  });
});
