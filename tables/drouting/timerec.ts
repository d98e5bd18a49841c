import {
  civilFromDays,
  daysFromCivil,
  daysInMonth,
  isLeapYear,
  isoWeek,
  weekdayOfDays,
  type Calendar,
  type LocalFields,
} from "./calendar.js";

/**
 * dr_rules.timerec: the CPL/iCalendar (RFC 2445 §4.3.10, §4.8.5.4) recurrence subset drouting
 * uses, written as pipe-separated positional fields:
 *
 *   dtstart|duration|freq|until|interval|byday|bymonthday|byyearday|byweekno|bymonth
 *
 * e.g. `20040101T083000|10H|weekly|||MO,TU,WE,TH,FR` (working days, 08:30 for 10 hours).
 * An empty timerec always matches. Times are wall-clock times in the rule's calendar (the proxy's
 * local time unless configured otherwise); a trailing `Z` makes dtstart/until UTC.
 *
 * Semantics (RFC 2445, which Kamailio's dr_time.c approximates — see README for where we differ):
 * - before dtstart: no match; duration 0 / empty: every instant from dtstart on matches;
 * - an occurrence lasts `duration` from its start, half-open: [start, start + duration);
 * - dtstart itself is the first occurrence; later occurrences start at dtstart's time of day on
 *   days the rule selects: freq + interval (daily: every n-th day; weekly: every n-th week,
 *   weeks start on Monday; monthly/yearly: every n-th month/year), then the BYxxx filters;
 *   without BYDAY/BYMONTHDAY/BYYEARDAY the day is dtstart's weekday (weekly), day of month
 *   (monthly, BYMONTH) or date (yearly);
 * - BYMONTH 1..12 (-1 = December), BYWEEKNO ISO weeks ±1..53 (yearly only), BYYEARDAY ±1..366,
 *   BYMONTHDAY ±1..31 (-1 = last day), BYDAY MO..SU with an optional ±n ordinal within the
 *   month (monthly, or yearly with BYMONTH) or the year (yearly); negative = from the end;
 * - until: occurrences starting after it do not happen (inclusive; a DATE means the whole day).
 */

export type Freq = "none" | "daily" | "weekly" | "monthly" | "yearly";

export interface LocalDateTime extends LocalFields {
  /** Written with a trailing Z: UTC instead of the rule calendar. */
  readonly utc: boolean;
}

export interface ByDay {
  /** 0 = Sunday … 6 = Saturday */
  readonly wday: number;
  /** 0 = every such weekday; ±n = the n-th (from the end when negative) */
  readonly n: number;
}

export interface TimeRec {
  readonly text: string;
  readonly dtstart: LocalDateTime;
  /** Seconds; 0 = for ever. */
  readonly duration: number;
  readonly freq: Freq;
  readonly until: LocalDateTime | null;
  readonly interval: number;
  readonly byday: readonly ByDay[] | null;
  readonly bymonthday: readonly number[] | null;
  readonly byyearday: readonly number[] | null;
  readonly byweekno: readonly number[] | null;
  readonly bymonth: readonly number[] | null;
}

/** A timerec that cannot be used; `field` names the positional field. */
export class TimeRecError extends Error {
  override readonly name = "TimeRecError";
  constructor(
    readonly field: string,
    reason: string,
  ) {
    super(`${field}: ${reason}`);
  }
}

const FIELDS = ["dtstart", "duration", "freq", "until", "interval", "byday", "bymonthday", "byyearday", "byweekno", "bymonth"] as const;
const WDAYS: Record<string, number> = { SU: 0, MO: 1, TU: 2, WE: 3, TH: 4, FR: 5, SA: 6 };

/** Parses a timerec; null for an empty one (always matches). Throws TimeRecError. */
export function parseTimeRec(text: string): TimeRec | null {
  const raw = text.trim();
  if (raw === "") return null;
  const parts = raw.split("|").map((p) => p.trim());
  if (parts.length > FIELDS.length) throw new TimeRecError("timerec", `has ${parts.length} fields, at most ${FIELDS.length}`);
  const f = (i: number) => parts[i] ?? "";
  if (f(0) === "") {
    if (parts.some((p) => p !== "")) throw new TimeRecError("dtstart", "is empty but other fields are set (Kamailio would then match always)");
    return null;
  }
  const dtstart = parseDateTime(f(0), "dtstart", false);
  const duration = parseDuration(f(1));
  const freq = parseFreq(f(2));
  const until = f(3) === "" ? null : parseDateTime(f(3), "until", true);
  const interval = f(4) === "" ? 1 : parsePositive(f(4), "interval", 1, 100000);
  const byday = f(5) === "" ? null : parseByDay(f(5), freq);
  const bymonthday = f(6) === "" ? null : parseList(f(6), "bymonthday", 31);
  const byyearday = f(7) === "" ? null : parseList(f(7), "byyearday", 366);
  const byweekno = f(8) === "" ? null : parseList(f(8), "byweekno", 53);
  const bymonth = f(9) === "" ? null : parseList(f(9), "bymonth", 12);
  if (byweekno !== null && freq !== "yearly") throw new TimeRecError("byweekno", "is only allowed with freq yearly");
  if (freq === "none" && (byday || bymonthday || byyearday || byweekno || bymonth || until || f(4) !== "")) {
    throw new TimeRecError("freq", "is empty but recurrence fields are set");
  }
  if (until !== null && compareLocal(until, dtstart) < 0) throw new TimeRecError("until", "is before dtstart");
  return { text: raw, dtstart, duration, freq, until, interval, byday, bymonthday, byyearday, byweekno, bymonth };
}

