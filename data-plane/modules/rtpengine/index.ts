import { defineModule, RpcCode, RpcError, type TableSink } from "../../core/api.js";
import type { RequestState } from "../../core/api.js";
import { tableNamesOf } from "../../../tables/kinds.js";
import { compileRtpengine, type RtpengineRow } from "../../../tables/rtpengine/rtpengine-table.js";
import { RtpEngine, STAT_NAMES, type RtpMessage } from "./engine.js";
import type { NgDict, RtpNode } from "./nodes.js";
import { parseSockParam } from "./nodes.js";
import { rtpengineParams, type RtpengineParams } from "./params.js";

/**
 * The rtpengine script API (Kamailio rtpengine): media relay control over the ng protocol.
 * Every function returns Kamailio's codes (1 done, -1 not) as a promise: the route awaits it and
 * the transaction stays suspended meanwhile (bounded by rtpengine_tout_ms × rtpengine_retr per
 * instance tried).
 *
 * @example
 *   // NATMANAGE: offer on the INVITE, answer in the reply route, delete on BYE / failure
 *   await modules.rtpengine.manage(req, "replace-origin replace-session-connection");
 */
export interface RtpengineApi {
  readonly params: RtpengineParams;
  /** [rtpengine_manage(flags)] offer / answer / delete chosen from the message. 1 or -1. */
  manage(m: RtpMessage, flags?: string): Promise<number> | number;
  /** [rtpengine_offer(flags)] 1 SDP rewritten, -1 no SDP / no instance / refused. */
  offer(m: RtpMessage, flags?: string): Promise<number>;
  /** [rtpengine_answer(flags)] 1 SDP rewritten, -1 otherwise. */
  answer(m: RtpMessage, flags?: string): Promise<number>;
  /** [rtpengine_delete(flags)] 1 deleted, -1 otherwise. */
  delete(m: RtpMessage, flags?: string): Promise<number>;
  /** Deletes a call's session by Call-ID (and From-tag): for dialog ends outside a request. 1 or -1. */
  deleteCall(callId: string, fromTag?: string): Promise<number>;
  /** [rtpengine_query] rtpengine's view of a call, or null. */
  query(callId: string, fromTag?: string): Promise<NgDict | null>;
  /** [set_rtpengine_set(setid)] 1, or -1 when no instance has this set. */
  setSet(req: RequestState, setid: number): number;
  /** The instances with their state (for scripts and tests). */
  nodes(): readonly RtpNode[];
}

const RPCS = ["rtpengine.show", "rtpengine.enable", "rtpengine.ping", "rtpengine.reload"];

function showNode(n: RtpNode, i: number, now: number) {
  const down = n.downUntil > now;
  return {
    url: n.url,
    set: n.setid,
    index: i,
    weight: n.weight,
    disabled: n.adminDisabled || down ? 1 : 0,
    admin_disabled: n.adminDisabled ? 1 : 0,
    recheck_ticks: down ? Math.ceil((n.downUntil - now) / 1000) : 0,
    source: n.origin,
  };
}

