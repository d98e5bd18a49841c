import { RpcCode, RpcError, type RpcMethod, defineRpc } from "../../core/api.js";
import { runReload } from "../../core/kit/index.js";
import { DICE_MAX, type CompiledCarrierroute, type CrRouteFlags, type CrRule } from "../../../tables/carrierroute/table.js";

/**
 * The cr.* RPCs (Kamailio cr_rpc.c). Host (de)activation keeps Kamailio's single-argument
 * option syntax (`-d domain -p prefix -h host [-t backup] [-w prob]`, `*` as wildcard, `-p null`
 * for the empty prefix) and acts on the running tables; the change is runtime state (like a
 * defunct gateway), kept across table pushes, not written back anywhere. Adding, deleting and
 * replacing hosts edits the routing data itself, which in Olelo comes from the table push.
 */

/** Runtime activation state of one target, keyed by ruleKey(). */
export interface HostState {
  active: boolean;
  /** ruleKey of the target used instead while this one is off. */
  backup: string | null;
}

/** Identity of a target across table pushes: carrier, domain, prefix, flags, mask, host. */
export function ruleKey(r: CrRule): string {
  return `${r.carrierId}|${r.domainId}|${r.prefix}|${r.flags}|${r.mask}|${r.host}`;
}

export interface CrRpcDeps {
  current(): CompiledCarrierroute;
  readonly states: Map<string, HostState>;
  reload(): Promise<unknown>;
}

interface RpcOpts {
  domain?: string;
  prefix?: string;
  host?: string;
  target?: string;
  prob?: number;
}

type Opt = "d" | "p" | "h" | "t" | "w" | "P" | "S" | "i" | "s";

/** Parses Kamailio's option string; `mandatory`/`invalid` as in cr_rpc.c opt_settings. */
export function parseCrOptions(arg: string, mandatory: Opt[], invalid: Opt[]): RpcOpts {
  const toks = arg.split(/[ \t\r\n]+/).filter((t) => t !== "");
  const out: RpcOpts = {};
  const used = new Set<Opt>();
  let pending: Opt | null = null;
  for (const t of toks) {
    if (t.startsWith("-")) {
      if (t.length !== 2 || !"dphtwPSis".includes(t[1]!)) throw new RpcError(RpcCode.ServerError, `Get options failed: unknown option ${t}`);
      pending = t[1] as Opt;
      used.add(pending);
      continue;
    }
    if (pending === null) throw new RpcError(RpcCode.ServerError, `Get options failed: value '${t}' without an option`);
    switch (pending) {
      case "d":
        out.domain = t;
        break;
      case "p":
        out.prefix = t.toLowerCase() === "null" ? "" : t;
        break;
      case "h":
        out.host = t;
        break;
      case "t":
        out.target = t;
        break;
      case "w": {
        const n = Number(t);
        if (!Number.isFinite(n)) throw new RpcError(RpcCode.ServerError, `Get options failed: -w '${t}' is not a number`);
        out.prob = n;
        break;
      }
      default:
        break;
    }
    pending = null;
  }
  for (const o of invalid) if (used.has(o)) throw new RpcError(RpcCode.ServerError, `Get options failed: option -${o} is not allowed here`);
  for (const o of mandatory) if (!used.has(o)) throw new RpcError(RpcCode.ServerError, `Get options failed: option -${o} is missing`);
  return out;
}

function* eachRule(c: CompiledCarrierroute): Generator<{ group: CrRouteFlags; rule: CrRule; domainName: string }> {
  for (const carrier of c.carriers.values()) {
    for (const d of carrier.domains.values()) {
      for (const [, groups] of d.routes.entries()) for (const group of groups) for (const rule of group.rules) yield { group, rule, domainName: d.name };
    }
  }
}

function selects(o: RpcOpts, rule: CrRule, domainName: string): boolean {
  const star = (v: string | undefined) => v === "*";
  if (!(o.domain === undefined || o.domain === "" || star(o.domain) || o.domain === domainName)) return false;
  if (!(star(o.prefix) || (o.prefix ?? "") === rule.prefix)) return false;
  if (!(star(o.host) || (o.host ?? "") === rule.host)) return false;
  return o.prob === undefined || Math.abs(o.prob - rule.prob) < 1e-9;
}

function isActive(states: Map<string, HostState>, r: CrRule): boolean {
  return states.get(ruleKey(r))?.active ?? true;
}