function compareLocal(a: LocalDateTime, b: LocalDateTime): number {
  return a.year - b.year || a.month - b.month || a.day - b.day || a.hour - b.hour || a.minute - b.minute || a.second - b.second;
}

function parseDateTime(s: string, field: string, dateAllowed: boolean): LocalDateTime {
  let m: readonly string[] | null = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})(Z?)$/i.exec(s);
  if (!m && dateAllowed) {
    // a DATE: the whole day
    const d = /^(\d{4})(\d{2})(\d{2})$/.exec(s);
    if (d) m = [s, d[1]!, d[2]!, d[3]!, "23", "59", "59", ""];
  }
  if (!m) throw new TimeRecError(field, `'${s}' is not a DATE-TIME (YYYYMMDDTHHMMSS${dateAllowed ? " or YYYYMMDD" : ""})`);
  const [year, month, day, hour, minute, second] = [1, 2, 3, 4, 5, 6].map((i) => Number(m![i]));
  if (month! < 1 || month! > 12) throw new TimeRecError(field, `month ${month} in '${s}'`);
  if (day! < 1 || day! > daysInMonth(year!, month!)) throw new TimeRecError(field, `day ${day} in '${s}' (the month has ${daysInMonth(year!, month!)})`);
  if (hour! > 23 || minute! > 59 || second! > 59) throw new TimeRecError(field, `time of day in '${s}'`);
  return { year: year!, month: month!, day: day!, hour: hour!, minute: minute!, second: second!, utc: m[7] === "Z" || m[7] === "z" };
}

/** `P[nW][nD][T[nH][nM][nS]]`, or Kamailio's short `[nH][nM][nS]`; "0" = for ever. */
export function parseDuration(s: string): number {
  if (s === "" || s === "0") return 0;
  const iso = /^P(?:(\d+)W)?(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+)S)?)?$/i.exec(s);
  const short = /^(?:(\d+)H)?(?:(\d+)M)?(?:(\d+)S)?$/i.exec(s);
  let secs: number;
  if (iso && s.length > 1 && !/T$/i.test(s)) {
    const [w, d, h, mi, se] = [1, 2, 3, 4, 5].map((i) => Number(iso[i] ?? 0));
    secs = w! * 604800 + d! * 86400 + h! * 3600 + mi! * 60 + se!;
  } else if (short && s !== "") {
    const [h, mi, se] = [1, 2, 3].map((i) => Number(short[i] ?? 0));
    secs = h! * 3600 + mi! * 60 + se!;
  } else {
    throw new TimeRecError("duration", `'${s}' is not a duration (e.g. PT8H30M, P1D, 10H)`);
  }
  if (secs === 0) throw new TimeRecError("duration", `'${s}' is zero; leave it empty or write 0 for "for ever"`);
  return secs;
}

function parseFreq(s: string): Freq {
  if (s === "") return "none";
  const v = s.toLowerCase();
  if (v === "daily" || v === "weekly" || v === "monthly" || v === "yearly") return v;
  throw new TimeRecError("freq", `'${s}' is not daily, weekly, monthly or yearly`);
}

function parsePositive(s: string, field: string, min: number, max: number): number {
  if (!/^\d+$/.test(s)) throw new TimeRecError(field, `'${s}' is not a number`);
  const n = Number(s);
  if (n < min || n > max) throw new TimeRecError(field, `${n} is not ${min}..${max}`);
  return n;
}

function parseList(s: string, field: string, max: number): number[] {
  return s.split(",").map((p) => {
    const t = p.trim();
    if (!/^[-+]?\d+$/.test(t)) throw new TimeRecError(field, `'${t}' is not a number`);
    const n = Number(t);
    if (n === 0 || Math.abs(n) > max) throw new TimeRecError(field, `${n} is not ±1..${max}`);
    return n;
  });
}

function parseByDay(s: string, freq: Freq): ByDay[] {
  return s.split(",").map((p) => {
    const m = /^([-+]?\d{1,2})?\s*(SU|MO|TU|WE|TH|FR|SA)$/i.exec(p.trim());
    if (!m) throw new TimeRecError("byday", `'${p.trim()}' is not a weekday (MO, -1FR, +2TU, ...)`);
    const n = m[1] === undefined ? 0 : Number(m[1]);
    if (n !== 0) {
      if (freq !== "monthly" && freq !== "yearly") throw new TimeRecError("byday", `'${p.trim()}': an ordinal needs freq monthly or yearly`);
      if (Math.abs(n) > 53) throw new TimeRecError("byday", `ordinal ${n} is not ±1..53`);
    }
    return { wday: WDAYS[m[2]!.toUpperCase()]!, n };
  });
}

