import { createSocket, type Socket as UdpSocket } from "node:dgram";
import { chmodSync, lstatSync, unlinkSync } from "node:fs";
import type { Logger } from "../../../lib/log/logger.js";
import { isLoopbackHost } from "./auth.js";
import type { JsonRpcDispatcher } from "../../../lib/rpc/json-rpc.js";
import { createUnixDgramSocket, type UnixDgramSocket } from "./unix-dgram.js";

/**
 * Kamailio's jsonrpcs datagram transport (`dgram_socket`): one JSON-RPC request per datagram, the
 * reply goes back to the sender's address. This is what kamcli uses (`[jsonrpc] transport=socket`,
 * `srvaddr=/path/olelo_rpc.sock`): it binds its own unix socket, sends, and waits up to 4 s for one
 * reply datagram of at most 84 000 bytes. `udp:IP:PORT` is accepted too (loopback only — there is
 * no authentication on this transport; the unix socket's file mode is the access control).
 *
 * Replies larger than `maxReplyBytes` (default 65 000, what fits kamcli and the kernel default)
 * are replaced by a JSON-RPC error saying so, never truncated.
 *
 * @example
 *   await startDgramTransport({ path: "/run/olelo/olelo_rpc.sock" }, dispatcher, log);
 */
export interface DgramOptions {
  /** Unix socket path, or "udp:IP:PORT". */
  readonly path: string;
  /** File mode of the unix socket (default 0o660). */
  readonly mode?: number;
  readonly maxReplyBytes?: number;
}

export interface DgramTransport {
  readonly path: string;
  /** Bound UDP port (udp: form only). */
  readonly port?: number;
  close(): Promise<void>;
}

export async function startDgramTransport(opts: DgramOptions, dispatcher: JsonRpcDispatcher, log: Logger): Promise<DgramTransport> {
  const maxReply = opts.maxReplyBytes ?? 65_000;
  const m = /^udp:(\[[^\]]+\]|[^:]+):(\d+)$/.exec(opts.path);
  if (m) return startUdp(m[1]!.replace(/^\[|\]$/g, ""), Number(m[2]), dispatcher, log, maxReply);

  const path = opts.path;
  // sun_path holds 108 bytes including the NUL; a longer path would be silently truncated
  if (Buffer.byteLength(path) > 107) throw new Error(`jsonrpc dgram: socket path longer than 107 bytes: ${path}`);
  removeStaleSocket(path);
  let sock: UnixDgramSocket | null = null;
  sock = createUnixDgramSocket(
    (msg, from) => {
      if (!from) {
        log.debug("jsonrpc dgram: sender has no bound address; no reply possible");
      }
      void answer(msg, from, path, dispatcher, maxReply).then((out) => {
        if (out && from && sock && !sock.sendTo(out, from)) {
          log.warn("jsonrpc dgram: reply not sent", { to: from, error: sock.lastError });
        }
      });
    },
    (e) => log.warn("jsonrpc dgram socket error", { error: e.message }),
  );
  try {
    sock.bind(path);
    chmodSync(path, opts.mode ?? 0o660);
  } catch (e) {
    sock.close();
    throw e;
  }
  return {
    path,
    close: async () => {
      sock?.close();
      sock = null;
      try {
        unlinkSync(path);
      } catch {
        // already gone
      }
    },
  };
}

async function answer(msg: Buffer, from: string | null, local: string, dispatcher: JsonRpcDispatcher, maxReply: number): Promise<Buffer | null> {
  const reply = await dispatcher.handleText(msg.toString("utf8"), { info: { transport: "dgram", remote: from ?? local } });
  if (reply === null) return null;
  let out = Buffer.from(JSON.stringify(reply, null, "\t"));
  if (out.length > maxReply) {
    const id = Array.isArray(reply) ? null : reply.id;
    out = Buffer.from(
      JSON.stringify({
        jsonrpc: "2.0",
        id,
        error: { code: 500, message: `reply of ${out.length} bytes exceeds the datagram limit of ${maxReply}; use HTTP /RPC` },
      }),
    );
  }
  return out;
}

async function startUdp(host: string, port: number, dispatcher: JsonRpcDispatcher, log: Logger, maxReply: number): Promise<DgramTransport> {
  if (!isLoopbackHost(host)) throw new Error(`jsonrpc dgram: udp:${host}:${port} refused — the datagram transport has no authentication; bind it to loopback`);
  const sock: UdpSocket = createSocket(host.includes(":") ? "udp6" : "udp4");
  sock.on("message", (msg, rinfo) => {
    void answer(msg, `${rinfo.address}:${rinfo.port}`, `udp:${host}:${port}`, dispatcher, maxReply).then((out) => {
      if (out) sock.send(out, rinfo.port, rinfo.address, (e) => e && log.warn("jsonrpc udp: reply not sent", { error: e.message }));
    });
  });
  sock.on("error", (e) => log.warn("jsonrpc udp socket error", { error: e.message }));
  await new Promise<void>((resolve, reject) => {
    sock.once("error", reject);
    sock.bind(port, host, () => {
      sock.off("error", reject);
      resolve();
    });
  });
  const bound = sock.address().port;
  return {
    path: `udp:${host}:${bound}`,
    port: bound,
    close: () => new Promise<void>((r) => sock.close(() => r())),
  };
}

/** Removes a socket file left by a previous run; refuses to remove anything else. */
function removeStaleSocket(path: string): void {
  try {
    const st = lstatSync(path);
    if (!st.isSocket()) throw new Error(`jsonrpc dgram: ${path} exists and is not a socket`);
    unlinkSync(path);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== "ENOENT") throw e;
  }
}
