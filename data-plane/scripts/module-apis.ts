import type { AccApi } from "../modules/acc/index.js";
import type { AliasDbApi } from "../modules/alias-db/index.js";
import type { AuthApi } from "../modules/auth/index.js";
import type { CallFwdApi } from "../modules/callfwd/index.js";
import type { RtpengineApi } from "../modules/rtpengine/index.js";
import type { CarrierrouteApi } from "../modules/carrierroute/index.js";
import type { DialogApi } from "../modules/dialog/index.js";
import type { DialplanApi } from "../modules/dialplan/index.js";
import type { DispatcherApi } from "../modules/dispatcher/index.js";
import type { DomainApi } from "../modules/domain/index.js";
import type { DroutingApi } from "../modules/drouting/index.js";
import type { HtableApi } from "../modules/htable/index.js";
import type { LcrApi } from "../modules/lcr/index.js";
import type { MsiloApi } from "../modules/msilo/index.js";
import type { MtreeApi } from "../modules/mtree/index.js";
import type { NathelperApi } from "../modules/nathelper/index.js";
import type { PermissionsApi } from "../modules/permissions/index.js";
import type { PikeApi } from "../modules/pike/index.js";
import type { PipelimitApi } from "../modules/pipelimit/index.js";
import type { RatelimitApi } from "../modules/ratelimit/index.js";
import type { TopohApi } from "../modules/topoh/index.js";
import type { ToposApi } from "../modules/topos/index.js";
import type { PresenceApi } from "../modules/presence/index.js";
import type { PrefixRouteApi } from "../modules/prefix-route/index.js";
import type { RegistrarApi } from "../modules/registrar/index.js";
import type { SanityApi } from "../modules/sanity/index.js";
import type { SpeedDialApi } from "../modules/speed-dial/index.js";
import type { StirshakenApi } from "../modules/stirshaken/index.js";
import type { UacApi } from "../modules/uac/index.js";
import type { UsrlocApi } from "../modules/usrloc/index.js";

/**
 * The script API of every module, by the name scripts receive it under (the configuration's
 * module name, Kamailio style: `speed_dial`, `alias_db`). Built from the types the modules export
 * next to their `defineModule`; a script sees a module only when it is configured.
 */
export interface ModuleApis {
  acc: AccApi;
  alias_db: AliasDbApi;
  auth: AuthApi;
  callfwd: CallFwdApi;
  rtpengine: RtpengineApi;
  carrierroute: CarrierrouteApi;
  dialog: DialogApi;
  dialplan: DialplanApi;
  dispatcher: DispatcherApi;
  domain: DomainApi;
  drouting: DroutingApi;
  htable: HtableApi;
  lcr: LcrApi;
  msilo: MsiloApi;
  mtree: MtreeApi;
  nathelper: NathelperApi;
  permissions: PermissionsApi;
  pike: PikeApi;
  pipelimit: PipelimitApi;
  ratelimit: RatelimitApi;
  presence: PresenceApi;
  prefix_route: PrefixRouteApi;
  registrar: RegistrarApi;
  sanity: SanityApi;
  speed_dial: SpeedDialApi;
  stirshaken: StirshakenApi;
  uac: UacApi;
  topoh: TopohApi;
  topos: ToposApi;
  usrloc: UsrlocApi;
}

/** The configured modules' APIs as a script gets them (absent modules are undefined). */
export type ScriptModules = Readonly<Partial<ModuleApis>>;

/**
 * Types the script context's `modules` record. The loader fills it with what each module's
 * `init` returned, keyed by module name — the one place where the name → API mapping is trusted.
 */
export function scriptModules(modules: Readonly<Record<string, unknown>>): ScriptModules {
  return modules as ScriptModules;
}
