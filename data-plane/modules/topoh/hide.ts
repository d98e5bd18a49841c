import { Patch, parseMessage, serializeBuffer, splitList, type Endpoint, type ListenSocket, type SipMessage, type StatGroup, type WireHook } from "../../core/api.js";
import { MaskCodec } from "./codec.js";
import type { TopohParams } from "./params.js";

/**
 * Topology hiding without storage (Kamailio topoh), as a wire hook. Toward the far side:
 * - the Vias below Olelo's are removed and carried, with Olelo's branch, masked in Olelo's Via
 *   `branch` (vparam_prefix + mask); replies bring it back and the Vias are restored;
 * - Contact becomes `<sip:MASK_IP;line=sr-MASK>` and the Record-Route entries of the hidden side
 *   become `<sip:MASK_IP;line=sr-MASK;lr>`; in-dialog requests that carry them in the R-URI or
 *   Route are unmasked before the script sees them;
 * - with mask_callid, the Call-ID toward the callee side is `!!:MASK`, unmasked on the way back.
 * A request received with a masked Call-ID gets a `tph` Via parameter, so the replies Olelo sends
 * for it are masked again and the parameter removed.
 */
export class Topoh implements WireHook {
  private readonly c: MaskCodec;
  constructor(
    private readonly p: TopohParams,
    private readonly stats: StatGroup,
  ) {
    this.c = new MaskCodec(p.mask_key);
  }

  /** `<sip:MASK_IP;line=sr-MASK[;lr]>` for a name-addr value (`<uri>;params`): the URI masked, the params kept. */
  private maskUri(v: string, lr: boolean): string {
    const lt = v.indexOf("<");
    const gt = lt >= 0 ? v.indexOf(">", lt) : -1;
    const uri = lt >= 0 && gt > lt ? v.slice(lt + 1, gt) : v;
    const rest = lt >= 0 && gt > lt ? v.slice(gt + 1) : "";
    return `<sip:${this.p.mask_ip};${this.p.uparam_name}=${this.p.uparam_prefix}${this.c.encode(uri)}${lr ? ";lr" : ""}>${rest}`;
  }

  /** A masked URI/value back (the inner text), or null when `v` is not one of ours. */
  unmaskUri(v: string): string | null {
    if (!v.includes(this.p.mask_ip)) return null;
    const m = new RegExp(`[;]${this.p.uparam_name}=${escapeRe(this.p.uparam_prefix)}([A-Za-z0-9_-]+)`).exec(v);
    return m ? this.c.decode(m[1]!) : null;
  }

  // ------------------------------------------------------------------ received

  received(msg: SipMessage, _src: Endpoint, _sock: ListenSocket): SipMessage | null {
    const patches: Patch[] = [];
    const cid = msg.field("call-id");
    let callIdMasked = false;
    if (cid) {
      const v = msg.valueOf(cid).trim();
      if (v.startsWith(this.p.callid_prefix)) {
        const d = this.c.decode(v.slice(this.p.callid_prefix.length));
        if (d !== null) {
          patches.push(new Patch(cid.valueStart, cid.valueEnd, d));
          callIdMasked = true;
        }
      }
    }
    if (msg.isRequest) {
      const ru = this.unmaskUri(msg.requestUri);
      if (ru !== null) patches.push(new Patch(msg.ruriStart, msg.ruriEnd, ru));
      for (const f of msg.fields) {
        if (f.name !== "route") continue;
        const vals = splitList(msg.valueOf(f));
        let changed = false;
        const out = vals.map((v) => {
          const u = this.unmaskUri(v);
          if (u === null) return v;
          changed = true;
          return `<${u}>`;
        });
        if (changed) patches.push(new Patch(f.valueStart, f.valueEnd, out.join(", ")));
      }
      if (callIdMasked) {
        const vf = msg.field("via");
        if (vf) {
          const vals = splitList(msg.valueOf(vf));
          vals[0] = `${vals[0]!.trim()};tph=1`;
          patches.push(new Patch(vf.valueStart, vf.valueEnd, vals.join(", ")));
        }
      }
    } else {
      const vf = msg.field("via");
      const branch = msg.topViaOrNull?.params.get(this.p.vparam_name) ?? null;
      if (vf && branch && branch.startsWith(this.p.vparam_prefix)) {
        const d = this.c.decode(branch.slice(this.p.vparam_prefix.length));
        if (d !== null) {
          const [own, ...below] = d.split("\n");
          const top = splitList(msg.valueOf(vf))[0]!.trim().replace(`${this.p.vparam_name}=${branch}`, `${this.p.vparam_name}=${own}`);
          patches.push(new Patch(vf.valueStart, vf.valueEnd, [top, ...splitList(msg.valueOf(vf)).slice(1).map((s) => s.trim()), ...below].join(", ")));
        }
      }
    }
    if (patches.length === 0) return msg;
    const r = parseMessage(serializeBuffer(msg, patches));
    if (!r.ok) return msg;
    this.stats.inc("decoded");
    return r.msg;
  }

