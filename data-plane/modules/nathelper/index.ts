import { defineModule, RpcError } from "../../core/api.js";
import type { RequestContext, RequestState } from "../../core/api.js";
import type { UsrlocApi } from "../usrloc/api.js";
import { addContactAlias, fixNatedContact, handleRuriAlias, receivedUri, setContactAlias, type ContactEditable } from "./contact-rewrite.js";
import { isRfc1918 } from "./ip-private.js";
import { NatPinger } from "./keepalive.js";
import { manageMedia, type MediaRelay } from "./media-hook.js";
import { natUacTest, type NatTestTarget } from "./nat-test.js";
import { type NathelperParams, nathelperParams } from "./params.js";

/**
 * The nathelper script API (Kamailio nathelper): NAT detection, Contact fixing and aliases, the
 * received address for the registrar, keep-alives, and a media-relay hook.
 *
 * @example
 *   // NATDETECT route of the default script
 *   if (nat.natUacTest(req, 19)) {
 *     if (req.method === "REGISTER") nat.fixNatedRegister(req);
 *     else if (!req.hasToTag) nat.setContactAlias(req);
 *     req.setFlag(5); // FLT_NATS
 *   }
 */
export interface NathelperApi {
  readonly params: NathelperParams;
  /** [nat_uac_test(flags)] true when any selected test detects NAT (NatTest bits; 19 = 1|2|16). */
  natUacTest(m: NatTestTarget, flags: number): boolean;
  /** [fix_nated_register] leaves `sip:srcip:srcport[;transport=x]` in received_avp for save(). Returns 1. */
  fixNatedRegister(req: RequestState): number;
  /** [fix_nated_contact] first Contact host:port := source. 1 or -1. */
  fixNatedContact(m: ContactEditable): number;
  /** [add_contact_alias] `;alias=ip~port~proto` after host:port when the Contact is not the source. 1, 2 or -1. */
  addContactAlias(m: ContactEditable): number;
  /** [set_contact_alias(trim)] appends `;alias=ip~port~proto` to the first Contact. 1 or -1. */
  setContactAlias(m: ContactEditable, trim?: boolean): number;
  /** [handle_ruri_alias(mode)] R-URI alias → $du, alias removed. 1 handled, 2 none, -1 bad. */
  handleRuriAlias(req: RequestState, mode?: 0 | 1): number;
  /** [is_rfc1918(ip)] */
  isRfc1918(ip: string): boolean;
  /** Installs (or removes, with null) the media relay used by manageMedia. */
  setMediaRelay(relay: MediaRelay | null): void;
  /** NATMANAGE media step: SDP through the relay, body replaced (1), untouched (2), no relay (-1). */
  manageMedia(req: RequestContext, nated?: boolean): number | Promise<number>;
  /** Turns keep-alives on or off (nathelper.enable_ping). */
  enablePing(on: boolean): void;
}

const pingers: NatPinger[] = [];

/**
 * nathelper: NAT traversal helpers and keep-alives (Kamailio nathelper). See README.md.
 */
export default defineModule<NathelperApi, NathelperParams>({
  name: "nathelper",
  doc: "NAT detection, Contact/alias fixing, received addresses for the registrar, NAT keep-alives (Kamailio nathelper)",
  params: nathelperParams,
  requires: ["usrloc"],
  rpc: ["nathelper.enable_ping"],
  stats: { group: "nathelper", counters: ["natpings_sent", "sippings_sent", "sipping_replies", "sipping_failures", "keepalive_removed"] },
  init(host) {
    const p = host.config;
    const ul = host.modules.usrloc as UsrlocApi;
    if (p.natping_interval > 0 && p.ping_nated_only && ul.natMask === 0) {
      throw new Error("nathelper: ping_nated_only needs usrloc's nat_bflag");
    }
    const stats = host.stats.group("nathelper", ["natpings_sent", "sippings_sent", "sipping_replies", "sipping_failures", "keepalive_removed"]);
    const pinger = new NatPinger(p, ul, host.sip, stats, host.log);
    pingers.push(pinger);
    pinger.start();
    let relay: MediaRelay | null = null;
    host.rpc.register({
      name: "nathelper.enable_ping",
      doc: "Turn NAT keep-alives on (1) or off (0)",
      params: [{ name: "enable", type: "int", doc: "1 on, 0 off" }],
      handler: ({ enable }) => {
        if (enable !== 0 && enable !== 1) throw RpcError.invalidParam("enable", "must be 0 or 1");
        pinger.enabled = enable === 1;
        return null;
      },
    });
    const extra = p.nat_addr_mode === 1;
    return {
      params: p,
      natUacTest: (m, flags) => natUacTest(m, flags, extra),
      fixNatedRegister(req) {
        req.vars.set(p.received_avp, receivedUri(req.source));
        return 1;
      },
      fixNatedContact,
      addContactAlias,
      setContactAlias,
      handleRuriAlias,
      isRfc1918: (ip) => isRfc1918(ip, extra),
      setMediaRelay(r) {
        relay = r;
      },
      manageMedia: (req, nated = false) => manageMedia(relay, req, nated),
      enablePing(on) {
        pinger.enabled = on;
      },
    };
  },
  destroy() {
    pingers.shift()?.stop();
  },
});

export { NatTest, natUacTest, sdpAddresses } from "./nat-test.js";
export { isRfc1918, sameIp } from "./ip-private.js";
export { receivedUri, aliasValue, aliasToUri, fixNatedContact, addContactAlias, setContactAlias, handleRuriAlias } from "./contact-rewrite.js";
export { NatPinger, pingPlan } from "./keepalive.js";
export { manageMedia, type MediaRelay, type MediaOffer } from "./media-hook.js";
export { parseNathelperParams, type NathelperParams } from "./params.js";
