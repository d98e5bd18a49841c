import { createRequire } from "node:module";
import { dirname, join } from "node:path";

/**
 * Unix datagram sockets for Node (Node's dgram has only UDP). Uses the native part of the npm
 * package `unix-dgram` directly: its JS wrapper reads `buf.length` even when recvmsg() failed
 * (buf null), which would throw inside a native callback and take the process down. This wrapper
 * reports that case as an 'error' instead and exposes the sender's bound path, which is where
 * Kamailio's datagram transport (and kamcli) expect the reply.
 *
 * @example
 *   const s = createUnixDgramSocket((msg, from) => from && s.sendTo(reply(msg), from), onError);
 *   s.bind("/run/olelo/olelo_rpc.sock");
 */
export interface UnixDgramSocket {
  /** Binds to a filesystem path; throws an Error with `code` (e.g. EADDRINUSE). */
  bind(path: string): void;
  /** Sends one datagram; returns false when the kernel refused it (errno in `lastError`). */
  sendTo(buf: Buffer, path: string): boolean;
  readonly lastError: string | null;
  close(): void;
}

interface Binding {
  readonly AF_UNIX: number;
  readonly SOCK_DGRAM: number;
  socket(domain: number, type: number, protocol: number, onRecv: RecvCallback, onWritable: () => void): number;
  bind(fd: number, path: string): number;
  sendto(fd: number, buf: Buffer, offset: number, length: number, path: string): number;
  close(fd: number): number;
}
type RecvCallback = (status: number, buf: Buffer | null, path: string | null) => void;

let binding: Binding | null = null;

function load(): Binding {
  if (binding) return binding;
  const req = createRequire(import.meta.url);
  let pkgMain: string;
  try {
    pkgMain = req.resolve("unix-dgram");
  } catch {
    throw new Error("the unix datagram transport needs the npm package 'unix-dgram' (native), which is not installed");
  }
  const root = join(dirname(pkgMain), "..");
  const bindings = createRequire(pkgMain)("bindings") as (o: { bindings: string; module_root: string }) => Binding;
  binding = bindings({ bindings: "unix_dgram.node", module_root: root });
  return binding;
}

/** errno numbers come back negated; name the common ones for messages. */
function errnoName(n: number): string {
  const names: Record<number, string> = { 1: "EPERM", 2: "ENOENT", 11: "EAGAIN", 13: "EACCES", 90: "EMSGSIZE", 98: "EADDRINUSE", 105: "ENOBUFS", 111: "ECONNREFUSED" };
  return names[-n] ?? `errno ${-n}`;
}

export function createUnixDgramSocket(
  onMessage: (msg: Buffer, from: string | null) => void,
  onError: (e: Error) => void,
): UnixDgramSocket {
  const b = load();
  const deliver = (status: number, buf: Buffer | null, path: string | null): void => {
    try {
      if (status < 0 || !buf) {
        if (status !== -11) onError(new Error(`recvmsg failed: ${errnoName(status)}`));
        return;
      }
      onMessage(buf, path);
    } catch (e) {
      // never let an exception escape
      onError(e instanceof Error ? e : new Error(String(e)));
    }
  };
  // The addon calls back from a libuv poll handler without a callback scope, so promise jobs queued
  // there would wait for some later, unrelated callback (on Node 26 a reply waited ~30 s). Handing
  // the datagram on from setImmediate runs it in a proper scope, with microtasks drained after it.
  const recv: RecvCallback = (status, buf, path) => {
    setImmediate(deliver, status, buf, path);
  };
  const fd = b.socket(b.AF_UNIX, b.SOCK_DGRAM, 0, recv, () => {});
  if (fd < 0) throw Object.assign(new Error(`socket() failed: ${errnoName(fd)}`), { code: errnoName(fd) });
  let open = true;
  let lastError: string | null = null;
  return {
    bind(path: string) {
      const r = b.bind(fd, path);
      if (r < 0) throw Object.assign(new Error(`bind(${path}) failed: ${errnoName(r)}`), { code: errnoName(r) });
    },
    sendTo(buf: Buffer, path: string) {
      if (!open) return false;
      const r = b.sendto(fd, buf, 0, buf.length, path);
      lastError = r < 0 ? errnoName(r) : null;
      return r >= 0;
    },
    get lastError() {
      return lastError;
    },
    close() {
      if (!open) return;
      open = false;
      b.close(fd);
    },
  };
}
