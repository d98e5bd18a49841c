import { describe, expect, it } from "vitest";
import { parseAccParams } from "./params.js";

describe("parseAccParams", () => {
  it("defaults to the flags of Kamailio's default cfg; db flags only with a db_url", () => {
    const p = parseAccParams({});
    expect(p).toMatchObject({ log_flag: 1, log_missed_flag: 2, failed_transaction_flag: 3, db_flag: -1, db_missed_flag: -1, cdr_enable: false, cdr_on_failed: true, cdrs_table: "acc_cdrs", db_table_acc: "acc", db_table_missed_calls: "missed_calls" });
    expect(parseAccParams({ db_url: "mysql://u@h/db" })).toMatchObject({ db_flag: 1, db_missed_flag: 2 });
    expect(parseAccParams({ db_url: "mysql://u@h/db", db_flag: -1, log_flag: "-1" })).toMatchObject({ db_flag: -1, log_flag: -1 });
  });

  it("resolves log_file and parses failed_filter", () => {
    const p = parseAccParams({ log_file: "acc.jsonl", failed_filter: "404, 407" }, (x) => `/base/${x}`);
    expect(p.log_file).toBe("/base/acc.jsonl");
    expect(p.failed_filter).toEqual([404, 407]);
  });

  it("names the bad parameter", () => {
    expect(() => parseAccParams({ nope: 1 })).toThrow("unknown parameter 'nope'");
    expect(() => parseAccParams({ log_flag: 32 })).toThrow(/log_flag/);
    expect(() => parseAccParams({ db_url: "postgres://x" })).toThrow(/db_url/);
    expect(() => parseAccParams({ db_table_acc: "acc; drop" })).toThrow(/db_table_acc/);
    expect(() => parseAccParams({ failed_filter: "200" })).toThrow(/failed_filter/);
    expect(() => parseAccParams({ report_cancels: 1 })).toThrow(/report_cancels is not supported/);
    expect(parseAccParams({ report_ack: 0 }).log_flag).toBe(1);
    expect(() => parseAccParams({ cdr_enable: "sometimes" })).toThrow(/cdr_enable/);
  });
});
