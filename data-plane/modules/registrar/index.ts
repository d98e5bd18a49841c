import { defineModule } from "../../core/api.js";
import type { UsrlocApi } from "../usrloc/api.js";
import { registrarParams, type RegistrarParams } from "./params.js";
import { createRegistrarApi, type RegistrarApi } from "./registrar-api.js";

/**
 * registrar: REGISTER processing and location lookups on top of usrloc (Kamailio registrar):
 * save/lookup/registered/unregister with Kamailio's return codes, Path (RFC 3327), +sip.instance
 * and reg-id (RFC 5626), q-value serial forking (t_load_contacts / t_next_contacts), and the
 * `registrar:*` statistics. See README.md.
 */
export default defineModule<RegistrarApi, RegistrarParams>({
  name: "registrar",
  doc: "REGISTER handling and contact lookup over the location service (Kamailio registrar)",
  params: registrarParams,
  requires: ["usrloc"],
  stats: { group: "registrar", counters: ["accepted_regs", "rejected_regs", "max_expires", "max_contacts", "default_expire", "default_expires_range", "expires_range"] },
  init(host) {
    const params = host.config;
    const ul = host.modules.usrloc as UsrlocApi;
    const stats = host.stats.group("registrar", ["accepted_regs", "rejected_regs"]);
    stats.gauge("max_expires", () => params.max_expires);
    stats.gauge("max_contacts", () => params.max_contacts);
    stats.gauge("default_expire", () => params.default_expires);
    stats.gauge("default_expires_range", () => params.default_expires_range);
    stats.gauge("expires_range", () => params.expires_range);
    return createRegistrarApi({ params, ul, stats, log: host.log });
  },
});

export type { RegistrarApi, FetchedContact } from "./registrar-api.js";
export { createRegistrarApi } from "./registrar-api.js";
export { parseRegistrarParams, DEFAULT_REGISTRAR_PARAMS } from "./params.js";
export type { RegistrarParams } from "./params.js";
export { SaveFlag, SaveResult, save, sourceOf } from "./save.js";
export type { RegistrarDeps } from "./save.js";
export { LookupResult, LOOKUP_TARGETS_VAR, lookup, lookupBranches, registered, unregister, destinationOf } from "./lookup.js";
export type { LookupTarget, RegisteredMatch } from "./lookup.js";
export { loadContacts, nextContacts, nextContactFlow, hasMoreContacts, CONTACTS_VAR } from "./serial-fork.js";
export { BFLAGS_VAR, setBflag, resetBflag, isBflagSet, getBflags } from "./branch-flags.js";
export { RegError, RegFailure, buildContactList } from "./reply.js";
export { extractAor } from "./aor.js";
