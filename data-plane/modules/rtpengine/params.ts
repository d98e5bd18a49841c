import { defineParams, int, str, type ParamsOf } from "../../core/kit/params.js";

/** The rtpengine module's section: Kamailio's modparams of the same names plus Olelo's ping_interval. */
export const rtpengineParams = defineParams("rtpengine", {
  rtpengine_sock: str({ default: "", doc: "Instances: `url[=weight]` separated by spaces, optionally `<setid> == url …` groups separated by `;` (rows of the `rtpengine` table are added)" }),
  rtpengine_disable_tout: int({ min: 0, max: 86_400, default: 60, coerce: "digits", doc: "Seconds an instance that did not answer stays disabled before it is tried again" }),
  rtpengine_tout_ms: int({ min: 10, max: 60_000, default: 1000, coerce: "digits", doc: "Milliseconds to wait for a reply before resending" }),
  rtpengine_retr: int({ min: 1, max: 20, default: 5, coerce: "digits", doc: "Sends of one command to one instance before it counts as not answering" }),
  queried_nodes_limit: int({ min: 1, max: 50, default: 30, coerce: "digits", doc: "Instances tried for one command before giving up" }),
  setid_default: int({ min: 0, max: 1_000_000, default: 0, coerce: "digits", doc: "Set used when the script did not call setSet (set_rtpengine_set)" }),
  ping_interval: int({ min: 0, max: 3600, default: 10, coerce: "digits", doc: "Seconds between health pings of every instance (0 = only on rtpengine.ping); a disabled instance that answers after rtpengine_disable_tout is enabled again" }),
});

export type RtpengineParams = ParamsOf<typeof rtpengineParams.shape>;

export const parseRtpengineParams = (cfg: Readonly<Record<string, unknown>>): RtpengineParams => rtpengineParams.parse(cfg);
