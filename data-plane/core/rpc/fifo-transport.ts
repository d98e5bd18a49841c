import { execFileSync } from "node:child_process";
import { constants as fsc, promises as fsp, lstatSync, openSync, unlinkSync } from "node:fs";
import { Socket } from "node:net";
import { basename, join } from "node:path";
import { StringDecoder } from "node:string_decoder";
import type { Logger } from "../../../lib/log/logger.js";
import { JsonFramer } from "./json-frame.js";
import type { JsonRpcDispatcher } from "../../../lib/rpc/json-rpc.js";

/**
 * Kamailio's jsonrpcs FIFO transport, so `kamctl` (and kamcli's fifo mode) can talk to Olelo:
 * requests are JSON-RPC objects written to a named pipe, each carrying `"reply_name"`; the reply is
 * written to the FIFO `<replyDir>/<reply_name>` that the client created (kamctl:
 * `/tmp/kamailio_receiver_<pid>`). Requests without reply_name run but get no reply.
 *
 * Safety: reply_name must be a plain file name, and the reply path must already be a FIFO (never
 * a regular file or a symlink — the open uses O_NOFOLLOW), so a request cannot make the server
 * write files. Access control is the FIFO's file mode (default 0660), as in Kamailio.
 *
 * @example
 *   const fifo = await startFifoTransport({ path: "/run/olelo/olelo_rpc.fifo" }, dispatcher, log);
 *   // echo '{"jsonrpc":"2.0","method":"core.uptime","reply_name":"r1","id":1}' > /run/olelo/olelo_rpc.fifo
 */
export interface FifoOptions {
  readonly path: string;
  /** Directory reply FIFOs must live in (Kamailio's fifo_reply_dir, default "/tmp"). */
  readonly replyDir?: string;
  /** File mode of the request FIFO (default 0o660). */
  readonly mode?: number;
  /** Largest request accepted (default 1 MiB). */
  readonly maxRequestChars?: number;
}

export interface FifoTransport {
  readonly path: string;
  close(): Promise<void>;
}

const REPLY_NAME_RE = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/;
const OPEN_RETRIES = 25;
const OPEN_RETRY_MS = 40;

export async function startFifoTransport(opts: FifoOptions, dispatcher: JsonRpcDispatcher, log: Logger): Promise<FifoTransport> {
  const path = opts.path;
  const replyDir = opts.replyDir ?? "/tmp";
  createFifo(path, opts.mode ?? 0o660);
  // O_RDWR keeps a writer open on our side, so the pipe never reports EOF between clients
  const fd = openSync(path, fsc.O_RDWR | fsc.O_NONBLOCK);
  const sock = new Socket({ fd, readable: true, writable: false });
  const framer = new JsonFramer(opts.maxRequestChars ?? 1 << 20);
  const decoder = new StringDecoder("utf8");
  let closed = false;

  sock.on("data", (chunk: Buffer) => {
    for (const doc of framer.push(decoder.write(chunk))) {
      if ("error" in doc) log.warn("jsonrpc fifo: bad request", { error: doc.error });
      else void handle(doc.text);
    }
  });
  sock.on("error", (e) => log.warn("jsonrpc fifo read error", { error: e.message }));

  async function handle(text: string): Promise<void> {
    let req: Record<string, unknown>;
    try {
      req = JSON.parse(text) as Record<string, unknown>;
    } catch (e) {
      log.warn("jsonrpc fifo: request is not JSON; no reply possible", { error: (e as Error).message });
      return;
    }
    let replyName: string | undefined;
    if (req && typeof req === "object" && !Array.isArray(req)) {
      const rn = req.reply_name;
      delete req.reply_name;
      if (typeof rn === "string") {
        if (!REPLY_NAME_RE.test(rn) || basename(rn) !== rn) {
          log.warn("jsonrpc fifo: unsafe reply_name refused", { reply_name: rn.slice(0, 64) });
          return;
        }
        replyName = rn;
      }
    }
    const reply = await dispatcher.handleParsed(req, { info: { transport: "fifo", remote: path } });
    if (!replyName || closed) return;
    const body = reply === null ? "" : JSON.stringify(reply, null, "\t") + "\n";
    try {
      await writeReply(join(replyDir, replyName), body);
    } catch (e) {
      log.warn("jsonrpc fifo: cannot write reply", { reply_name: replyName, error: (e as Error).message });
    }
  }

  return {
    path,
    close: async () => {
      if (closed) return;
      closed = true;
      sock.destroy();
      try {
        unlinkSync(path);
      } catch {
        // already gone
      }
    },
  };
}

/** Creates the request FIFO, replacing a stale FIFO left by a previous run; refuses other files. */
function createFifo(path: string, mode: number): void {
  try {
    const st = lstatSync(path);
    if (!st.isFIFO()) throw new Error(`jsonrpc fifo: ${path} exists and is not a FIFO`);
    unlinkSync(path);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== "ENOENT") throw e;
  }
  execFileSync("mkfifo", ["-m", mode.toString(8), path], { stdio: ["ignore", "ignore", "pipe"] });
}

/** Opens the client's reply FIFO (waiting briefly for its reader, as Kamailio does) and writes. */
async function writeReply(path: string, body: string): Promise<void> {
  const st = await fsp.lstat(path);
  if (!st.isFIFO()) throw new Error(`${path} is not a FIFO`);
  let fd = -1;
  for (let i = 0; ; i++) {
    try {
      fd = openSync(path, fsc.O_WRONLY | fsc.O_NONBLOCK | fsc.O_NOFOLLOW);
      break;
    } catch (e) {
      // ENXIO: nobody has the FIFO open for reading yet
      if ((e as NodeJS.ErrnoException).code !== "ENXIO" || i >= OPEN_RETRIES) throw e;
      await new Promise((r) => setTimeout(r, OPEN_RETRY_MS));
    }
  }
  const out = new Socket({ fd, readable: false, writable: true });
  await new Promise<void>((resolve, reject) => {
    out.on("error", reject);
    out.end(body, () => resolve());
  }).finally(() => out.destroy());
}
