/**
 * Splits a byte stream into top-level JSON documents by tracking brackets and strings, the way
 * Kamailio's jsonrpcs FIFO reader does: kamctl writes one request per line, but `kamctl monitor`
 * and hand-written scripts send pretty-printed multi-line objects. A document larger than
 * `maxChars` is skipped (reported as an error once it ends) without being buffered.
 *
 * @example
 *   const f = new JsonFramer(1 << 20);
 *   for (const doc of f.push('{"a":1}\n{"b"')) handle(doc);   // {"a":1}; {"b" stays buffered
 */
export type FramedDoc = { readonly text: string } | { readonly error: string };

export class JsonFramer {
  private buf = "";
  private depth = 0;
  private inString = false;
  private escaped = false;
  private skipping = false;
  private garbage = false;
  private size = 0;

  constructor(private readonly maxChars: number) {}

  push(chunk: string): FramedDoc[] {
    const out: FramedDoc[] = [];
    let start = 0;
    for (let i = 0; i < chunk.length; i++) {
      const c = chunk.charCodeAt(i);
      if (this.garbage) {
        if (c === 10) {
          this.garbage = false;
          out.push({ error: "unexpected text outside a JSON document" });
        }
        start = i + 1;
        continue;
      }
      if (this.depth === 0) {
        if (c === 0x7b /* { */ || c === 0x5b /* [ */) {
          this.depth = 1;
          start = i;
          this.size = 1;
          this.inString = false;
          this.escaped = false;
          continue;
        }
        if (c !== 32 && c !== 9 && c !== 10 && c !== 13) this.garbage = true;
        start = i + 1;
        continue;
      }
      this.size++;
      if (this.inString) {
        if (this.escaped) this.escaped = false;
        else if (c === 0x5c /* \ */) this.escaped = true;
        else if (c === 0x22 /* " */) this.inString = false;
      } else if (c === 0x22) {
        this.inString = true;
      } else if (c === 0x7b || c === 0x5b) {
        this.depth++;
      } else if (c === 0x7d /* } */ || c === 0x5d /* ] */) {
        if (--this.depth === 0) {
          if (this.skipping) {
            out.push({ error: `request larger than ${this.maxChars} characters skipped` });
            this.skipping = false;
          } else {
            out.push({ text: this.buf + chunk.slice(start, i + 1) });
          }
          this.buf = "";
          start = i + 1;
          continue;
        }
      }
      if (!this.skipping && this.size > this.maxChars) {
        this.skipping = true;
        this.buf = "";
      }
    }
    if (this.depth > 0 && !this.skipping) this.buf += chunk.slice(start);
    return out;
  }

  /** Characters of an incomplete document currently buffered. */
  get pending(): number {
    return this.buf.length;
  }
}
