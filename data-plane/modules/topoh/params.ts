import { defineParams, flag01, str, type ParamsOf } from "../../core/kit/params.js";

/** The topoh module's configuration section (Kamailio topoh's modparams). */
export const topohParams = defineParams("topoh", {
  mask_key: str({ default: "_static_value_", doc: "Key of the masking; every node of a fleet needs the same one (change the default)" }),
  mask_ip: str({ default: "127.0.0.8", doc: "Host put in masked URIs (Contact, Record-Route)" }),
  mask_callid: flag01({ default: false, doc: "Mask the Call-ID toward the callee side too" }),
  uparam_name: str({ default: "line", doc: "URI parameter holding a masked URI" }),
  uparam_prefix: str({ default: "sr-", doc: "Prefix of the masked URI parameter value" }),
  vparam_name: str({ default: "branch", doc: "Via parameter holding the masked Via headers" }),
  vparam_prefix: str({ default: "z9hG4bKsr-", doc: "Prefix of the masked Via parameter value (keeps the RFC 3261 magic cookie)" }),
  callid_prefix: str({ default: "!!:", doc: "Prefix of a masked Call-ID" }),
});

export type TopohParams = ParamsOf<typeof topohParams.shape>;
