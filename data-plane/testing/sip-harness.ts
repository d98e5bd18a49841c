/**
 * The real core over an in-memory transport, for unit tests: a SipCore (transaction layer, sl,
 * script runtime) whose transport records what it would send instead of writing to a socket, and
 * real request contexts (core/script/request-context.ts) over it. Tests inject wire text through
 * the real parser and receive path (`inject`), or take a RequestCtx for one parsed request
 * (`testRequest`) and hand it to a module's script function: what the module replies goes through
 * the real sl/tm code and lands in `sent` as wire text. Not used by production code.
 *
 * @example
 *   const h = createSipHarness({ script: { request: (req) => void req.reply(486, "Busy") } });
 *   h.inject(INVITE, { proto: "udp", address: "127.0.0.1", port: 5555 });   // h.sent[0].text "SIP/2.0 486 Busy…"
 *   const { req, replies } = testRequest("MESSAGE sip:bob@example.com SIP/2.0\r\n…");
 */
import { DEFAULT_CORE_CONFIG, type CoreConfig } from "../core/config.js";
import { EventBus } from "../core/events/bus.js";
import { StatsRegistry } from "../core/stats/counters.js";
import { ListenSocket } from "../core/transport/listen-socket.js";
import { SipCore } from "../core/tm/engine.js";
import { MyselfSet } from "../core/tm/myself.js";
import { ScriptRuntime } from "../core/script/runtime.js";
import { RequestCtx } from "../core/script/request-context.js";
import { DEFAULT_LIMITS, parseMessage } from "../core/sip/parse.js";
import type { SipMessage } from "../core/sip/message.js";
import type { RoutingScript, SendOptions } from "../core/script/context.js";
import { createLogger } from "../../lib/log/logger.js";
import type { Endpoint } from "../../lib/sip/types.js";

/** One datagram / stream write the core made: milliseconds since the harness started, destination, text. */
export interface Sent {
  t: number;
  dest: Endpoint;
  text: string;
}

export interface SipHarnessOptions {
  /** The routing script (default: one that does nothing). */
  script?: RoutingScript;
  /** tm settings over DEFAULT_CORE_CONFIG.tm. */
  tm?: Partial<CoreConfig["tm"]>;
  /** The listening socket the requests arrive on (default udp 127.0.0.1:5060; never bound). */
  listen?: { proto?: "udp" | "tcp"; address?: string; port?: number };
  /** Module APIs the script sees. */
  modules?: Record<string, unknown>;
}

export interface SipHarness {
  core: SipCore;
  sock: ListenSocket;
  /** What the core sent, in order. */
  sent: Sent[];
  /** When the harness was created (Date.now(); fake timers included). */
  t0: number;
  /** Feeds wire text (LF or CRLF line ends) to the core as if it arrived on `sock` from `from`. */
  inject(text: string, from: Endpoint): void;
}

/** Wire text with CRLF line ends (test fixtures are written with LF). */
export function crlf(text: string): string {
  return text.replace(/\r?\n/g, "\r\n");
}

/** A SipCore with a recording in-memory transport and the given script; nothing is bound. */
export function createSipHarness(o: SipHarnessOptions = {}): SipHarness {
  const cfg: CoreConfig = structuredClone(DEFAULT_CORE_CONFIG);
  Object.assign(cfg.tm, o.tm ?? {});
  const core = new SipCore(cfg, new StatsRegistry(), new EventBus());
  const l = o.listen ?? {};
  const sock = new ListenSocket(l.proto ?? "udp", l.address ?? "127.0.0.1", l.port ?? 5060);
  core.transport.sockets.push(sock);
  (core as unknown as { myself: MyselfSet }).myself.addSocket(sock.address, sock.boundPort);
  const sent: Sent[] = [];
  const t0 = Date.now();
  core.transport.send = (_s, dest, data) => {
    sent.push({ t: Date.now() - t0, dest, text: data.toString("latin1") });
    return true;
  };
  core.runner = new ScriptRuntime(o.script ?? { request: () => {} }, { modules: o.modules ?? {}, log: createLogger("test"), settings: {} });
  const inject = (text: string, from: Endpoint) =>
    (core as unknown as { onInbound(d: Buffer, s: Endpoint, k: ListenSocket, c: null): void }).onInbound(Buffer.from(crlf(text), "latin1"), from, sock, null);
  return { core, sock, sent, t0, inject };
}

