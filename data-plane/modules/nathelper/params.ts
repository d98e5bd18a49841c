import { z } from "zod";
import { custom, defineParams, flag01, int, issue, str, type ParamsOf } from "../../core/kit/params.js";

const i = (min: number, max: number, dflt: number, doc: string) => int({ min, max, default: dflt, coerce: "signed-bool", doc });

const shape = {
  natping_interval: i(0, 86400, 0, "Seconds between keep-alive rounds; 0 = no keep-alives"),
  ping_nated_only: flag01({ default: false, coerce: "signed-bool", doc: "Ping only contacts with usrloc's nat_bflag in their cflags" }),
  sipping_bflag: i(-1, 31, -1, "Branch flag selecting SIP pings (OPTIONS) instead of raw keep-alives; -1 = none"),
  sipping_from: str({
    default: "sip:pinger@localhost",
    doc: "From URI of SIP pings",
    check: (s) => (/^sips?:/i.test(s) ? null : { full: "nathelper: sipping_from must be a SIP URI" }),
  }),
  sipping_method: str({
    default: "OPTIONS",
    doc: "Method of SIP pings",
    check: (s) => (/^[A-Za-z]+$/.test(s) ? null : { full: "nathelper: sipping_method must be a method name" }),
    map: (s) => s.toUpperCase(),
  }),
  keepalive_timeout: i(0, 86400 * 7, 0, "Seconds without any reply to SIP pings after which a contact is removed (0 = never); raw keep-alives get no reply"),
  received_avp: str({ default: "$avp(RECEIVED)", doc: "Request variable nathelper's fixNatedRegister fills (registrar reads the same name)" }),
  natping_socket: str({ default: "", doc: "Local socket (`proto:ip:port`) pings are sent from, \"\" = each binding's own socket" }),
  nat_addr_mode: i(0, 1, 1, "1 (Kamailio default): 192.0.0.0/24 counts as private too"),
  udp_keepalive: custom<"zeros" | "crlf">({
    type: '"zeros" | "crlf"',
    default: "zeros",
    doc: "Raw keep-alive over UDP: \"zeros\" (Kamailio's 4 zero bytes) or \"crlf\" (RFC 5626 CRLFCRLF); streams always get CRLFCRLF",
    schema: z.unknown().transform((v) => v ?? "zeros").pipe(z.enum(["zeros", "crlf"])),
    fail: () => ({ full: 'nathelper: udp_keepalive must be "zeros" or "crlf"' }),
  }),
  natping_tables: custom<readonly string[]>({
    type: "table names",
    default: ["location"],
    doc: "Location tables whose contacts are pinged",
    schema: z.unknown().transform((v, ctx) => {
      if (v === undefined) return ["location"];
      if (!Array.isArray(v) || v.length === 0 || v.some((t) => typeof t !== "string" || !/^[A-Za-z_][A-Za-z0-9_]{0,63}$/.test(t))) {
        return issue(ctx, { full: "nathelper: natping_tables must be a non-empty array of table names" });
      }
      return v as string[];
    }),
    fail: () => ({ full: "nathelper: natping_tables must be a non-empty array of table names" }),
  }),
  sipping_timeout: i(0, 120_000, 5000, "Final-response timeout of SIP pings in ms (0 = the core's fr_timer)"),
};

const finish = (p: ParamsOf<typeof shape>) => ({ ...p, nat_addr_mode: p.nat_addr_mode as 0 | 1 });

/**
 * The nathelper module's configuration section, with Kamailio's parameter names.
 *
 * @example
 *   nathelper: { natping_interval: 30, ping_nated_only: 1, sipping_bflag: 7, keepalive_timeout: 120 }
 */
export const nathelperParams = defineParams("nathelper", shape, { quote: false, finish });

export type NathelperParams = ReturnType<typeof finish>;

/** Validates the configuration section; throws naming the bad parameter. */
export const parseNathelperParams = (cfg: Readonly<Record<string, unknown>>): NathelperParams => nathelperParams.parse(cfg);

/** Kamailio's defaults (natping off, OPTIONS pings from sip:pinger@localhost). */
export const DEFAULT_NATHELPER_PARAMS: NathelperParams = Object.freeze(parseNathelperParams({}));