/** rtpengine: media relay control (Kamailio rtpengine). See README.md. */
export default defineModule<RtpengineApi, RtpengineParams>({
  name: "rtpengine",
  doc: "Media relay control over rtpengine's ng protocol: offer/answer/delete, instance sets with weights, health pings and failover (Kamailio rtpengine)",
  params: rtpengineParams,
  rpc: RPCS,
  stats: { group: "rtpengine", counters: [...STAT_NAMES] },
  tables: ["rtpengine"],
  init(host) {
    const p = host.config;
    const stats = host.stats.group("rtpengine", STAT_NAMES.filter((s) => s !== "active_calls"));
    const eng = new RtpEngine(p, parseSockParam(p.rtpengine_sock), stats, host.events, host.log);
    stats.gauge("active_calls", () => eng.activeCalls);
    const sink: TableSink<readonly RtpengineRow[]> = {
      kind: "rtpengine",
      tables: tableNamesOf("rtpengine"),
      compile: (set) => compileRtpengine(set),
      apply: (rows) => eng.applyRows(rows),
    };
    host.tables.register(sink);
    // dialog timeout / termination: a call that is still known here has its session deleted
    eng.onStop(host.events.subscribe(["call.ended"], (ev) => {
      const d = ev.data as { call_id?: string; from_tag?: string };
      if (typeof d.call_id === "string" && eng.hasCall(d.call_id)) void eng.deleteCall(p.setid_default, d.call_id, d.from_tag ?? null).catch(() => -1);
    }));
    const pick = (url: string): RtpNode[] => {
      const all = url === "all" ? eng.nodes : eng.nodes.filter((n) => n.url === url);
      if (all.length === 0) throw new RpcError(RpcCode.NotFound, `Instance not found: ${url}`);
      return all;
    };
    host.rpc.register({
      name: "rtpengine.show",
      doc: "List rtpengine instances (url or 'all') with set, weight, disabled and seconds until recheck",
      params: [{ name: "url", type: "string", optional: true, doc: "instance url or 'all' (default)" }],
      handler: ({ url }) => {
        const now = Date.now();
        return pick(typeof url === "string" && url ? url : "all").map((n) => showNode(n, eng.nodes.indexOf(n), now));
      },
    });
    host.rpc.register({
      name: "rtpengine.enable",
      doc: "Enable (1) or disable (0) an instance (url or 'all'); enabling clears a timeout's disable",
      params: [
        { name: "url", type: "string", doc: "instance url or 'all'" },
        { name: "enable", type: "int", doc: "1 enable, 0 disable" },
      ],
      handler: ({ url, enable }) => {
        if (enable !== 0 && enable !== 1) throw RpcError.invalidParam("enable", "must be 0 or 1");
        const ns = pick(String(url));
        for (const n of ns) {
          n.adminDisabled = enable === 0;
          if (enable === 1) n.downUntil = 0;
        }
        const now = Date.now();
        return ns.map((n) => showNode(n, eng.nodes.indexOf(n), now));
      },
    });
    host.rpc.register({
      name: "rtpengine.ping",
      doc: "Ping an instance (url or 'all'); one that answers is enabled again, one that does not is disabled",
      params: [{ name: "url", type: "string", optional: true, doc: "instance url or 'all' (default)" }],
      handler: async ({ url }) => {
        const ns = pick(typeof url === "string" && url ? url : "all");
        const res = await Promise.all(ns.map(async (n) => ({ url: n.url, set: n.setid, status: (await eng.ping(n)) ? "success" : "fail" })));
        return res;
      },
    });
    host.rpc.register({
      name: "rtpengine.reload",
      doc: "Read the rtpengine table again from its source (file or database)",
      params: [],
      handler: async () => {
        const r = await host.tables.reload("rtpengine");
        if (!r.ok) throw new RpcError(RpcCode.ServerError, `Reload Failed: ${r.error.message}`);
        return { version: r.version, instances: eng.nodes.length };
      },
    });
    eng.start();
    const api: RtpengineApi & { _engine: RtpEngine } = {
      _engine: eng,
      params: p,
      manage: (m, flags) => eng.manage(m, flags),
      offer: (m, flags) => eng.sdpCommand(m, "offer", flags),
      answer: (m, flags) => eng.sdpCommand(m, "answer", flags),
      delete: (m, flags) => eng.delete(m, flags),
      deleteCall: (callId, fromTag) => eng.deleteCall(p.setid_default, callId, fromTag ?? null),
      query: (callId, fromTag) => eng.query(callId, fromTag),
      setSet: (req, setid) => eng.setSet(req, setid),
      nodes: () => eng.nodes,
    };
    return api;
  },
  destroy(api) {
    (api as unknown as { _engine?: RtpEngine } | undefined)?._engine?.stop();
  },
});

export { bencode, bdecode } from "./bencode.js";
export { parseFlags } from "./flags.js";
export { sdpMedia, isSdp } from "./sdp.js";
