import { describe, expect, it } from "vitest";
import { civilFromDays, createCalendar, daysFromCivil, isoWeek } from "./calendar.js";
import { TimeRecError, matchTimeRec, parseTimeRec } from "./timerec.js";

const UTC = createCalendar("UTC");
/** Unix seconds of a UTC wall time. */
const at = (y: number, mo: number, d: number, h = 0, mi = 0, s = 0) => Date.UTC(y, mo - 1, d, h, mi, s) / 1000;
const m = (rec: string, t: number, cal = UTC) => matchTimeRec(parseTimeRec(rec), t, cal);

describe("calendar arithmetic", () => {
  it("day numbers round-trip across leap years and centuries", () => {
    for (const [y, mo, d] of [
      [1970, 1, 1],
      [2000, 2, 29],
      [2100, 2, 28],
      [2024, 12, 31],
      [1600, 3, 1],
    ] as const) {
      const n = daysFromCivil(y, mo, d);
      expect(n).toBe(Math.round(Date.UTC(y, mo - 1, d) / 86400000));
      expect(civilFromDays(n)).toEqual({ year: y, month: mo, day: d });
    }
  });

  it("ISO weeks", () => {
    expect(isoWeek(daysFromCivil(2024, 1, 1))).toMatchObject({ week: 1, weekYear: 2024, weeksInYear: 52 });
    expect(isoWeek(daysFromCivil(2024, 12, 30))).toMatchObject({ week: 1, weekYear: 2025 });
    expect(isoWeek(daysFromCivil(2021, 1, 3))).toMatchObject({ week: 53, weekYear: 2020, weeksInYear: 53 });
  });

  it("an IANA zone maps wall time to instants, moving DST-gap times forward", () => {
    const berlin = createCalendar("Europe/Berlin");
    expect(berlin.epoch(2024, 7, 1, 8, 30, 0)).toBe(at(2024, 7, 1, 6, 30));
    expect(berlin.epoch(2024, 1, 1, 8, 30, 0)).toBe(at(2024, 1, 1, 7, 30));
    // 2024-03-31 02:30 does not exist in Berlin: becomes 03:30 CEST = 01:30 UTC
    expect(berlin.epoch(2024, 3, 31, 2, 30, 0)).toBe(at(2024, 3, 31, 1, 30));
    // 2024-10-27 02:30 happens twice: the first one (CEST, 00:30 UTC)
    expect(berlin.epoch(2024, 10, 27, 2, 30, 0)).toBe(at(2024, 10, 27, 0, 30));
    expect(berlin.fields(at(2024, 7, 1, 6, 30))).toEqual({ year: 2024, month: 7, day: 1, hour: 8, minute: 30, second: 0 });
    expect(() => createCalendar("Mars/Olympus")).toThrow(/unknown time zone/);
  });
});

