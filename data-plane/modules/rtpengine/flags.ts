import type { BValue } from "./bencode.js";
import type { NgDict } from "./nodes.js";

/**
 * Kamailio's rtpengine flag string (`"replace-origin replace-session-connection ICE=remove RTP/AVP"`)
 * → the ng dictionary entries. Bare words go to `flags`, except the ones the ng protocol has own
 * keys or lists for; `key=value` words set `key` (direction, SDES, rtcp-mux, replace, codec-* collect
 * into lists). Unknown words pass through, as Kamailio does, so new rtpengine options work.
 */
const TRANSPORTS = new Set(["RTP/AVP", "RTP/SAVP", "RTP/AVPF", "RTP/SAVPF", "UDP/TLS/RTP/SAVP", "UDP/TLS/RTP/SAVPF"]);
const LIST_KEYS = new Set(["direction", "SDES", "rtcp-mux", "replace", "T.38", "OSRTP", "received-from", "from-tags"]);
const CODEC_KEYS = new Set(["strip", "offer", "transcode", "mask", "set", "except", "consume", "accept"]);

export interface ParsedFlags {
  readonly dict: NgDict;
  /** Overrides of the call identification (call-id=, from-tag=, to-tag= words). */
  readonly callId: string | null;
  readonly fromTag: string | null;
  readonly toTag: string | null;
  /** via-branch=1|2 (Kamailio): which Via's branch goes along. */
  readonly viaBranch: string | null;
}

export function parseFlags(text: string | undefined | null): ParsedFlags {
  const dict: NgDict = {};
  const flags: string[] = [];
  const lists = new Map<string, string[]>();
  const codec = new Map<string, string[]>();
  let callId: string | null = null;
  let fromTag: string | null = null;
  let toTag: string | null = null;
  let viaBranch: string | null = null;
  const push = (k: string, v: string) => {
    const l = lists.get(k) ?? [];
    l.push(v);
    lists.set(k, l);
  };
  for (const w of (text ?? "").split(/\s+/)) {
    if (!w) continue;
    if (TRANSPORTS.has(w)) {
      dict["transport-protocol"] = w;
      continue;
    }
    const eq = w.indexOf("=");
    if (eq < 0) {
      if (w === "replace-origin") push("replace", "origin");
      else if (w === "replace-session-connection") push("replace", "session-connection");
      else if (w === "record-call") dict["record call"] = "yes";
      else if (w.startsWith("SDES-")) push("SDES", w.slice(5));
      else if (w.startsWith("rtcp-mux-")) push("rtcp-mux", w.slice(9));
      else if (w.startsWith("codec-")) {
        const m = /^codec-([a-z]+)-(.+)$/.exec(w);
        if (m && CODEC_KEYS.has(m[1]!)) codec.set(m[1]!, [...(codec.get(m[1]!) ?? []), m[2]!]);
        else flags.push(w);
      } else flags.push(w);
      continue;
    }
    const k = w.slice(0, eq);
    const v = w.slice(eq + 1);
    if (k === "call-id") callId = v;
    else if (k === "from-tag") fromTag = v;
    else if (k === "to-tag") toTag = v;
    else if (k === "via-branch") viaBranch = v;
    else if (k === "record-call") dict["record call"] = v;
    else if (k === "transport-protocol") dict["transport-protocol"] = v;
    else if (k === "replace") push("replace", v);
    else if (LIST_KEYS.has(k)) push(k, v);
    else if (k.startsWith("codec-") && CODEC_KEYS.has(k.slice(6))) codec.set(k.slice(6), [...(codec.get(k.slice(6)) ?? []), ...v.split(",")]);
    else dict[k] = v;
  }
  if (flags.length) dict.flags = flags;
  for (const [k, v] of lists) dict[k] = v;
  if (codec.size) dict.codec = Object.fromEntries(codec) as { [k: string]: BValue };
  return { dict, callId, fromTag, toTag, viaBranch };
}
