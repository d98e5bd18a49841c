import { createHash } from "node:crypto";
import { splitHeaderList } from "../../core/kit/index.js";
import type { SipMessageView } from "../../core/api.js";

/**
 * State the uac module keeps in its Record-Route parameters instead of memory (Kamailio uac's
 * "auto" restore through the rr module), so in-dialog requests on any node of a fleet and after
 * a restart carry what is needed to undo the changes:
 *
 *   uacf=<From-tag of the caller>    which side a later in-dialog request comes from
 *   uacs=<n>                         CSeq offset of the callee side after n uac_auth answers
 *   vsf=<masked original + new From>  (name configurable, rr_from_store_param)
 *   vst=<masked original + new To>    (rr_to_store_param)
 */

/** The original and the replacement of a From/To name-addr (without its tag and parameters). */
export interface Replaced {
  readonly orig: string;
  readonly repl: string;
}

/** Keystream of the restore mask: SHA-256 blocks of the password (Kamailio: restore_passwd). */
function keystream(passwd: string, n: number): Buffer {
  const out = Buffer.alloc(n);
  let off = 0;
  for (let i = 0; off < n; i++) {
    const block = createHash("sha256").update(`${passwd}\u0000${i}`).digest();
    off += block.copy(out, off, 0, Math.min(block.length, n - off));
  }
  return out;
}

/** Encodes both values into one RR parameter value (base64url, safe in a URI parameter). */
export function encodeReplaced(r: Replaced, passwd: string): string {
  const data = Buffer.from(`${r.orig}\n${r.repl}`, "utf8");
  const k = keystream(passwd, data.length);
  for (let i = 0; i < data.length; i++) data[i]! ^= k[i]!;
  return data.toString("base64url");
}

/** Decodes a parameter value; null when it does not decode to two values. */
export function decodeReplaced(v: string, passwd: string): Replaced | null {
  if (v.length > 2048 || !/^[A-Za-z0-9_-]+$/.test(v)) return null;
  const data = Buffer.from(v, "base64url");
  const k = keystream(passwd, data.length);
  for (let i = 0; i < data.length; i++) data[i]! ^= k[i]!;
  const s = data.toString("utf8");
  const nl = s.indexOf("\n");
  if (nl < 0 || s.indexOf("\n", nl + 1) >= 0) return null;
  return { orig: s.slice(0, nl), repl: s.slice(nl + 1) };
}

/** Parameters of the first Route entry that carries uac state, or null. */
export function routeState(msg: SipMessageView, names: readonly string[]): Map<string, string> | null {
  for (const line of msg.headerAll("route")) {
    for (const entry of splitHeaderList(line)) {
      const lt = entry.indexOf("<");
      const gt = entry.indexOf(">", lt + 1);
      const uri = lt >= 0 && gt > lt ? entry.slice(lt + 1, gt) : entry;
      const params = uriParams(uri);
      if (names.some((n) => params.has(n))) return params;
    }
  }
  return null;
}

/** URI parameters (after the host part) by lower-case name; a repeated parameter keeps its last value. */
function uriParams(uri: string): Map<string, string> {
  const out = new Map<string, string>();
  const q = uri.indexOf("?");
  const s = q < 0 ? uri : uri.slice(0, q);
  const parts = s.split(";");
  for (let i = 1; i < parts.length; i++) {
    const p = parts[i]!;
    const eq = p.indexOf("=");
    const name = (eq < 0 ? p : p.slice(0, eq)).trim().toLowerCase();
    if (name) out.set(name, eq < 0 ? "" : p.slice(eq + 1).trim());
  }
  return out;
}

/**
 * Splits a From/To value into its name-addr and the header parameters after it (`;tag=…`):
 * `"Bob" <sip:b@x;lr>;tag=1` → [`"Bob" <sip:b@x;lr>`, `;tag=1`]; without <> the parameters
 * start at the first ';' (RFC 3261 §20.10).
 */
export function splitAddr(value: string): [string, string] {
  const v = value.trim();
  const gt = v.lastIndexOf(">");
  if (v.indexOf("<") >= 0 && gt >= 0) return [v.slice(0, gt + 1), v.slice(gt + 1)];
  const semi = v.indexOf(";");
  return semi < 0 ? [v, ""] : [v.slice(0, semi), v.slice(semi)];
}

/** The name-addr `uac_replace_from(display, uri)` makes of `orig`: display null keeps it, "" removes it; uri "" keeps it. */
export function replacedAddr(orig: string, display: string | null, uri: string): string {
  const lt = orig.indexOf("<");
  const gt = orig.lastIndexOf(">");
  const oldUri = lt >= 0 && gt > lt ? orig.slice(lt + 1, gt) : orig.trim();
  const oldDisplay = lt > 0 ? orig.slice(0, lt).trim() : "";
  const d = display === null ? oldDisplay : display.trim();
  const u = uri === "" ? oldUri : uri;
  return d ? `${d} <${u}>` : `<${u}>`;
}