describe("timerec matching at boundaries", () => {
  const workdays = "20040101T083000|10H|weekly|||MO,TU,WE,TH,FR";

  it("weekdays 08:30 for ten hours, half-open", () => {
    expect(m(workdays, at(2024, 1, 15, 8, 30, 0))).toBe(true); // Monday, start
    expect(m(workdays, at(2024, 1, 15, 8, 29, 59))).toBe(false);
    expect(m(workdays, at(2024, 1, 15, 18, 29, 59))).toBe(true);
    expect(m(workdays, at(2024, 1, 15, 18, 30, 0))).toBe(false); // exactly at the end of the duration
    expect(m(workdays, at(2024, 1, 19, 12))).toBe(true); // Friday
    expect(m(workdays, at(2024, 1, 20, 12))).toBe(false); // Saturday
    expect(m(workdays, at(2003, 12, 31, 12))).toBe(false); // before dtstart
  });

  it("the first occurrence is dtstart itself, even off the BYDAY days", () => {
    const r = "20240106T100000|1H|weekly|||MO"; // dtstart is a Saturday
    expect(m(r, at(2024, 1, 6, 10, 30))).toBe(true);
    expect(m(r, at(2024, 1, 6, 11, 0))).toBe(false);
    expect(m(r, at(2024, 1, 8, 10, 30))).toBe(true);
    expect(m(r, at(2024, 1, 13, 10, 30))).toBe(false);
  });

  it("an occurrence running past midnight still matches the next morning", () => {
    const r = "20240101T220000|4H|daily";
    expect(m(r, at(2024, 3, 5, 1, 59, 59))).toBe(true);
    expect(m(r, at(2024, 3, 5, 2, 0, 0))).toBe(false);
    expect(m(r, at(2024, 3, 5, 21, 59, 59))).toBe(false);
    expect(m(r, at(2024, 3, 5, 22, 0, 0))).toBe(true);
  });

  it("until is inclusive for the occurrence start; a DATE until covers the whole day", () => {
    const r = "20240101T090000|1H|daily|20240110T090000";
    expect(m(r, at(2024, 1, 10, 9, 30))).toBe(true);
    expect(m(r, at(2024, 1, 11, 9, 30))).toBe(false);
    const d = "20240101T090000|1H|daily|20240110";
    expect(m(d, at(2024, 1, 10, 9, 59, 59))).toBe(true);
    expect(m(d, at(2024, 1, 11, 9, 0))).toBe(false);
  });

  it("interval counts days, Monday-based weeks, months and years from dtstart", () => {
    const every3 = "20240101T000000|1H|daily||3";
    expect([1, 2, 3, 4, 5, 6, 7].map((d) => m(every3, at(2024, 1, d, 0, 30)))).toEqual([true, false, false, true, false, false, true]);
    const biweekly = "20240101T100000|1H|weekly||2|MO,WE";
    expect(m(biweekly, at(2024, 1, 3, 10, 30))).toBe(true);
    expect(m(biweekly, at(2024, 1, 8, 10, 30))).toBe(false);
    expect(m(biweekly, at(2024, 1, 10, 10, 30))).toBe(false);
    expect(m(biweekly, at(2024, 1, 15, 10, 30))).toBe(true);
    const bimonthly = "20240115T000000|P1D|monthly||2";
    expect(m(bimonthly, at(2024, 3, 15, 5))).toBe(true);
    expect(m(bimonthly, at(2024, 2, 15, 5))).toBe(false);
    expect(m(bimonthly, at(2024, 3, 16, 5))).toBe(false);
  });

  it("bymonthday -1 is the last day of every month, leap years included", () => {
    const r = "20240101T000000|P1D|monthly||||-1";
    expect(m(r, at(2024, 1, 31, 12))).toBe(true);
    expect(m(r, at(2024, 2, 29, 12))).toBe(true);
    expect(m(r, at(2024, 2, 28, 12))).toBe(false);
    expect(m(r, at(2025, 2, 28, 12))).toBe(true);
    expect(m(r, at(2024, 4, 30, 12))).toBe(true);
    expect(m(r, at(2024, 4, 29, 12))).toBe(false);
  });

  it("monthly dtstart on the 31st skips shorter months", () => {
    const r = "20240131T120000|1H|monthly";
    expect(m(r, at(2024, 3, 31, 12, 30))).toBe(true);
    expect(m(r, at(2024, 4, 30, 12, 30))).toBe(false);
    expect(m(r, at(2024, 2, 29, 12, 30))).toBe(false);
  });

  it("byday with ordinals: -1MO and +1MO in a month, 20MO and -1MO in a year", () => {
    const last = "20240101T000000|P1D|monthly|||-1MO";
    expect(m(last, at(2024, 1, 29, 9))).toBe(true);
    expect(m(last, at(2024, 1, 22, 9))).toBe(false);
    expect(m(last, at(2024, 2, 26, 9))).toBe(true);
    const first = "20240101T000000|P1D|monthly|||+1MO";
    expect(m(first, at(2024, 2, 5, 9))).toBe(true);
    expect(m(first, at(2024, 2, 12, 9))).toBe(false);
    const y20 = "20240101T000000|P1D|yearly|||20MO";
    expect(m(y20, at(2024, 5, 13, 9))).toBe(true);
    expect(m(y20, at(2024, 5, 6, 9))).toBe(false);
    expect(m("20240101T000000|P1D|yearly|||-1MO", at(2024, 12, 30, 9))).toBe(true);
  });

  it("yearly with bymonth counts byday ordinals within the month (last Sunday of March and October)", () => {
    const r = "20240101T000000|P1D|yearly|||-1SU||||3,10";
    expect(m(r, at(2024, 3, 31, 9))).toBe(true);
    expect(m(r, at(2024, 10, 27, 9))).toBe(true);
    expect(m(r, at(2024, 3, 24, 9))).toBe(false);
    expect(m(r, at(2024, 4, 28, 9))).toBe(false);
  });

  it("byyearday counts from either end of the year", () => {
    const last = "20240101T000000|P1D|yearly|||||-1";
    expect(m(last, at(2024, 12, 31, 1))).toBe(true);
    expect(m(last, at(2024, 12, 30, 1))).toBe(false);
    expect(m(last, at(2025, 12, 31, 1))).toBe(true);
    const day60 = "20240101T000000|P1D|yearly|||||60";
    expect(m(day60, at(2024, 2, 29, 1))).toBe(true);
    expect(m(day60, at(2025, 3, 1, 1))).toBe(true);
    expect(m(day60, at(2025, 2, 28, 1))).toBe(false);
  });

  it("byweekno uses ISO weeks; -1 is the last week", () => {
    const wk1 = "20240101T000000|P1D|yearly|||MO,TU,WE,TH,FR,SA,SU|||1";
    expect(m(wk1, at(2024, 1, 7, 1))).toBe(true);
    expect(m(wk1, at(2024, 1, 8, 1))).toBe(false);
    expect(m(wk1, at(2024, 12, 30, 1))).toBe(true); // ISO week 1 of 2025
    const lastWeekMonday = "20240101T000000|P1D|yearly||||||-1";
    expect(m(lastWeekMonday, at(2024, 12, 23, 1))).toBe(true);
    expect(m(lastWeekMonday, at(2024, 12, 24, 1))).toBe(false); // only dtstart's weekday without BYDAY
  });

  it("bymonth -1 is December", () => {
    const r = "20240101T000000|P1D|daily|||||||-1";
    expect(m(r, at(2024, 12, 5, 1))).toBe(true);
    expect(m(r, at(2024, 11, 5, 1))).toBe(false);
  });

  it("no duration: every instant from dtstart on; empty timerec: always", () => {
    expect(m("20300101T000000", at(2029, 12, 31, 23, 59, 59))).toBe(false);
    expect(m("20300101T000000", at(2030, 1, 1))).toBe(true);
    expect(m("20300101T000000|0|weekly", at(2040, 1, 1))).toBe(true);
    expect(m("", at(1999, 1, 1))).toBe(true);
    expect(parseTimeRec("  ")).toBeNull();
  });

  it("a single occurrence without freq", () => {
    const r = "20240301T100000|PT1H30M";
    expect(m(r, at(2024, 3, 1, 11, 29, 59))).toBe(true);
    expect(m(r, at(2024, 3, 1, 11, 30))).toBe(false);
    expect(m(r, at(2024, 3, 2, 10, 30))).toBe(false);
  });

  it("is evaluated in the configured zone, and Z pins dtstart to UTC", () => {
    const berlin = createCalendar("Europe/Berlin");
    const r = "20240101T083000|10H|daily";
    expect(m(r, at(2024, 7, 1, 6, 30), berlin)).toBe(true);
    expect(m(r, at(2024, 7, 1, 6, 29, 59), berlin)).toBe(false);
    expect(m(r, at(2024, 7, 1, 16, 29, 59), berlin)).toBe(true);
    expect(m(r, at(2024, 7, 1, 16, 30), berlin)).toBe(false);
    expect(m(r, at(2024, 1, 10, 7, 30), berlin)).toBe(true); // winter: 08:30 CET = 07:30 UTC
    // on the spring-forward day 02:00 does not exist; the occurrence starts at 03:00 CEST
    expect(m("20240101T020000|1H|daily", at(2024, 3, 31, 1, 30), berlin)).toBe(true);
    expect(m("20240101T083000Z|1H|daily", at(2024, 7, 1, 8, 45), berlin)).toBe(true);
  });
});

