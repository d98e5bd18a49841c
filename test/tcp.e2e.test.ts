/**
 * TCP transport behaviour over real sockets: Content-Length framing across segment boundaries,
 * several messages in one segment, RFC 5626 CRLF keep-alive (ping → pong), the connection limit,
 * the message-size limit, the idle timeout, and replies on the connection the request came in on.
 * Ports: a block of 100 from test/kit/ports.ts (freePortBlock), P + offset.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import net from "node:net";
import { join } from "node:path";
import { startProxy, TEST_SCRIPTS } from "./helpers/proxy.js";
import { request, statusOf } from "./helpers/udp-peer.js";
import type { DataPlane } from "../data-plane/node.js";
import { freePortBlock } from "./kit/ports.js";
import { letTimePass } from "./kit/wait.js";

const P = await freePortBlock(100);

function connect(port: number): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const s = net.connect({ host: "127.0.0.1", port }, () => resolve(s));
    s.once("error", reject);
  });
}

function collector(s: net.Socket): { text: () => string; wait: (pred: (t: string) => boolean, ms?: number) => Promise<string>; closed: Promise<void> } {
  let buf = "";
  const waiters: Array<() => void> = [];
  s.on("data", (d) => {
    buf += d.toString("latin1");
    for (const w of waiters.splice(0)) w();
  });
  const closed = new Promise<void>((r) => s.on("close", () => r()));
  return {
    text: () => buf,
    closed,
    wait(pred, ms = 3000) {
      return new Promise((resolve, reject) => {
        const t = setTimeout(() => reject(new Error(`timeout; got ${JSON.stringify(buf.slice(0, 300))}`)), ms);
        const check = () => {
          if (pred(buf)) {
            clearTimeout(t);
            resolve(buf);
          } else waiters.push(check);
        };
        check();
      });
    },
  };
}

describe("TCP transport", () => {
  let dp: DataPlane;
  beforeAll(async () => {
    dp = await startProxy({
      listen: [`tcp:127.0.0.1:${P}`],
      script: { file: join(TEST_SCRIPTS, "proxy-test.ts"), settings: { targets: [`sip:127.0.0.1:${P + 99};transport=tcp`] } },
      core: { tcp: { maxConnections: 8, idleTimeoutMs: 1500 }, limits: { maxMessageSize: 4000 } },
    });
  });
  afterAll(async () => {
    await dp?.stop();
  });

  it("frames by Content-Length across segments and answers on the same connection", async () => {
    const s = await connect(P);
    const c = collector(s);
    const opt = request("OPTIONS", `sip:127.0.0.1:${P}`, { port: 1, callId: "tcp-1@test", body: "hello" }).replace("Via: SIP/2.0/UDP", "Via: SIP/2.0/TCP");
    for (let i = 0; i < opt.length; i += 7) {
      s.write(opt.slice(i, i + 7));
      await letTimePass(2, "dribble the message a few bytes at a time");
    }
    const r = await c.wait((t) => t.includes("tcp-1@test"));
    expect(statusOf(r)).toBe(200);
    // two messages in one write
    const two = ["tcp-2@test", "tcp-3@test"].map((cid) => request("OPTIONS", `sip:127.0.0.1:${P}`, { port: 1, callId: cid }).replace("Via: SIP/2.0/UDP", "Via: SIP/2.0/TCP")).join("");
    s.write(two);
    await c.wait((t) => t.includes("tcp-2@test") && t.includes("tcp-3@test"));
    s.destroy();
  });

  it("answers a CRLF CRLF ping with a CRLF pong (RFC 5626 §3.5.1)", async () => {
    const s = await connect(P);
    const c = collector(s);
    s.write("\r\n\r\n");
    await c.wait((t) => t === "\r\n");
    s.destroy();
  });

  it("closes a connection that sends a message without Content-Length or over the size limit", async () => {
    const s1 = await connect(P);
    const c1 = collector(s1);
    s1.write(`OPTIONS sip:127.0.0.1:${P} SIP/2.0\r\nVia: SIP/2.0/TCP h;branch=z9hG4bK1\r\nCall-ID: nolen\r\n\r\n`);
    await c1.closed;
    const s2 = await connect(P);
    const c2 = collector(s2);
    s2.write("OPTIONS sip:x SIP/2.0\r\nX-Big: " + "a".repeat(5000) + "\r\n");
    await c2.closed;
    // still serving
    const s3 = await connect(P);
    const c3 = collector(s3);
    s3.write(request("OPTIONS", `sip:127.0.0.1:${P}`, { port: 1, callId: "tcp-after@test" }).replace("Via: SIP/2.0/UDP", "Via: SIP/2.0/TCP"));
    expect(statusOf(await c3.wait((t) => t.includes("tcp-after@test")))).toBe(200);
    s3.destroy();
  });

  it("enforces the connection limit and closes idle connections", async () => {
    const socks: net.Socket[] = [];
    const closed: Promise<void>[] = [];
    for (let i = 0; i < 12; i++) {
      const s = await connect(P);
      socks.push(s);
      closed.push(collector(s).closed);
    }
    await letTimePass(300, "the proxy accepts or refuses all 12 connections");
    expect(dp.core.transport.connectionCount()).toBeLessThanOrEqual(8);
    // idle timeout: every connection is closed by the proxy after ~1.5 s without traffic
    await Promise.race([Promise.all(closed), new Promise((_, rej) => setTimeout(() => rej(new Error("idle connections not closed")), 6000))]);
    expect(dp.core.transport.connectionCount()).toBe(0);
  });
});
