import { createHmac, randomBytes } from "node:crypto";
import type { Endpoint, TransportProto } from "../../../lib/sip/types.js";

/**
 * Flow tokens (RFC 5626 §5.2, Kamailio rr + outbound): the user part of a Record-Route URI that
 * names the connection a WebSocket (or outbound) client is reachable on. Such a client's Contact
 * (`sip:x@df7jal23ls0d.invalid;transport=ws`) cannot be routed to; in-dialog requests towards it
 * find the connection again through the token on our Record-Route entry. The token carries
 * proto, address and port plus an HMAC so that a forged Route cannot point us anywhere else.
 *
 * Format: `ft.<base64url(proto|address|port)>.<hmac-12>`.
 */
const KEY = randomBytes(20);
const PREFIX = "ft.";

function mac(payload: string): string {
  return createHmac("sha1", KEY).update(payload).digest("base64url").slice(0, 12);
}

/** The token for a flow (proto, address, port). */
export function encodeFlowToken(ep: Endpoint): string {
  const payload = Buffer.from(`${ep.proto}|${ep.address}|${ep.port}`, "latin1").toString("base64url");
  return `${PREFIX}${payload}.${mac(payload)}`;
}

/** Decodes a token; null when it is not one of ours or was tampered with. */
export function decodeFlowToken(user: string | null | undefined): Endpoint | null {
  if (!user || !user.startsWith(PREFIX)) return null;
  const dot = user.lastIndexOf(".");
  if (dot <= PREFIX.length) return null;
  const payload = user.slice(PREFIX.length, dot);
  if (mac(payload) !== user.slice(dot + 1)) return null;
  const parts = Buffer.from(payload, "base64url").toString("latin1").split("|");
  if (parts.length !== 3) return null;
  const port = Number(parts[2]);
  if (!Number.isInteger(port) || port <= 0 || port > 65535) return null;
  return { proto: parts[0] as TransportProto, address: parts[1]!, port };
}

/** Protocols whose peers are only reachable over the connection they opened (RFC 7118 §5). */
export function needsFlowToken(proto: TransportProto): boolean {
  return proto === "ws" || proto === "wss";
}

/** `sip:` URI that sends to a flow (TransportLayer.send finds the connection by alias). */
export function flowUri(ep: Endpoint): string {
  const host = ep.address.indexOf(":") >= 0 ? `[${ep.address}]` : ep.address;
  return `sip:${host}:${ep.port};transport=${ep.proto}`;
}
