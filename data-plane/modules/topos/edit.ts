import { Patch, parseMessage, serializeBuffer, splitList, type SipMessage } from "../../core/api.js";

/**
 * Header edits on a parsed message for topology hiding: collected as patches (Kamailio's lumps)
 * and applied in one serialization, then the result is parsed again for the next stage.
 */
export class MessageEdit {
  readonly patches: Patch[] = [];
  constructor(readonly msg: SipMessage) {}

  /** Removes every header line with this canonical name. */
  removeAll(name: string): void {
    for (const f of this.msg.fields) if (f.name === name) this.patches.push(new Patch(f.start, f.end, ""));
  }

  /** Keeps only the first Via value (Olelo's own on a sent request, the sender's on a reply). */
  keepTopViaOnly(): void {
    let first = true;
    for (const f of this.msg.fields) {
      if (f.name !== "via") continue;
      if (first) {
        first = false;
        const vals = splitList(this.msg.valueOf(f));
        if (vals.length > 1 || f.folded) this.patches.push(new Patch(f.valueStart, f.valueEnd, vals[0]!.trim()));
      } else this.patches.push(new Patch(f.start, f.end, ""));
    }
  }

  /** Replaces the value of the first header with this name (every header line of it collapsed). */
  setValue(name: string, value: string): void {
    let first = true;
    for (const f of this.msg.fields) {
      if (f.name !== name) continue;
      this.patches.push(first ? new Patch(f.valueStart, f.valueEnd, value) : new Patch(f.start, f.end, ""));
      first = false;
    }
  }

  /** Inserts header lines after the first header with this name (or at the end of the headers). */
  insertAfter(name: string, lines: readonly string[]): void {
    if (lines.length === 0) return;
    const f = this.msg.field(name);
    const at = f ? f.end : this.msg.headersEnd;
    this.patches.push(new Patch(at, at, lines.join("")));
  }

  /** Inserts header lines after the last header with this name, else at the end of the headers. */
  insertAfterLast(name: string, lines: readonly string[]): void {
    if (lines.length === 0) return;
    let at = this.msg.headersEnd;
    for (const f of this.msg.fields) if (f.name === name) at = f.end;
    this.patches.push(new Patch(at, at, lines.join("")));
  }

  setRequestUri(uri: string): void {
    this.patches.push(new Patch(this.msg.ruriStart, this.msg.ruriEnd, uri));
  }

  bytes(): Buffer {
    return serializeBuffer(this.msg, this.patches);
  }

  /** The edited message parsed again (null if the edit made it unparseable, which it must not). */
  reparse(): SipMessage | null {
    if (this.patches.length === 0) return this.msg;
    const r = parseMessage(this.bytes());
    return r.ok ? r.msg : null;
  }
}

/** The URI inside a Contact / Route value (`<uri>;params` or a bare URI). */
export function uriOf(value: string): string {
  const lt = value.indexOf("<");
  if (lt >= 0) {
    const gt = value.indexOf(">", lt);
    return value.slice(lt + 1, gt < 0 ? undefined : gt);
  }
  const semi = value.indexOf(";");
  return (semi < 0 ? value : value.slice(0, semi)).trim();
}
