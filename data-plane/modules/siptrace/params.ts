import { flag01, defineParams, int, str, type ParamsOf } from "../../core/kit/params.js";

/** siptrace modparams (Kamailio names): where to send HEP and when. */
export const siptraceParams = defineParams("siptrace", {
  duplicate_uri: str({ default: "sip:127.0.0.1:9060", doc: "HEP receiver, `sip:host:port[;transport=udp|tcp]` (Homer / Kamailio sipcapture)" }),
  hep_version: int({ min: 3, max: 3, default: 3, coerce: "digits", doc: "HEP version; only 3 is supported" }),
  hep_capture_id: int({ min: 0, max: 4_294_967_295, default: 1, coerce: "digits", doc: "Capture agent id (HEP chunk 12)" }),
  auth_key: str({ default: "", doc: "HEP auth key (chunk 14); empty = none" }),
  trace_on: flag01({ default: false, doc: "Global tracing at start (every message); toggled by RPC siptrace.status" }),
  trace_mode: int({ min: 0, max: 1, default: 1, coerce: "digits", doc: "1 = HEP to duplicate_uri (the only mode)" }),
});

export type SiptraceParams = ParamsOf<typeof siptraceParams.shape>;

/** Parses `sip:host:port[;transport=tcp]` into the HEP destination; throws a one-line error. */
export function parseDuplicateUri(uri: string): { host: string; port: number; proto: "udp" | "tcp" } {
  const m = /^(?:sips?:)?(\[[0-9a-fA-F:.]+\]|[^:;]+)(?::(\d+))?((?:;[^;]*)*)$/.exec(uri.trim());
  if (!m) throw new Error(`siptrace.duplicate_uri: cannot parse ${JSON.stringify(uri)} (expected sip:host:port)`);
  const port = m[2] ? Number(m[2]) : 9060;
  if (port < 1 || port > 65535) throw new Error(`siptrace.duplicate_uri: bad port in ${JSON.stringify(uri)}`);
  const t = /;transport=(\w+)/i.exec(m[3] ?? "")?.[1]?.toLowerCase() ?? "udp";
  if (t !== "udp" && t !== "tcp") throw new Error(`siptrace.duplicate_uri: transport must be udp or tcp, not ${t}`);
  return { host: m[1]!.replace(/^\[|\]$/g, ""), port, proto: t };
}
