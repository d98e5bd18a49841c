/**
 * Control-plane validator for kind "lcr" (lcr_gw, lcr_rule, lcr_rule_target; Kamailio lcr module,
 * kamailio-reference.md §2). Checks what the lcr module would reject at reload time.
 * TODO(lcr): switch to the pure compile function of data-plane/modules/lcr/table.ts once it exists.
 */
import { isIP } from "node:net";
import { TableError, type TableSet } from "../../../data-plane/core/tables/registry.js";
import { idOf, int, isHost, range, regex, rowsOf, str, unique } from "./common.js";

/** Validates the lcr tables; throws TableError on the first bad row. */
export function validateLcr(set: TableSet): { gateways: number; rules: number; targets: number } {
  const gws = rowsOf(set, "lcr_gw");
  const rules = rowsOf(set, "lcr_rule");
  const targets = rowsOf(set, "lcr_rule_target");
  const gwLcr = new Map<number, number>();
  gws.forEach((r, i) => {
    const id = idOf(r, "id", i);
    const lcrId = int("lcr_gw", id, r, "lcr_id");
    range("lcr_gw", id, "lcr_id", lcrId, 0, 65535);
    const ip = str(r, "ip_addr").trim();
    const host = str(r, "hostname").trim();
    if (ip === "" && host === "") throw new TableError("lcr_gw", id, "ip_addr and hostname are both empty");
    if (ip !== "" && isIP(ip) === 0) throw new TableError("lcr_gw", id, `ip_addr '${ip}' is not an IP address`);
    if (host !== "" && !isHost(host)) throw new TableError("lcr_gw", id, `hostname '${host}' is not a host name`);
    const scheme = int("lcr_gw", id, r, "uri_scheme", 1);
    if (scheme !== 0 && scheme !== 1 && scheme !== 2) throw new TableError("lcr_gw", id, `uri_scheme ${scheme} is not 1 (sip) or 2 (sips)`);
    const transport = int("lcr_gw", id, r, "transport", 0);
    range("lcr_gw", id, "transport", transport, 0, 4);
    range("lcr_gw", id, "port", int("lcr_gw", id, r, "port", 0), 0, 65535);
    gwLcr.set(int("lcr_gw", id, r, "id", i + 1), lcrId);
  });
  const ruleLcr = new Map<number, number>();
  rules.forEach((r, i) => {
    const id = idOf(r, "id", i);
    const lcrId = int("lcr_rule", id, r, "lcr_id");
    if (lcrId < 1) throw new TableError("lcr_rule", id, `lcr_id ${lcrId} must be 1 or more`);
    regex("lcr_rule", id, "from_uri", str(r, "from_uri"));
    regex("lcr_rule", id, "request_uri", str(r, "request_uri"));
    range("lcr_rule", id, "stopper", int("lcr_rule", id, r, "stopper", 0), 0, 1);
    range("lcr_rule", id, "enabled", int("lcr_rule", id, r, "enabled", 1), 0, 1);
    ruleLcr.set(int("lcr_rule", id, r, "id", i + 1), lcrId);
  });
  unique("lcr_rule", rules, "id", (r) => `${str(r, "lcr_id")}|${str(r, "prefix")}|${str(r, "from_uri")}`, "lcr_id/prefix/from_uri");
  targets.forEach((r, i) => {
    const id = idOf(r, "id", i);
    const lcrId = int("lcr_rule_target", id, r, "lcr_id");
    const ruleId = int("lcr_rule_target", id, r, "rule_id");
    const gwId = int("lcr_rule_target", id, r, "gw_id");
    const rl = ruleLcr.get(ruleId);
    if (rl === undefined) throw new TableError("lcr_rule_target", id, `rule_id ${ruleId} is not in lcr_rule`);
    if (rl !== lcrId) throw new TableError("lcr_rule_target", id, `lcr_id ${lcrId} differs from rule ${ruleId}'s lcr_id ${rl}`);
    const gl = gwLcr.get(gwId);
    if (gl === undefined) throw new TableError("lcr_rule_target", id, `gw_id ${gwId} is not in lcr_gw`);
    if (gl !== 0 && gl !== lcrId) throw new TableError("lcr_rule_target", id, `gateway ${gwId} belongs to lcr_id ${gl}, not ${lcrId}`);
    range("lcr_rule_target", id, "priority", int("lcr_rule_target", id, r, "priority"), 0, 255);
    range("lcr_rule_target", id, "weight", int("lcr_rule_target", id, r, "weight", 1), 1, 254);
  });
  unique("lcr_rule_target", targets, "id", (r) => `${str(r, "rule_id")}|${str(r, "gw_id")}`, "rule_id/gw_id");
  return { gateways: gws.length, rules: rules.length, targets: targets.length };
}
