import { appendFileSync, mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { cdrId, type BillingCdr } from "./cdr-record.js";
import { CdrSpool } from "./cdr-spool.js";

const cdr = (i: number) => ({ cdr_id: cdrId("n", `c${i}`, "ft", 1000 + i), call_id: `c${i}` }) as unknown as BillingCdr;

describe("CDR spool", () => {
  it("keeps CDRs across a reopen, skips a torn last line, and drops only acknowledged ones", () => {
    const path = join(mkdtempSync(join(tmpdir(), "olelo-spool-")), "cdrs.jsonl");
    const a = CdrSpool.open(path);
    for (let i = 0; i < 5; i++) a.append(cdr(i));
    a.append(cdr(0)); // same id: written once
    expect(a.size).toBe(5);
    a.close();
    appendFileSync(path, '{"cdr_id":"tor'); // a crash mid-write
    const b = CdrSpool.open(path);
    expect(b.skipped).toBe(1);
    expect(b.pending(10).map((c) => c.call_id)).toEqual(["c0", "c1", "c2", "c3", "c4"]);
    b.ack([cdr(0).cdr_id, cdr(1).cdr_id, "unknown"]);
    expect(readFileSync(path, "utf8").trim().split("\n")).toHaveLength(3);
    b.append(cdr(9));
    b.close();
    expect(CdrSpool.open(path).pending(10).map((c) => c.call_id)).toEqual(["c2", "c3", "c4", "c9"]);
  });

  it("the CDR id is stable for one call and differs for a new INVITE with the same Call-ID", () => {
    expect(cdrId("n", "c", "ft", 1)).toBe(cdrId("n", "c", "ft", 1));
    expect(cdrId("n", "c", "ft", 1)).not.toBe(cdrId("n", "c", "ft", 2));
    expect(cdrId("n", "c", "ft", 1)).not.toBe(cdrId("m", "c", "ft", 1));
  });
});
