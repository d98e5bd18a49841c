import { isIP } from "node:net";
import type { RpcMethod } from "../../../lib/rpc/registry.js";
import { RpcCode, RpcError } from "../../../lib/rpc/errors.js";
import type { TransportGateway } from "./gateway.js";
import type { TransportProto } from "../../../lib/sip/types.js";
import { BLST, PROTO_NUMBERS } from "../dns/dst-blocklist.js";
import type { LookupType } from "../dns/sip-resolver.js";
import type { SrvData, NaptrData } from "../dns/dns-wire.js";
import { DEFAULT_TLS_GLOBAL } from "../transport/gateway-config.js";

const PROTOS: readonly string[] = ["udp", "tcp", "tls", "sctp", "ws", "wss"];

function protoParam(v: unknown): TransportProto {
  const s = String(v).toLowerCase();
  if (/^\d+$/.test(s)) {
    const p = PROTO_NUMBERS[Number(s)];
    if (p) return p;
  } else if (PROTOS.includes(s)) return s as TransportProto;
  throw RpcError.invalidParam("proto", "want udp, tcp, tls, sctp, ws, wss or Kamailio's number 1-6");
}

function ipParam(v: unknown): string {
  const s = String(v).replace(/^\[|\]$/g, "");
  if (!isIP(s)) throw RpcError.invalidParam("ip", `'${String(v)}' is not an IP address`);
  return s;
}

function portParam(v: unknown): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw RpcError.invalidParam("port", "want 0-65535 (0 = any port)");
  return n;
}

/** Where the gateway RPCs find the gateway (a DataPlane; null before it is composed). */
export interface GatewayRpcHost {
  readonly gateway: TransportGateway | null;
}

function gw(core: GatewayRpcHost) {
  const g = core.gateway;
  if (!g) throw new RpcError(RpcCode.Unavailable, "transport gateway not started");
  return g;
}

/**
 * RPCs of the transport gateway with Kamailio's names and shapes: tls.list / tls.info /
 * tls.options / tls.reload (tls module), dst_blocklist.view / add / delete / delete_all (core),
 * dns.view / dns.lookup / dns.delete_all (core DNS cache), ws.dump (websocket module).
 */
