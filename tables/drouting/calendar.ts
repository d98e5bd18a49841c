/**
 * Wall-clock arithmetic for drouting time recurrences. Kamailio evaluates dr_rules.timerec in
 * the proxy's local time (localtime_r/mktime); Olelo does the same by default and can be pinned
 * to UTC or to an IANA zone (`timezone` param) so that a fleet spread over zones routes alike.
 *
 * Civil dates use proleptic Gregorian day numbers (days since 1970-01-01), computed with integer
 * arithmetic, so month ends and leap years need no special cases elsewhere.
 *
 * @example
 *   const cal = createCalendar("Europe/Berlin");
 *   cal.fields(1700000000).hour; // local hour
 */

/** Local wall-clock fields of an instant. */
export interface LocalFields {
  readonly year: number;
  /** 1..12 */
  readonly month: number;
  /** 1..31 */
  readonly day: number;
  readonly hour: number;
  readonly minute: number;
  readonly second: number;
}

export interface Calendar {
  readonly name: string;
  /** Local fields of a unix time (seconds). */
  fields(epochSec: number): LocalFields;
  /**
   * Unix time (seconds) of a local wall-clock time. In a DST gap the time is moved forward by
   * the gap; an ambiguous time (fall back) takes the first instant.
   */
  epoch(year: number, month: number, day: number, hour: number, minute: number, second: number): number;
}

/** Days since 1970-01-01 of a civil date (Howard Hinnant's days_from_civil). */
export function daysFromCivil(y: number, m: number, d: number): number {
  y -= m <= 2 ? 1 : 0;
  const era = Math.floor(y / 400);
  const yoe = y - era * 400;
  const doy = Math.floor((153 * (m + (m > 2 ? -3 : 9)) + 2) / 5) + d - 1;
  const doe = yoe * 365 + Math.floor(yoe / 4) - Math.floor(yoe / 100) + doy;
  return era * 146097 + doe - 719468;
}

/** Civil date of a day number (inverse of daysFromCivil). */
export function civilFromDays(z: number): { year: number; month: number; day: number } {
  z += 719468;
  const era = Math.floor(z / 146097);
  const doe = z - era * 146097;
  const yoe = Math.floor((doe - Math.floor(doe / 1460) + Math.floor(doe / 36524) - Math.floor(doe / 146096)) / 365);
  const y = yoe + era * 400;
  const doy = doe - (365 * yoe + Math.floor(yoe / 4) - Math.floor(yoe / 100));
  const mp = Math.floor((5 * doy + 2) / 153);
  const d = doy - Math.floor((153 * mp + 2) / 5) + 1;
  const m = mp + (mp < 10 ? 3 : -9);
  return { year: y + (m <= 2 ? 1 : 0), month: m, day: d };
}

export function isLeapYear(y: number): boolean {
  return (y % 4 === 0 && y % 100 !== 0) || y % 400 === 0;
}

export function daysInMonth(y: number, m: number): number {
  return m === 2 ? (isLeapYear(y) ? 29 : 28) : [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][m - 1]!;
}

/** 0 = Sunday … 6 = Saturday. */
export function weekdayOfDays(days: number): number {
  return (((days + 4) % 7) + 7) % 7;
}

/** ISO 8601 week number (weeks start on Monday, week 1 holds the year's first Thursday) and its year. */
export function isoWeek(days: number): { week: number; weekYear: number; weeksInYear: number } {
  const wd = (weekdayOfDays(days) + 6) % 7; // Monday = 0
  const thursday = days - wd + 3;
  const weekYear = civilFromDays(thursday).year;
  const jan1 = daysFromCivil(weekYear, 1, 1);
  const week = Math.floor((thursday - jan1) / 7) + 1;
  return { week, weekYear, weeksInYear: isoWeeksInYear(weekYear) };
}

function isoWeeksInYear(y: number): number {
  // a year has 53 ISO weeks when it starts on a Thursday, or is a leap year starting on Wednesday
  const jan1 = weekdayOfDays(daysFromCivil(y, 1, 1));
  return jan1 === 4 || (jan1 === 3 && isLeapYear(y)) ? 53 : 52;
}

const utc: Calendar = {
  name: "UTC",
  fields(t) {
    const days = Math.floor(t / 86400);
    const secs = t - days * 86400;
    const c = civilFromDays(days);
    return { year: c.year, month: c.month, day: c.day, hour: Math.floor(secs / 3600), minute: Math.floor((secs % 3600) / 60), second: Math.floor(secs % 60) };
  },
  epoch(y, mo, d, h, mi, s) {
    return daysFromCivil(y, mo, d) * 86400 + h * 3600 + mi * 60 + s;
  },
};

const local: Calendar = {
  name: "local",
  fields(t) {
    const dt = new Date(t * 1000);
    return { year: dt.getFullYear(), month: dt.getMonth() + 1, day: dt.getDate(), hour: dt.getHours(), minute: dt.getMinutes(), second: dt.getSeconds() };
  },
  epoch(y, mo, d, h, mi, s) {
    const dt = new Date(2000, 0, 1, 0, 0, 0);
    dt.setFullYear(y, mo - 1, d);
    dt.setHours(h, mi, s, 0);
    return Math.floor(dt.getTime() / 1000);
  },
};

function zoned(zone: string): Calendar {
  const fmt = new Intl.DateTimeFormat("en-US", {
    timeZone: zone,
    hourCycle: "h23",
    year: "numeric",
    month: "numeric",
    day: "numeric",
    hour: "numeric",
    minute: "numeric",
    second: "numeric",
    era: "short",
  });
  const fields = (t: number): LocalFields => {
    const parts: Record<string, string> = {};
    for (const p of fmt.formatToParts(new Date(t * 1000))) parts[p.type] = p.value;
    let year = Number(parts["year"]);
    if (parts["era"] === "BC") year = 1 - year;
    return { year, month: Number(parts["month"]), day: Number(parts["day"]), hour: Number(parts["hour"]), minute: Number(parts["minute"]), second: Number(parts["second"]) };
  };
  const offsetAt = (t: number): number => {
    const f = fields(t);
    return utc.epoch(f.year, f.month, f.day, f.hour, f.minute, f.second) - Math.floor(t);
  };
  return {
    name: zone,
    fields,
    epoch(y, mo, d, h, mi, s) {
      const wall = utc.epoch(y, mo, d, h, mi, s);
      // the offset just before and after the wall time; try the earlier one first
      const o1 = offsetAt(wall - 86400);
      const o2 = offsetAt(wall + 86400);
      const candidates = [wall - Math.max(o1, o2), wall - Math.min(o1, o2)];
      for (const c of candidates) if (offsetAt(c) + c === wall) return c;
      // in a gap: move forward by the gap (like mktime with tm_isdst = -1)
      return wall - Math.min(o1, o2);
    },
  };
}

/** "local" (the process time zone), "UTC", or an IANA zone name; throws for an unknown zone. */
export function createCalendar(zone = "local"): Calendar {
  if (zone === "local") return local;
  if (zone === "UTC" || zone === "utc" || zone === "Z") return utc;
  try {
    new Intl.DateTimeFormat("en-US", { timeZone: zone });
  } catch {
    throw new Error(`unknown time zone '${zone}'`);
  }
  return zoned(zone);
}
