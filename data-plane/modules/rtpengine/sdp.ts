/** The little SDP handling the module does: is this body SDP, and what does it announce. */

/** Whether a Content-Type / body pair is an SDP offer or answer the relay should see. */
export function isSdp(contentType: string | null | undefined, body: string): boolean {
  return !!contentType && /^\s*application\/sdp\s*(;|$)/i.test(contentType) && /^v=0\r?$/m.test(body);
}

export interface SdpMedia {
  readonly type: string;
  readonly port: number;
  readonly proto: string;
  /** The media's c= address, else the session's. */
  readonly address: string | null;
  readonly ice: boolean;
  readonly fingerprint: boolean;
  readonly crypto: boolean;
  readonly direction: string | null;
}

/** Parses the media sections of an SDP body (RFC 8866 m=/c=/a= lines; other lines are skipped). */
export function sdpMedia(sdp: string): SdpMedia[] {
  const out: SdpMedia[] = [];
  let sessionAddr: string | null = null;
  let sessionFp = false;
  let cur: { type: string; port: number; proto: string; address: string | null; ice: boolean; fingerprint: boolean; crypto: boolean; direction: string | null } | null = null;
  for (const raw of sdp.split("\n")) {
    const line = raw.replace(/\r$/, "");
    if (line.startsWith("m=")) {
      const [type = "", port = "0", proto = ""] = line.slice(2).split(" ");
      cur = { type, port: Number.parseInt(port, 10) || 0, proto, address: null, ice: false, fingerprint: sessionFp, crypto: false, direction: null };
      out.push(cur);
    } else if (line.startsWith("c=")) {
      const addr = line.slice(2).split(" ")[2] ?? null;
      if (cur) cur.address = addr;
      else sessionAddr = addr;
    } else if (line.startsWith("a=")) {
      const a = line.slice(2);
      if (!cur) {
        if (a.startsWith("fingerprint:")) sessionFp = true;
        continue;
      }
      if (a.startsWith("candidate:") || a.startsWith("ice-ufrag:")) cur.ice = true;
      else if (a.startsWith("fingerprint:")) cur.fingerprint = true;
      else if (a.startsWith("crypto:")) cur.crypto = true;
      else if (a === "sendrecv" || a === "sendonly" || a === "recvonly" || a === "inactive") cur.direction = a;
    }
  }
  return out.map((m) => ({ ...m, address: m.address ?? sessionAddr }));
}

/** `IP4` / `IP6` and the address for the ng `received-from` list. */
export function receivedFrom(address: string): [string, string] {
  return [address.includes(":") ? "IP6" : "IP4", address];
}
