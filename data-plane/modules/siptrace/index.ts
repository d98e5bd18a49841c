import { createSocket, type Socket } from "node:dgram";
import { connect, type Socket as TcpSocket, isIPv6 } from "node:net";
import { RpcCode, RpcError, defineModule } from "../../core/api.js";
import { LiveInstances } from "../../core/kit/index.js";
import type { RequestContext } from "../../core/api.js";
import { callIdOf, encodeHep3 } from "./hep.js";
import { parseDuplicateUri, siptraceParams, type SiptraceParams } from "./params.js";

export { encodeHep3, decodeHep3, callIdOf } from "./hep.js";

/** The siptrace script API. */
export interface SiptraceApi {
  /** [sip_trace()] traces this request's Call-ID (every message of the call) for 10 minutes, also when tracing is off globally. */
  sipTrace(req: RequestContext): void;
  /** Global tracing state (RPC siptrace.status). */
  readonly on: boolean;
  /** HEP packets sent (for tests and stats). */
  readonly sent: number;
}

const PER_CALL_MS = 10 * 60_000;
const instances = new LiveInstances<SiptraceApi>();

/** siptrace: HEP v3 copies of received and sent SIP messages to a Homer / sipcapture receiver. */
export default defineModule<SiptraceApi, SiptraceParams>({
  name: "siptrace",
  doc: "SIP tracing: HEP v3 copies of every received and sent message to Homer (Kamailio siptrace)",
  params: siptraceParams,
  rpc: ["siptrace.status"],
  stats: { group: "siptrace", counters: ["sent", "errors"] },
  init(host) {
    const p = host.config;
    const dest = parseDuplicateUri(p.duplicate_uri);
    const stats = host.stats.group("siptrace", ["sent", "errors"]);
    let on = p.trace_on;
    let sent = 0;
    const calls = new Map<string, number>(); // Call-ID → expiry
    let udp: Socket | null = null;
    let tcp: TcpSocket | null = null;
    const out = (b: Buffer): void => {
      sent++;
      stats.inc("sent");
      if (dest.proto === "udp") {
        udp ??= createSocket(isIPv6(dest.host) ? "udp6" : "udp4").on("error", () => stats.inc("errors"));
        udp.unref();
        udp.send(b, dest.port, dest.host);
        return;
      }
      if (!tcp || tcp.destroyed) {
        tcp = connect({ host: dest.host, port: dest.port });
        tcp.on("error", (e) => {
          stats.inc("errors");
          host.log.debug("siptrace: HEP TCP error", { error: e.message });
        });
        tcp.unref();
      }
      tcp.write(b);
    };
    const off = host.sip.setMessageTap?.((isSent, data, local, remote) => {
      const cid = callIdOf(data);
      if (!on) {
        if (cid === null || calls.size === 0) return;
        const exp = calls.get(cid);
        if (exp === undefined) return;
        if (exp < Date.now()) {
          calls.delete(cid);
          return;
        }
      }
      const src = isSent ? local : remote;
      const dst = isSent ? remote : local;
      out(
        encodeHep3({
          proto: remote.proto,
          srcAddress: src.address,
          srcPort: src.port,
          dstAddress: dst.address,
          dstPort: dst.port,
          timeMs: Date.now(),
          captureId: p.hep_capture_id,
          payload: data,
          correlationId: cid,
          authKey: p.auth_key || null,
        }),
      );
    });
    if (!off) host.log.warn("siptrace: the core has no message tap: nothing is traced");
    host.rpc.register({
      name: "siptrace.status",
      doc: "Global SIP tracing: on, off, or check (Kamailio siptrace.status)",
      params: [{ name: "mode", type: "string", doc: "on | off | check" }],
      returns: "{ status }",
      handler: ({ mode }: Record<string, unknown>) => {
        const m = String(mode ?? "").toLowerCase();
        if (m === "on") on = true;
        else if (m === "off") on = false;
        else if (m !== "check") throw new RpcError(RpcCode.InvalidParams, "siptrace.status: mode must be on, off or check");
        return { status: on ? "on" : "off" };
      },
    });
    const api: SiptraceApi = {
      sipTrace(req) {
        const cid = req.msg.callId;
        if (cid) calls.set(cid, Date.now() + PER_CALL_MS);
        if (calls.size > 100_000) for (const [k, e] of calls) if (e < Date.now()) calls.delete(k);
      },
      get on() {
        return on;
      },
      get sent() {
        return sent;
      },
    };
    instances.add(api, () => {
      off?.();
      udp?.close();
      tcp?.destroy();
    });
    return api;
  },
  destroy(api) {
    return instances.destroy(api);
  },
});
