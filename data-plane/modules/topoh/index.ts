import { defineModule } from "../../core/api.js";
import { Topoh } from "./hide.js";
import { topohParams, type TopohParams } from "./params.js";

export { MaskCodec } from "./codec.js";
export { Topoh } from "./hide.js";

/** The topoh script API: nothing to call; the engine for tools and tests. */
export interface TopohApi {
  readonly engine: Topoh;
}

const instances = new Map<TopohApi, () => void>();

/** topoh: topology hiding by reversible masking, without storage (Kamailio topoh). */
export default defineModule<TopohApi, TopohParams>({
  name: "topoh",
  doc: "Topology hiding by masking Via, Record-Route, Contact (and Call-ID) with a key; nothing stored",
  params: topohParams,
  stats: { group: "topoh", counters: ["encoded", "decoded"] },
  init(host) {
    const engine = new Topoh(host.config, host.stats.group("topoh", ["encoded", "decoded"]));
    const off = host.sip.setWireHook ? host.sip.setWireHook(engine) : () => {};
    const api: TopohApi = { engine };
    instances.set(api, off);
    return api;
  },
  destroy(api) {
    for (const a of api ? [api] : [...instances.keys()]) {
      instances.get(a)?.();
      instances.delete(a);
    }
  },
});
