const DAYS = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"];
const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];

/**
 * C's ctime() in local time without the trailing newline ("Wed Jun 30 21:49:08 1993"), the
 * form Kamailio's core.uptime prints for `now` and `up_since`, so scripts parsing it keep working.
 *
 * @example
 *   formatCtime(new Date()); // "Tue Mar  4 10:02:11 2025"
 */
export function formatCtime(d: Date): string {
  const p = (n: number) => String(n).padStart(2, "0");
  return `${DAYS[d.getDay()]} ${MONTHS[d.getMonth()]} ${String(d.getDate()).padStart(2, " ")} ${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())} ${d.getFullYear()}`;
}
