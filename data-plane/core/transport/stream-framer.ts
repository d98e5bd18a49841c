/**
 * Frames SIP messages out of a byte stream (TCP/TLS, RFC 3261 §18.3): headers up to the empty
 * line, then exactly Content-Length bytes of body. Also recognises RFC 5626 §3.5.1 keep-alives:
 * a double CRLF "ping" (answered with a single CRLF "pong") and a lone CRLF "pong".
 */
export type FrameEvent =
  | { kind: "message"; data: Buffer }
  | { kind: "ping" }
  | { kind: "pong" }
  | { kind: "error"; reason: string };

const CRLFCRLF = Buffer.from("\r\n\r\n");

export class StreamFramer {
  private buf: Buffer = Buffer.alloc(0);

  constructor(private readonly maxMessageSize: number) {}

  get pending(): number {
    return this.buf.length;
  }

  /** Feeds bytes; returns the frames now complete. After an "error" the stream must be closed. */
  push(chunk: Buffer): FrameEvent[] {
    this.buf = this.buf.length === 0 ? chunk : Buffer.concat([this.buf, chunk]);
    const out: FrameEvent[] = [];
    for (;;) {
      // keep-alives and stray CRLFs between messages
      let i = 0;
      const b = this.buf;
      while (i + 1 < b.length && b[i] === 13 && b[i + 1] === 10) {
        if (i + 3 < b.length && b[i + 2] === 13 && b[i + 3] === 10) {
          out.push({ kind: "ping" });
          i += 4;
        } else if (i + 2 >= b.length) {
          // a lone CRLF at the end: either a pong or the start of a ping; wait unless it is all we have
          if (i + 2 === b.length) {
            out.push({ kind: "pong" });
            i += 2;
          }
          break;
        } else {
          out.push({ kind: "pong" });
          i += 2;
        }
      }
      if (i > 0) this.buf = b.subarray(i);
      if (this.buf.length === 0) return out;
      const hdrEnd = this.buf.indexOf(CRLFCRLF);
      if (hdrEnd < 0) {
        if (this.buf.length > this.maxMessageSize) {
          out.push({ kind: "error", reason: "headers too large" });
          this.buf = Buffer.alloc(0);
        }
        return out;
      }
      const cl = findContentLength(this.buf, hdrEnd);
      if (cl === -1) {
        out.push({ kind: "error", reason: "missing Content-Length on a stream" });
        this.buf = Buffer.alloc(0);
        return out;
      }
      if (cl === -2) {
        out.push({ kind: "error", reason: "malformed Content-Length" });
        this.buf = Buffer.alloc(0);
        return out;
      }
      const total = hdrEnd + 4 + cl;
      if (total > this.maxMessageSize) {
        out.push({ kind: "error", reason: "message too large" });
        this.buf = Buffer.alloc(0);
        return out;
      }
      if (this.buf.length < total) return out;
      out.push({ kind: "message", data: this.buf.subarray(0, total) });
      this.buf = this.buf.subarray(total);
    }
  }
}

/** Content-Length from the header block buf[0, hdrEnd): -1 when absent, -2 when malformed. */
export function findContentLength(buf: Buffer, hdrEnd: number): number {
  let pos = 0;
  let found = -1;
  while (pos < hdrEnd) {
    let le = buf.indexOf(10, pos);
    if (le < 0 || le > hdrEnd) le = hdrEnd;
    // name
    const c0 = buf[pos]! | 0x20;
    if (c0 === 0x63 /* c */ || c0 === 0x6c /* l */) {
      const colon = buf.indexOf(58, pos);
      if (colon > 0 && colon < le) {
        const name = buf.toString("latin1", pos, colon).trim().toLowerCase();
        if (name === "content-length" || name === "l") {
          const v = buf.toString("latin1", colon + 1, le).trim();
          if (!/^\d{1,10}$/.test(v)) return -2;
          found = Number(v);
        }
      }
    }
    pos = le + 1;
  }
  return found;
}