function startEpoch(cal: Calendar, d: LocalDateTime): number {
  if (d.utc) return daysFromCivil(d.year, d.month, d.day) * 86400 + d.hour * 3600 + d.minute * 60 + d.second;
  return cal.epoch(d.year, d.month, d.day, d.hour, d.minute, d.second);
}

/** Longest look-back (days) for occurrences that began earlier and are still running. */
const MAX_LOOKBACK_DAYS = 400;

/**
 * Whether `now` (unix seconds) falls into an occurrence of the recurrence (Kamailio
 * dr_check_tmrec). A null timerec always matches.
 */
export function matchTimeRec(rec: TimeRec | null, now: number, cal: Calendar): boolean {
  if (rec === null) return true;
  const start = startEpoch(cal, rec.dtstart);
  if (now < start) return false;
  if (rec.duration === 0) return true;
  if (now < start + rec.duration) return true;
  if (rec.freq === "none") return false;
  const until = rec.until === null ? Infinity : startEpoch(cal, rec.until);
  const startDays = daysFromCivil(rec.dtstart.year, rec.dtstart.month, rec.dtstart.day);
  const nowLocal = rec.dtstart.utc ? null : cal.fields(now);
  const today = nowLocal ? daysFromCivil(nowLocal.year, nowLocal.month, nowLocal.day) : Math.floor(now / 86400);
  const back = Math.min(MAX_LOOKBACK_DAYS, Math.ceil(rec.duration / 86400) + 1);
  const { hour, minute, second } = rec.dtstart;
  for (let k = 0; k <= back; k++) {
    const days = today - k;
    if (days < startDays) break;
    const c = civilFromDays(days);
    const occ = rec.dtstart.utc ? days * 86400 + hour * 3600 + minute * 60 + second : cal.epoch(c.year, c.month, c.day, hour, minute, second);
    if (occ > now) continue;
    if (now >= occ + rec.duration) break;
    if (occ > until) continue;
    if (occursOn(rec, days, startDays)) return true;
  }
  return false;
}

/** Whether an occurrence starts on the civil day `days` (freq, interval, BYxxx). */
export function occursOn(rec: TimeRec, days: number, startDays: number): boolean {
  const c = civilFromDays(days);
  const s = rec.dtstart;
  const wday = weekdayOfDays(days);
  // interval
  if (rec.interval > 1) {
    let units: number;
    switch (rec.freq) {
      case "daily":
        units = days - startDays;
        break;
      case "weekly": {
        const monday = (d: number) => d - ((weekdayOfDays(d) + 6) % 7);
        units = (monday(days) - monday(startDays)) / 7;
        break;
      }
      case "monthly":
        units = (c.year - s.year) * 12 + (c.month - s.month);
        break;
      case "yearly":
        units = c.year - s.year;
        break;
      default:
        return false;
    }
    if (units % rec.interval !== 0) return false;
  }
  // the smallest unit the rule names decides which days are candidates (Kamailio check_min_unit)
  if (!(rec.freq === "daily" || rec.byday || rec.bymonthday || rec.byyearday)) {
    if (rec.freq === "weekly" || rec.byweekno) {
      if (wday !== weekdayOfDays(startDays)) return false;
    } else if (rec.freq === "monthly" || rec.bymonth) {
      if (c.day !== s.day) return false;
    } else if (c.month !== s.month || c.day !== s.day) {
      return false;
    }
  }
  if (rec.bymonth && !rec.bymonth.some((m) => (m > 0 ? m : 13 + m) === c.month)) return false;
  if (rec.byweekno) {
    const w = isoWeek(days);
    if (!rec.byweekno.some((n) => (n > 0 ? n : w.weeksInYear + 1 + n) === w.week)) return false;
  }
  const ylen = isLeapYear(c.year) ? 366 : 365;
  const yday = days - daysFromCivil(c.year, 1, 1) + 1;
  if (rec.byyearday && !rec.byyearday.some((n) => (n > 0 ? n : ylen + 1 + n) === yday)) return false;
  const mlen = daysInMonth(c.year, c.month);
  if (rec.bymonthday && !rec.bymonthday.some((n) => (n > 0 ? n : mlen + 1 + n) === c.day)) return false;
  if (rec.byday) {
    const inMonth = rec.freq === "monthly" || (rec.freq === "yearly" && rec.bymonth !== null);
    const pos = inMonth ? c.day : yday;
    const len = inMonth ? mlen : ylen;
    const nth = Math.floor((pos - 1) / 7) + 1;
    const nthFromEnd = -(Math.floor((len - pos) / 7) + 1);
    if (!rec.byday.some((b) => b.wday === wday && (b.n === 0 || b.n === nth || b.n === nthFromEnd))) return false;
  }
  return true;
}