  // ------------------------------------------------------------------ sending

  sending(data: Buffer, _dest: Endpoint, sock: ListenSocket): Buffer {
    const r = parseMessage(data);
    if (!r.ok) return data;
    const msg = r.msg;
    const patches: Patch[] = [];
    const ours = (v: string): boolean => v.includes(`${sock.viaHost}:${sock.viaPort}`) || v.includes(`@${sock.viaHost}:${sock.viaPort}`);
    if (msg.isRequest) {
      if (msg.method === "REGISTER") return data;
      let first = true;
      let top: { f: (typeof msg.fields)[number]; vals: string[] } | null = null;
      const below: string[] = [];
      for (const f of msg.fields) {
        if (f.name !== "via") continue;
        const vals = splitList(msg.valueOf(f)).map((s) => s.trim());
        if (first) {
          first = false;
          top = { f, vals };
          below.push(...vals.slice(1));
        } else {
          below.push(...vals);
          patches.push(new Patch(f.start, f.end, ""));
        }
      }
      const tv = msg.topViaOrNull;
      const own = tv?.params.get(this.p.vparam_name);
      if (top && tv && own) {
        const enc = this.p.vparam_prefix + this.c.encode([own, ...below].join("\n"));
        patches.push(new Patch(top.f.valueStart, top.f.valueEnd, top.vals[0]!.replace(`${this.p.vparam_name}=${own}`, `${this.p.vparam_name}=${enc}`)));
      }
      // Record-Route: the entries below Olelo's (the side the request came from) are masked
      this.maskRecordRoute(msg, patches, ours, "below");
      if (this.p.mask_callid && !this.fromMaskedSide(msg)) this.maskCallId(msg, patches);
    } else {
      // a reply to a request that came with a masked Call-ID: mask it again, drop the marker
      const vf = msg.field("via");
      if (vf) {
        const vals = splitList(msg.valueOf(vf)).map((s) => s.trim());
        if (/;tph=1(?=;|$)/.test(vals[0]!)) {
          vals[0] = vals[0]!.replace(/;tph=1(?=;|$)/, "");
          patches.push(new Patch(vf.valueStart, vf.valueEnd, vals.join(", ")));
          this.maskCallId(msg, patches);
        }
      }
      this.maskRecordRoute(msg, patches, ours, "above");
    }
    const ct = msg.field("contact");
    const st = msg.status;
    if (ct && (msg.isRequest || st < 300 || st >= 400)) {
      const v = msg.valueOf(ct).trim();
      if (v !== "*" && !v.includes(this.p.mask_ip)) patches.push(new Patch(ct.valueStart, ct.valueEnd, this.maskUri(v, false)));
    }
    if (patches.length === 0) return data;
    this.stats.inc("encoded");
    return serializeBuffer(msg, patches);
  }

  /** In-dialog requests from the callee side carry the unmasked Call-ID already (their Via had tph). */
  private fromMaskedSide(msg: SipMessage): boolean {
    const vias = msg.viasOrNull;
    return !!vias && vias.length > 1 && vias[1]!.params.has("tph");
  }

  private maskCallId(msg: SipMessage, patches: Patch[]): void {
    const cid = msg.field("call-id");
    if (!cid) return;
    const v = msg.valueOf(cid).trim();
    if (v.startsWith(this.p.callid_prefix)) return;
    patches.push(new Patch(cid.valueStart, cid.valueEnd, this.p.callid_prefix + this.c.encode(v)));
  }

  /** Masks the Record-Route entries on one side of Olelo's own entry (all of them when Olelo has none). */
  private maskRecordRoute(msg: SipMessage, patches: Patch[], ours: (v: string) => boolean, side: "above" | "below"): void {
    const fields = msg.fields.filter((f) => f.name === "record-route");
    if (fields.length === 0) return;
    const all: string[] = [];
    for (const f of fields) for (const v of splitList(msg.valueOf(f))) all.push(v.trim());
    let firstOurs = -1;
    let lastOurs = -1;
    all.forEach((v, i) => {
      if (ours(v)) {
        if (firstOurs < 0) firstOurs = i;
        lastOurs = i;
      }
    });
    const out = all.map((v, i) => {
      if (ours(v) || v.includes(this.p.mask_ip)) return v;
      const hide = firstOurs < 0 || (side === "below" ? i > lastOurs : i < firstOurs);
      return hide ? this.maskUri(v, true) : v;
    });
    if (out.every((v, i) => v === all[i])) return;
    patches.push(new Patch(fields[0]!.valueStart, fields[0]!.valueEnd, out.join(", ")));
    for (const f of fields.slice(1)) patches.push(new Patch(f.start, f.end, ""));
  }
}

function escapeRe(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}
