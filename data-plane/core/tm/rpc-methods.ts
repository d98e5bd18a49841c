import type { RpcMethod } from "../../../lib/rpc/registry.js";
import type { SipCore } from "./engine.js";
import { RpcError, RpcCode } from "../../../lib/rpc/errors.js";
import { Branch } from "./transaction.js";

/**
 * RPCs of the SIP core with Kamailio's names and output shapes: tm.stats, tm.list, sl.stats,
 * core.sockets_list, core.tcp_list, core.tcp_info, plus Olelo's script.reload / script.info.
 */
/** What script.reload / script.info need of the script runtime (script/runtime.ts's ScriptRuntime). */
export interface ReloadableScript {
  readonly path: string | null;
  readonly loadedAt: string;
  reload(path?: string): Promise<{ path: string; loadedAt: string }>;
}

export function sipCoreMethods(core: SipCore, script: () => ReloadableScript | null): RpcMethod[] {
  const tmx = core.tmx;
  const v = (n: string) => tmx.get(n) ?? 0;
  return [
    {
      name: "tm.stats",
      doc: "Transaction statistics (current, waiting, total, replies by class)",
      params: [],
      returns: "{current, waiting, total, total_local, rpl_received, rpl_generated, rpl_sent, 6xx, 5xx, 4xx, 3xx, 2xx, created, freed, delayed_free}",
      handler: () => {
        let waiting = 0;
        for (const t of core.serverTxns.values()) if (t.finalSent) waiting++;
        // Kamailio counts every transaction in total and the locally originated ones (probes, BYEs of
        // the dialog module) again in total_local, so total_local <= total always.
        const local = v("UAC_transactions");
        const total = v("UAS_transactions") + local;
        let localCurrent = 0;
        for (const h of core.clientTxns.values()) if (!(h instanceof Branch)) localCurrent++;
        const current = core.serverTxns.size + localCurrent;
        return {
          current,
          waiting,
          total,
          total_local: local,
          rpl_received: v("rpl_received"),
          rpl_generated: v("rpl_generated"),
          rpl_sent: v("rpl_sent"),
          "6xx": v("6xx_transactions"),
          "5xx": v("5xx_transactions"),
          "4xx": v("4xx_transactions"),
          "3xx": v("3xx_transactions"),
          "2xx": v("2xx_transactions"),
          created: total,
          freed: total - current,
          delayed_free: 0,
        };
      },
    },
    {
      name: "tm.list",
      doc: "List the transactions in memory",
      params: [],
      returns: "[{cell, tindex, tlabel, method, from, to, callid, cseq, uas_request, tflags, outgoings, ref_count, lifetime}]",
      handler: () =>
        [...core.serverTxns.values()].slice(0, 10_000).map((t) => ({
          cell: `0x${t.id.toString(16)}`,
          tindex: t.id,
          tlabel: t.id,
          method: t.method,
          from: t.req.header("from") ?? "",
          to: t.req.header("to") ?? "",
          callid: t.req.callId,
          cseq: String(t.req.cseq.seq),
          uas_request: "yes",
          tflags: (t.canceled ? 1 : 0) | (t.finalSent ? 2 : 0),
          outgoings: t.branches.length,
          ref_count: 1,
          lifetime: Math.round((Date.now() - t.createdAt) / 1000),
          status: t.lastStatus,
        })),
    },
    {
      name: "tm.cancel",
      doc: "Cancel an INVITE transaction by Call-ID and CSeq number",
      params: [
        { name: "callid", type: "string" },
        { name: "cseq", type: "string" },
      ],
      handler: ({ callid, cseq }) => {
        const seq = Number(String(cseq).split(" ")[0]);
        for (const t of core.serverTxns.values()) {
          if (t.isInvite && t.req.callId === callid && t.req.cseq.seq === seq && !t.finalSent) {
            t.canceled = true;
            for (const b of t.branches) if (b.final === 0) core.sendCancel(b, null);
            return { status: "canceled" };
          }
        }
        throw new RpcError(RpcCode.NotFound, `no pending INVITE transaction for callid '${callid}' cseq ${cseq}`);
      },
    },
    {
      name: "sl.stats",
      doc: "Stateless reply statistics",
      params: [],
      returns: "{200, 202, 2xx, 300, 301, 302, 3xx, 400, 401, 403, 404, 407, 408, 483, 4xx, 500, 5xx, 6xx, xxx}",
      handler: () => {
        const out: Record<string, number> = {};
        for (const n of core.sl.names()) {
          const m = /^(\w+)_replies$/.exec(n);
          if (m) out[m[1]!] = core.sl.get(n) ?? 0;
        }
        return out;
      },
    },
    {
      name: "core.sockets_list",
      doc: "List the listen sockets",
      params: [],
      returns: "{socket: [{PROTO, NAME, ADDRLIST:{ADDR}, PORT, MCAST, MHOMED, ADVERTISE}]}",
      handler: () => ({
        socket: core.transport.sockets.map((s) => ({
          PROTO: s.proto,
          NAME: s.name ?? "",
          ADDRLIST: { ADDR: s.address },
          PORT: s.boundPort,
          MCAST: "no",
          MHOMED: "no",
          ADVERTISE: s.advertise ? `${s.advertise.host}:${s.advertise.port}` : "-",
        })),
      }),
    },
    {
      name: "core.tcp_info",
      doc: "TCP connection statistics",
      params: [],
      returns: "{readers, max_connections, opened_connections, write_queued_bytes, relay?}",
      handler: () => ({
        readers: 1,
        max_connections: core.config.tcp.maxConnections,
        opened_connections: core.transport.connectionCount(),
        write_queued_bytes: 0,
        // workers: sends and replies handed between workers for connections one of them holds (conn-share.ts)
        ...(core.transport.share ? { relay: { ...core.transport.share.stats } } : {}),
      }),
    },
    {
      name: "core.tcp_list",
      doc: "List open stream connections",
      params: [],
      returns: "[{id, type, state, timeout, ref_count, src, dst}]",
      handler: () =>
        core.transport.listConnections().map((c) => ({
          id: c.id,
          type: c.proto.toUpperCase(),
          state: c.closed ? "closed" : "ok",
          timeout: Math.round((core.config.tcp.idleTimeoutMs - (Date.now() - c.lastActivity)) / 1000),
          ref_count: 1,
          src: `${c.remote.address}:${c.remote.port}`,
          dst: `${c.local.address}:${c.local.boundPort}`,
        })),
    },
    {
      name: "script.reload",
      doc: "Reload the routing script (optionally from another file); the old one stays on error",
      params: [{ name: "file", type: "string", optional: true }],
      returns: "{path, loadedAt}",
      handler: async ({ file }) => {
        const rt = script();
        if (!rt) throw new RpcError(RpcCode.Unavailable, "no script runtime");
        try {
          return await rt.reload(file as string | undefined);
        } catch (e) {
          throw new RpcError(RpcCode.ServerError, `script reload failed: ${e instanceof Error ? e.message : String(e)}`);
        }
      },
    },
    {
      name: "script.info",
      doc: "The routing script in use",
      params: [],
      handler: () => {
        const rt = script();
        return { path: rt?.path ?? null, loadedAt: rt?.loadedAt ?? null };
      },
    },
  ];
}
