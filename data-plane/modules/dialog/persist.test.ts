/**
 * db_mode 1 after a crash, against MariaDB: the journal is the truth when its file exists, so a
 * row whose delete was still queued when the node died is removed at start (it is not restored
 * as a live call), a dialog whose insert was lost gets its row back, and other nodes' rows stay.
 */
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import mysql from "mysql2/promise";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { EventBus, StatsRegistry, createLogger } from "../../core/api.js";
import { fakeUac } from "../../testing/dialog-fakes.js";
import { DialogJournal } from "./journal.js";
import { DialogManager } from "./manager.js";
import { parseDialogParams } from "./params.js";
import { DialogPersistence } from "./persist.js";
import { restoreDialogs } from "./restore.js";
import type { StoredDialog } from "./db-store.js";

const DB = "olelo_test_dlg_persist";
const URL = `mysql://root@127.0.0.1:3306/${DB}`;
let admin: mysql.Connection;

const row = (hEntry: number, hId: number, node: string, callId: string) => [
  hEntry, hId, callId, "sip:a@x", "ft", "sip:b@y", "tt", "1", "1", "", "", "sip:a@127.0.0.1:5070", "sip:b@127.0.0.1:5080",
  "udp:127.0.0.1:5060", "udp:127.0.0.1:5060", 4, Math.floor(Date.now() / 1000), Math.floor(Date.now() / 1000) + 3600, 0, 0, "sip:b@y",
  JSON.stringify({ n: node, i: Date.now(), s: Date.now(), a: Date.now(), lt: 3600, src: "udp:127.0.0.1:5070", gw: null, gd: null, ga: null, c: 200, r: "OK" }),
];

async function insert(r: unknown[]): Promise<void> {
  await admin.query(
    "INSERT INTO dialog (hash_entry, hash_id, callid, from_uri, from_tag, to_uri, to_tag, caller_cseq, callee_cseq, caller_route_set, callee_route_set, " +
      "caller_contact, callee_contact, caller_sock, callee_sock, state, start_time, timeout, sflags, iflags, req_uri, xdata) VALUES (?)",
    [r],
  );
  await admin.query("INSERT INTO dialog_vars (hash_entry, hash_id, dialog_key, dialog_value) VALUES (?, ?, 'k', 'v')", [r[0], r[1]]);
}

const callIds = async () => ((await admin.query<mysql.RowDataPacket[]>("SELECT callid FROM dialog ORDER BY callid"))[0]).map((r) => String(r.callid));
const varRows = async () => Number((await admin.query<mysql.RowDataPacket[]>("SELECT COUNT(*) n FROM dialog_vars"))[0][0]!.n);

function manager(): DialogManager {
  return new DialogManager(parseDialogParams({}), { events: new EventBus("node-a"), log: createLogger("dialog-test"), stats: new StatsRegistry().group("dialog"), sip: fakeUac() });
}

beforeAll(async () => {
  admin = await mysql.createConnection({ uri: "mysql://root@127.0.0.1:3306/" });
  await admin.query(`DROP DATABASE IF EXISTS ${DB}`);
  await admin.query(`CREATE DATABASE ${DB}`);
  await admin.query(`USE ${DB}`);
  const ddl = readFileSync(join(import.meta.dirname, "../../../control-plane/drizzle/0004_olelo_billing.sql"), "utf8")
    .split("--> statement-breakpoint")
    .filter((s) => /CREATE TABLE IF NOT EXISTS `dialog(_vars)?`/.test(s));
  expect(ddl).toHaveLength(2);
  for (const s of ddl) await admin.query(s);
});

afterAll(async () => {
  await admin.query(`DROP DATABASE IF EXISTS ${DB}`);
  await admin.end();
});

describe("dialog persistence at start (db_mode 1)", () => {
  it("with a journal file and no call up, this node's leftover rows are deleted and not restored; other nodes' rows stay", async () => {
    await admin.query("DELETE FROM dialog");
    await admin.query("DELETE FROM dialog_vars");
    await insert(row(1, 1, "node-a", "ended-before-crash"));
    await insert(row(2, 2, "node-b", "other-node"));
    const dir = mkdtempSync(join(tmpdir(), "olelo-dlg-persist-"));
    writeFileSync(join(dir, "dialogs.jsonl"), ""); // every call of the journal had ended
    const p = DialogPersistence.open(URL, join(dir, "dialogs.jsonl"), "node-a", createLogger("dialog-test"));
    const m = manager();
    const restored = restoreDialogs(m, await p.load());
    expect(restored).toEqual([]);
    p.resync(restored);
    await p.close();
    m.close();
    expect(await callIds()).toEqual(["other-node"]);
    expect(await varRows()).toBe(1);
  });

  it("without a journal file (a new disk) the node takes its calls over from the database", async () => {
    await admin.query("DELETE FROM dialog");
    await admin.query("DELETE FROM dialog_vars");
    await insert(row(3, 3, "node-a", "mine"));
    await insert(row(4, 4, "node-b", "theirs"));
    const dir = mkdtempSync(join(tmpdir(), "olelo-dlg-persist-"));
    const p = DialogPersistence.open(URL, join(dir, "dialogs.jsonl"), "node-a", createLogger("dialog-test"));
    const m = manager();
    const restored = restoreDialogs(m, await p.load());
    expect(restored.map((d) => d.callId)).toEqual(["mine"]);
    expect(restored[0]!.vars?.get("k")).toBe("v");
    p.resync(restored);
    await p.close();
    m.close();
    expect(await callIds()).toEqual(["mine", "theirs"]);
  });

  it("a journaled call whose row insert was lost gets its row back; a stale row of this node goes", async () => {
    await admin.query("DELETE FROM dialog");
    await admin.query("DELETE FROM dialog_vars");
    await insert(row(5, 5, "node-a", "stale"));
    const dir = mkdtempSync(join(tmpdir(), "olelo-dlg-persist-"));
    const path = join(dir, "dialogs.jsonl");
    // the journal line of a confirmed call (what the node fdatasync'd before the crash)
    const j = DialogJournal.open(path);
    const r = row(6, 6, "node-a", "journaled");
    const s: StoredDialog = {
      hEntry: 6, hId: 6, callId: "journaled", fromUri: "sip:a@x", fromTag: "ft", toUri: "sip:b@y", toTag: "tt", callerCseq: 1, calleeCseq: 1,
      callerRouteSet: [], calleeRouteSet: [], callerContact: "sip:a@127.0.0.1:5070", calleeContact: "sip:b@127.0.0.1:5080",
      callerSock: "udp:127.0.0.1:5060", calleeSock: "udp:127.0.0.1:5060", state: 4, timeoutAt: Date.now() + 3_600_000, sflags: 0, iflags: 0,
      reqUri: "sip:b@y", x: JSON.parse(String(r[21])), vars: new Map([["acct", "sipp"]]),
    };
    j.save(s);
    j.close();
    const p = DialogPersistence.open(URL, path, "node-a", createLogger("dialog-test"));
    const m = manager();
    const restored = restoreDialogs(m, await p.load());
    expect(restored.map((d) => d.callId)).toEqual(["journaled"]);
    p.resync(restored);
    await p.close();
    m.close();
    expect(await callIds()).toEqual(["journaled"]);
    const [v] = await admin.query<mysql.RowDataPacket[]>("SELECT hash_entry, dialog_key, dialog_value FROM dialog_vars");
    expect(v.map((x) => [Number(x.hash_entry), x.dialog_key, x.dialog_value])).toEqual([[6, "acct", "sipp"]]);
  });
});