export function crRpcMethods(deps: CrRpcDeps): RpcMethod[] {
  const notHere = (name: string): RpcMethod => ({
    name,
    doc: `${name.slice(3).replace("_", " ")} (not available: routes come from the table push)`,
    params: [{ name: "options", type: "string" }],
    handler: () => {
      throw new RpcError(RpcCode.ServerError, "Not running in config file mode, cannot modify route from command line (change the carrierroute rows and push them)");
    },
  });
  return [
    defineRpc({
      name: "cr.reload_routes",
      doc: "Reload carrierroute routes",
      params: [],
      returns: "null",
      handler: async () => {
        await runReload(() => deps.reload(), "Internal error -- failed to load routing data: ");
        return null;
      },
    }),
    defineRpc({
      name: "cr.dump_routes",
      doc: "Dump carrierroute routes",
      params: [],
      returns: "{ routes: [{ carrier, id, domains: [{ domain, id, data: [{ prefix, prob, host, status, strip, rewrite_prefix, rewrite_suffix, comment, ... }] }] }] }",
      handler: () => {
        const c = deps.current();
        const routes = [...c.carriers.values()].map((carrier) => ({
          carrier: carrier.name,
          id: carrier.id,
          domains: [...carrier.domains.values()].map((d) => {
            const data: Array<Record<string, unknown>> = [];
            for (const [prefix, groups] of d.routes.entries()) {
              for (const g of groups) {
                for (const r of g.rules) {
                  const state = deps.states.get(ruleKey(r));
                  const entry: Record<string, unknown> = {
                    prefix: prefix.length > 0 ? prefix : "NULL",
                    prob: g.diceMax > 0 ? ((Math.round(r.prob * DICE_MAX) / g.diceMax) * 100) : r.prob * 100,
                    host: r.host,
                    status: state?.active === false ? "OFF" : "ON",
                    strip: r.strip,
                    rewrite_prefix: r.rewritePrefix,
                    rewrite_suffix: r.rewriteSuffix,
                    comment: r.description,
                    flags: r.flags,
                    mask: r.mask,
                    hash_index: r.hashIndex,
                  };
                  if (state?.active === false && state.backup !== null) entry["backup_by"] = state.backup.split("|").pop();
                  const backedFor = [...deps.states.entries()].filter(([, s]) => s.active === false && s.backup === ruleKey(r)).map(([k]) => k.split("|").pop());
                  if (backedFor.length > 0) entry["backup_for"] = backedFor;
                  data.push(entry);
                }
              }
            }
            return { domain: d.name, id: d.id, data };
          }),
        }));
        return { routes };
      },
    }),
    defineRpc({
      name: "cr.activate_host",
      doc: "Activate carrierroute host (-d domain -p prefix -h host [-w prob])",
      params: [{ name: "options", type: "string" }],
      returns: "\"200 ok\"",
      handler: ({ options }) => {
        const o = parseCrOptions(options, ["h", "d", "p"], ["P", "S", "t", "i"]);
        let n = 0;
        for (const { rule, domainName } of eachRule(deps.current())) {
          if (!selects(o, rule, domainName)) continue;
          deps.states.delete(ruleKey(rule));
          n++;
        }
        if (n === 0) throw new RpcError(RpcCode.ServerError, "Update options failed: no match for update found");
        return "200 ok";
      },
    }),
    defineRpc({
      name: "cr.deactivate_host",
      doc: "Deactivate carrierroute host (-d domain -p prefix -h host [-t backup host|hash index|a] [-w prob])",
      params: [{ name: "options", type: "string" }],
      returns: "\"200 ok\"",
      handler: ({ options }) => {
        const o = parseCrOptions(options, ["h", "d", "p"], ["P", "S", "i"]);
        const changes: Array<[string, HostState]> = [];
        for (const { group, rule, domainName } of eachRule(deps.current())) {
          if (!selects(o, rule, domainName)) continue;
          const key = ruleKey(rule);
          let backup: string | null = null;
          if (o.target !== undefined && o.target !== "") {
            if (o.target === rule.host) throw new RpcError(RpcCode.ServerError, `Update options failed: backup host the same as initial host ${rule.host}`);
            let b: CrRule | undefined;
            if (o.target === "a") b = group.rules.find((x) => x !== rule && isActive(deps.states, x) && x.prob > 0);
            else if (/^\d+$/.test(o.target)) b = group.rules.find((x) => x.hashIndex === Number(o.target));
            else b = group.rules.find((x) => x.host === o.target);
            if (b === undefined) throw new RpcError(RpcCode.ServerError, `Update options failed: didn't find backup route '${o.target}'`);
            if (!isActive(deps.states, b)) throw new RpcError(RpcCode.ServerError, "Update options failed: desired backup route is inactive");
            backup = ruleKey(b);
          } else if ([...deps.states.values()].some((s) => s.active === false && s.backup === key)) {
            throw new RpcError(RpcCode.ServerError, "Update options failed: can't deactivate route without backup route because it is backup route for others");
          }
          changes.push([key, { active: false, backup }]);
        }
        if (changes.length === 0) throw new RpcError(RpcCode.ServerError, "Update options failed: no match for update found");
        for (const [k, s] of changes) deps.states.set(k, s);
        return "200 ok";
      },
    }),
    notHere("cr.add_host"),
    notHere("cr.delete_host"),
    notHere("cr.replace_host"),
  ];
}