/** A reply a module sent through `req.reply` (the call's arguments; the wire text is in `sent`). */
export interface TestReply {
  code: number;
  reason: string;
  headers: ReadonlyArray<readonly [string, string]>;
}

export interface TestRequest {
  /** The real request context of the request, in request_route. */
  req: RequestCtx;
  /** Every `req.reply(...)` call, in order. */
  replies: TestReply[];
  /** What the core sent (the replies as wire text). */
  sent: Sent[];
  harness: SipHarness;
}

/**
 * A real RequestCtx for the SIP request `raw` (LF or CRLF; Content-Length is added when missing),
 * received from `source` (default udp 192.0.2.10:5060) on the harness's socket, as request_route
 * sees it. Throws when the text does not parse.
 */
export function testRequest(raw: string, o: { source?: Endpoint; harness?: SipHarness } = {}): TestRequest {
  const harness = o.harness ?? createSipHarness();
  let text = crlf(raw);
  if (!text.includes("\r\n\r\n")) text += text.endsWith("\r\n") ? "\r\n" : "\r\n\r\n";
  if (!/^(content-length|l)\s*:/im.test(text.slice(0, text.indexOf("\r\n\r\n")))) {
    const sep = text.indexOf("\r\n\r\n");
    text = `${text.slice(0, sep)}\r\nContent-Length: ${Buffer.byteLength(text.slice(sep + 4), "latin1")}${text.slice(sep)}`;
  }
  return requestContext(parseWire(text, "testRequest"), { harness, source: o.source });
}

/** A parsed SIP message (request or reply) from wire text with CRLF line ends and Content-Length; throws naming `who` when it does not parse. */
export function parseWire(text: string, who = "parseWire"): SipMessage {
  // no size limit: tests hand over oversized requests for the modules that refuse them
  const p = parseMessage(Buffer.from(text, "latin1"), { ...DEFAULT_LIMITS, maxMessageSize: Number.MAX_SAFE_INTEGER });
  if (!p.ok) throw new Error(`${who}: ${p.reason}`);
  return p.msg;
}

/** The real RequestCtx of a parsed request received from `source` (default udp 192.0.2.10:5060) on the harness's socket, its `reply` calls recorded. */
export function requestContext(msg: SipMessage, o: { source?: Endpoint; harness?: SipHarness } = {}): TestRequest {
  const harness = o.harness ?? createSipHarness();
  const source = o.source ?? { proto: "udp", address: "192.0.2.10", port: 5060 };
  const req = new RequestCtx(harness.core, msg, source, harness.sock, null, createLogger("test-request"));
  const replies: TestReply[] = [];
  const reply = req.reply.bind(req);
  req.reply = (code: number, reason: string, opts?: SendOptions) => {
    replies.push({ code, reason, headers: [...(opts?.headers ?? [])] });
    return reply(code, reason, opts);
  };
  return { req, replies, sent: harness.sent, harness };
}

/** A minimal request's wire text: request line, Via from `source`, From/To/Call-ID/CSeq/Max-Forwards, extra headers, body. */
export function sipRequest(
  method: string,
  ruri: string,
  o: { from?: string; to?: string; callId?: string; headers?: ReadonlyArray<readonly [string, string]>; body?: string; via?: string } = {},
): string {
  const lines = [
    `${method} ${ruri} SIP/2.0`,
    `Via: ${o.via ?? "SIP/2.0/UDP 192.0.2.10:5060;branch=z9hG4bK-test1"}`,
    `From: <${o.from ?? "sip:alice@example.com"}>;tag=ftag`,
    `To: <${o.to ?? ruri}>`,
    `Call-ID: ${o.callId ?? "call-1@test"}`,
    `CSeq: 1 ${method}`,
    "Max-Forwards: 70",
    ...(o.headers ?? []).map(([n, v]) => `${n}: ${v}`),
  ];
  const body = o.body ?? "";
  return `${lines.join("\r\n")}\r\nContent-Length: ${Buffer.byteLength(body, "latin1")}\r\n\r\n${body}`;
}
