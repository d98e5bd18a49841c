/**
 * acc in standalone mode (no database): a sipp call through a proxy with dialog + acc writes
 * its transaction records and its CDR as JSON lines to `log_file`. Ports: a block of 100 from test/kit/ports.ts (freePortBlock), P + offset.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { mkdtempSync, readFileSync, existsSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startProxy, TEST_SCRIPTS } from "./helpers/proxy.js";
import { runSipp, startSippServer, type SippServer } from "./helpers/sipp.js";
import { until } from "./scripts/dialog-control.js";
import type { DataPlane } from "../data-plane/node.js";
import type { OleloEvent } from "../data-plane/core/events/bus.js";
import { freePortBlock } from "./kit/ports.js";

const P = await freePortBlock(100);

describe("acc JSON-lines file backend", () => {
  const SIP = P;
  const file = join(mkdtempSync(join(tmpdir(), "olelo-acc-")), "acc.jsonl");
  let dp: DataPlane;
  let uas: SippServer;
  beforeAll(async () => {
    uas = await startSippServer({ scenario: "uas_rr.xml", port: P + 10 });
    dp = await startProxy({
      listen: [`udp:127.0.0.1:${SIP}`],
      script: { file: join(TEST_SCRIPTS, "dialog-test.ts"), settings: { target: `sip:127.0.0.1:${P + 10}` } },
      modules: { dialog: {}, acc: { log_file: file, log_extra: "src_user=$fU;dst_user=$rU", cdr_enable: 1, cdr_extra: "callid=$ci;account=$dlg_var(account);gateway=$dlg(gateway)" } },
    });
  });
  afterAll(async () => {
    await uas?.stop();
    await dp?.stop();
  });

  const lines = () => (existsSync(file) ? readFileSync(file, "utf8").trim().split("\n").filter(Boolean).map((l) => JSON.parse(l)) : []);

  it("writes acc records for INVITE and BYE and one CDR per call", async () => {
    const ended: OleloEvent[] = [];
    dp.events.subscribe(["call.ended"], (e) => ended.push(e));
    const r = await runSipp({ scenario: "dlg_uac_call.xml", port: P + 1, remote: `127.0.0.1:${SIP}`, calls: 1, service: "bob" });
    expect(r.failed, r.errors).toBe(0);
    await until(() => lines().length === 3, 5000, "3 lines in the accounting file");
    const all = lines();
    // the CDR is written when the BYE arrives, the BYE's acc record when its 200 goes back
    expect(all.map((l) => l.type + ":" + (l.method ?? ""))).toEqual(["acc:INVITE", "cdr:", "acc:BYE"]);
    const [invite, cdr, bye] = all;
    const ev = ended[0]!.data;
    expect(invite).toMatchObject({ type: "acc", method: "INVITE", sip_code: "200", sip_reason: "OK", callid: ev.call_id, from_tag: ev.from_tag, to_tag: ev.to_tag, src_user: "sipp", dst_user: "bob" });
    expect(bye).toMatchObject({ type: "acc", method: "BYE", sip_code: "200", callid: ev.call_id });
    expect(cdr).toMatchObject({ type: "cdr", callid: ev.call_id, account: "sipp", gateway: `sip:127.0.0.1:${P + 10}`, start_time: ev.start_time, end_time: ev.end_time });
    // cdr_start_on_confirmed 0 (Kamailio's default): the CDR runs from the INVITE
    const expected = (new Date(ev.end_time as string).getTime() - new Date(ev.start_time as string).getTime()) / 1000;
    expect(cdr.duration).toBeCloseTo(expected, 3);
    expect(cdr.duration).toBeGreaterThanOrEqual(ev.duration as number);
    expect(cdr.duration).toBeLessThan(2);
    expect(new Date(invite.time).getTime()).toBeGreaterThan(0);
  });
});