describe("timerec parse errors", () => {
  const bad: Array<[string, RegExp]> = [
    ["2024-01-01|1H|daily", /dtstart: '2024-01-01' is not a DATE-TIME/],
    ["20241301T000000|1H", /month 13/],
    ["20230229T000000|1H", /day 29 .*has 28/],
    ["20240101T250000|1H", /time of day/],
    ["20240101T000000|3600|daily", /duration: '3600' is not a duration/],
    ["20240101T000000|P|daily", /not a duration/],
    ["20240101T000000|1H|hourly", /freq: 'hourly'/],
    ["20240101T000000|1H|daily||0", /interval: 0/],
    ["20240101T000000|1H|weekly|||XX", /byday: 'XX'/],
    ["20240101T000000|1H|weekly|||1MO", /ordinal needs freq monthly or yearly/],
    ["20240101T000000|1H|monthly||||32", /bymonthday: 32/],
    ["20240101T000000|1H|yearly||||||54", /byweekno: 54/],
    ["20240101T000000|1H|monthly||||||1", /byweekno: is only allowed with freq yearly/],
    ["20240101T000000|1H|yearly|||||||13", /bymonth: 13/],
    ["20240101T000000|1H|daily|20231231T000000", /until: is before dtstart/],
    ["|1H|weekly|||MO", /dtstart: is empty but other fields/],
    ["20240101T000000|1H||||MO", /freq: is empty but recurrence fields/],
    ["20240101T000000|1H|daily|||||||1|x", /at most 10/],
  ];
  for (const [rec, msg] of bad) {
    it(rec, () => {
      expect(() => parseTimeRec(rec)).toThrow(TimeRecError);
      expect(() => parseTimeRec(rec)).toThrow(msg);
    });
  }
});