export function gatewayRpcMethods(core: GatewayRpcHost): RpcMethod[] {
  return [
    {
      name: "tls.list",
      doc: "List open TLS connections",
      params: [],
      returns: "[{id, timeout, src_ip, src_port, dst_ip, dst_port, cipher, ct_wq_size, enc_rd_buf, flags, state, server_name, peer_subject}]",
      handler: () =>
        gw(core)
          .tls.connections()
          .map((c) => {
            const s = c.socket as import("node:tls").TLSSocket;
            const cipher = c.established ? s.getCipher?.() : null;
            const peer = c.established ? s.getPeerCertificate?.() : null;
            return {
              id: c.id,
              timeout: Math.round((gw(core).config.tcp.idleTimeoutMs - (Date.now() - c.lastActivity)) / 1000),
              src_ip: c.remote.address,
              src_port: c.remote.port,
              dst_ip: c.local.address,
              dst_port: c.local.boundPort,
              cipher: cipher ? `${cipher.standardName ?? cipher.name} ${s.getProtocol?.() ?? ""}`.trim() : "unknown",
              ct_wq_size: s.writableLength ?? 0,
              enc_rd_buf: 0,
              flags: 0,
              state: c.closed ? "closed" : c.established ? "established" : "tls_connect",
              server_name: c.serverName ?? "",
              peer_subject: peer && peer.subject ? (peer.subject.CN ?? "") : "",
            };
          }),
    },
    {
      name: "tls.info",
      doc: "TLS connection counts",
      params: [],
      returns: "{max_connections, opened_connections, clear_text_write_queued_bytes}",
      handler: () => {
        const conns = gw(core).tls.connections();
        let queued = 0;
        for (const c of conns) queued += c.socket.writableLength ?? 0;
        return { max_connections: gw(core).config.tcp.maxConnections, opened_connections: conns.length, clear_text_write_queued_bytes: queued };
      },
    },
    {
      name: "tls.options",
      doc: "TLS settings in use (per listener and client profiles)",
      params: [],
      handler: () => {
        const g = gw(core);
        const t = gw(core).config.tls ?? DEFAULT_TLS_GLOBAL;
        return {
          method: "TLSv1.2+",
          connection_timeout: Math.round(gw(core).config.tcp.idleTimeoutMs / 1000),
          handshake_timeout_ms: t.handshakeTimeoutMs,
          watch: t.watch,
          reload_on_sighup: t.reloadOnSighup,
          servers: g.tls.listeners.map((l) => ({
            socket: l.sock.socketString,
            certificate: l.contexts.settings.cert,
            private_key: l.contexts.settings.key,
            ca_list: l.contexts.settings.ca ?? "",
            verify_certificate: l.contexts.settings.verifyClient ? 1 : 0,
            require_certificate: l.contexts.settings.requireClientCert ? 1 : 0,
            server_names: Object.keys(l.contexts.settings.sni),
            min_version: l.contexts.settings.minVersion,
            loaded_at: new Date(l.contexts.loadedAt).toISOString(),
          })),
          clients: [t.client, ...t.destinations].map((p) => ({
            match: p.match ?? "default",
            verify_certificate: p.verifyServer ? 1 : 0,
            server_name: p.serverName ?? "",
            certificate: p.cert ?? "",
            ca_list: p.ca ?? "",
          })),
        };
      },
    },
    {
      name: "tls.reload",
      doc: "Reload TLS certificates, keys and CAs from their files (new connections use them)",
      params: [],
      returns: "{reloaded, errors}",
      handler: () => {
        const r = gw(core).reload();
        if (r.errors.length) throw new RpcError(RpcCode.ServerError, `Error while loading TLS certificates: ${r.errors.join("; ")}`, r);
        return r;
      },
    },
    {
      name: "ws.dump",
      doc: "List open WebSocket connections",
      params: [],
      returns: "[{id, proto, src_ip, src_port, dst_ip, dst_port, origin, idle_s, rx, tx}]",
      handler: () => {
        const g = gw(core);
        return [...g.ws.connections(), ...g.wss.connections()].map((c) => ({
          id: c.id,
          proto: c.proto,
          src_ip: c.remote.address,
          src_port: c.remote.port,
          dst_ip: c.local.address,
          dst_port: c.local.boundPort,
          origin: c.origin ?? "",
          idle_s: Math.round((Date.now() - c.lastActivity) / 1000),
          rx: c.rx,
          tx: c.tx,
        }));
      },
    },
    {
      name: "dst_blocklist.view",
      doc: "Blocklisted destinations",
      params: [],
      returns: "[{protocol, ip, port, expires, flags}]",
      handler: () =>
        gw(core)
          .blocklist.entries()
          .map((e) => ({
            protocol: e.proto,
            ip: e.address,
            port: e.port,
            expires: e.expires === Infinity ? -1 : Math.max(0, Math.round((e.expires - Date.now()) / 1000)),
            flags: e.flags,
          })),
    },
    {
      name: "dst_blocklist.add",
      doc: "Blocklist a destination (ip, port, proto, flags) for dst_blocklist_expire seconds",
      params: [
        { name: "ip", type: "string" },
        { name: "port", type: "int" },
        { name: "proto", type: "string", doc: "udp|tcp|tls|ws|wss or 1-6" },
        { name: "flags", type: "int", optional: true, doc: "BLST_* bits; 128 = permanent" },
        { name: "expire", type: "int", optional: true, doc: "seconds (default dst_blocklist_expire)" },
      ],
      handler: ({ ip, port, proto, flags, expire }) => {
        const e = gw(core).blocklist.add(
          { proto: protoParam(proto), address: ipParam(ip), port: portParam(port) },
          flags === undefined ? BLST.ADM_PROHIBITED : Number(flags),
          expire === undefined ? undefined : Math.max(1, Number(expire)),
        );
        return { protocol: e.proto, ip: e.address, port: e.port, flags: e.flags };
      },
    },
    {
      name: "dst_blocklist.delete",
      doc: "Remove one destination from the blocklist",
      params: [
        { name: "ip", type: "string" },
        { name: "port", type: "int" },
        { name: "proto", type: "string" },
      ],
      handler: ({ ip, port, proto }) => {
        const ok = gw(core).blocklist.delete({ proto: protoParam(proto), address: ipParam(ip), port: portParam(port) });
        if (!ok) throw new RpcError(RpcCode.NotFound, "destination not in the blocklist");
        return { deleted: 1 };
      },
    },
    {
      name: "dst_blocklist.delete_all",
      doc: "Empty the blocklist (permanent entries stay)",
      params: [],
      handler: () => ({ deleted: gw(core).blocklist.clear() }),
    },
    {
      name: "dns.view",
      doc: "DNS cache entries",
      params: [],
      returns: "[{name, type, ttl, expires, negative, records}]",
      handler: () =>
        gw(core)
          .resolver.cache.entries()
          .map((e) => ({
            name: e.name,
            type: e.type,
            ttl: e.ttl,
            expires: Math.max(0, Math.round((e.expires - Date.now()) / 1000)),
            negative: e.negative ? 1 : 0,
            records: formatRecords(e.data),
          })),
    },
    {
      name: "dns.lookup",
      doc: "Resolve a name through the cache (type A, AAAA, SRV or NAPTR)",
      params: [
        { name: "type", type: "string", enum: ["A", "AAAA", "SRV", "NAPTR", "a", "aaaa", "srv", "naptr"] },
        { name: "name", type: "string" },
      ],
      handler: async ({ type, name }) => {
        try {
          const e = await gw(core).resolver.lookup(String(name), String(type).toUpperCase() as LookupType);
          return { name: e.name, type: e.type, ttl: e.ttl, negative: e.negative ? 1 : 0, records: formatRecords(e.data) };
        } catch (err) {
          throw new RpcError(RpcCode.Unavailable, `DNS lookup failed: ${(err as Error).message}`);
        }
      },
    },
    {
      name: "dns.delete_all",
      doc: "Empty the DNS cache",
      params: [],
      handler: () => {
        const c = gw(core).resolver.cache;
        const n = c.size;
        c.clear();
        return { deleted: n };
      },
    },
  ];
}

function formatRecords(data: readonly unknown[]): string[] {
  return data.map((d) => {
    if (typeof d === "string") return d;
    if ("target" in (d as object)) {
      const s = d as SrvData;
      return `${s.priority} ${s.weight} ${s.port} ${s.target}`;
    }
    const n = d as NaptrData;
    return `${n.order} ${n.preference} "${n.flags}" "${n.service}" "${n.regexp}" ${n.replacement || "."}`;
  });
}
