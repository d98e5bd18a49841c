import type { IncomingMessage } from "node:http";

/** The request body is larger than the configured limit (HTTP 413). */
export class BodyTooLargeError extends Error {
  override readonly name = "BodyTooLargeError";
  constructor(readonly limit: number) {
    super(`request body exceeds ${limit} bytes`);
  }
}

/**
 * Reads a request body as UTF-8, refusing more than `limit` bytes — checked against
 * Content-Length up front and again while streaming (chunked bodies have no length).
 *
 * @example
 *   const text = await readBody(req, 1 << 20);
 */
export function readBody(req: IncomingMessage, limit: number): Promise<string> {
  const declared = Number(req.headers["content-length"] ?? NaN);
  if (Number.isFinite(declared) && declared > limit) return Promise.reject(new BodyTooLargeError(limit));
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let done = false;
    const onData = (c: Buffer) => {
      size += c.length;
      if (size > limit) {
        done = true;
        chunks.length = 0;
        req.off("data", onData);
        req.resume(); // discard the rest
        reject(new BodyTooLargeError(limit));
        return;
      }
      chunks.push(c);
    };
    req.on("data", onData);
    req.on("end", () => {
      if (!done) resolve(Buffer.concat(chunks).toString("utf8"));
    });
    req.on("error", (e) => {
      if (!done) {
        done = true;
        reject(e);
      }
    });
  });
}
