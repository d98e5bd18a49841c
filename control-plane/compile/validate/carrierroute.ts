/**
 * Control-plane validator for kind "carrierroute" (carrierroute, carrierfailureroute,
 * carrier_name, domain_name; kamailio-reference.md §4): id references, prob, reply_code.
 * TODO(carrierroute): switch to the pure compile function of data-plane/modules/carrierroute/table.ts once it exists.
 */
import { TableError, type TableSet } from "../../../data-plane/core/tables/registry.js";
import { idOf, int, num, required, rowsOf, str, unique } from "./common.js";

/** Validates the carrierroute tables; throws TableError on the first bad row. */
export function validateCarrierroute(set: TableSet): { routes: number; failureRoutes: number } {
  const carriers = new Set<number>();
  const carrierRows = rowsOf(set, "carrier_name");
  carrierRows.forEach((r, i) => {
    const id = idOf(r, "id", i);
    required("carrier_name", id, r, "carrier");
    carriers.add(int("carrier_name", id, r, "id", i + 1));
  });
  unique("carrier_name", carrierRows, "id", (r) => str(r, "carrier").trim().toLowerCase(), "carrier name");
  const domains = new Set<number>();
  const domainRows = rowsOf(set, "domain_name");
  domainRows.forEach((r, i) => {
    const id = idOf(r, "id", i);
    required("domain_name", id, r, "domain");
    domains.add(int("domain_name", id, r, "id", i + 1));
  });
  unique("domain_name", domainRows, "id", (r) => str(r, "domain").trim().toLowerCase(), "domain name");
  const refs = (table: string, id: string | number, carrier: number, domain: number) => {
    if (carriers.size > 0 && !carriers.has(carrier)) throw new TableError(table, id, `carrier ${carrier} is not in carrier_name`);
    if (domains.size > 0 && !domains.has(domain)) throw new TableError(table, id, `domain ${domain} is not in domain_name`);
  };
  const routes = rowsOf(set, "carrierroute");
  routes.forEach((r, i) => {
    const id = idOf(r, "id", i);
    refs("carrierroute", id, int("carrierroute", id, r, "carrier", 0), int("carrierroute", id, r, "domain", 0));
    const prob = num("carrierroute", id, r, "prob", 0);
    if (prob < 0 || prob > 1) throw new TableError("carrierroute", id, `prob ${prob} is outside 0..1`);
    int("carrierroute", id, r, "mask", 0);
    int("carrierroute", id, r, "flags", 0);
    if (int("carrierroute", id, r, "strip", 0) < 0) throw new TableError("carrierroute", id, "strip is negative");
  });
  const failures = rowsOf(set, "carrierfailureroute");
  failures.forEach((r, i) => {
    const id = idOf(r, "id", i);
    refs("carrierfailureroute", id, int("carrierfailureroute", id, r, "carrier", 0), int("carrierfailureroute", id, r, "domain", 0));
    const code = str(r, "reply_code");
    if (!/^[0-9.]{3}$/.test(code)) throw new TableError("carrierfailureroute", id, `reply_code '${code}' must be 3 characters of digits or '.'`);
    const next = int("carrierfailureroute", id, r, "next_domain", 0);
    if (domains.size > 0 && !domains.has(next)) throw new TableError("carrierfailureroute", id, `next_domain ${next} is not in domain_name`);
    int("carrierfailureroute", id, r, "mask", 0);
    int("carrierfailureroute", id, r, "flags", 0);
  });
  return { routes: routes.length, failureRoutes: failures.length };
}
