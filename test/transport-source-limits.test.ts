/**
 * Stream connection limits per source address and the first-message timeout (issue 15), real TCP
 * sockets against a real proxy: one source holding its quota of silent connections is refused
 * further ones while another source (127.0.0.2) is still served, silent connections are closed after
 * `core.tcp.firstMessageTimeoutMs`, and a connection that sent a complete request stays open.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import net from "node:net";
import { join } from "node:path";
import { startProxy, TEST_SCRIPTS } from "./helpers/proxy.js";
import type { DataPlane } from "../data-plane/node.js";
import { freePortBlock } from "./kit/ports.js";
import { waitUntil, letTimePass } from "./kit/wait.js";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { spawnCommand, waitUntil as waitForLog, type TestProcess } from "./helpers/processes.js";

const P = await freePortBlock(10);

function open(localAddress: string, port = P): Promise<{ s: net.Socket; closed: () => boolean; data: () => string }> {
  return new Promise((resolve, reject) => {
    let closed = false;
    let data = "";
    const s = net.connect({ host: "127.0.0.1", port, localAddress }, () => resolve({ s, closed: () => closed, data: () => data }));
    s.on("data", (d) => (data += d.toString()));
    s.on("close", () => (closed = true));
    s.on("error", () => (closed = true));
    s.once("error", reject);
  });
}

function options(from: string, port: number): string {
  return (
    `OPTIONS sip:127.0.0.1:${P} SIP/2.0\r\nVia: SIP/2.0/TCP ${from}:${port};branch=z9hG4bK-lim${port}\r\n` +
    `Max-Forwards: 70\r\nFrom: <sip:t@${from}>;tag=1\r\nTo: <sip:127.0.0.1:${P}>\r\nCall-ID: lim-${port}@${from}\r\n` +
    `CSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n`
  );
}

describe("per-source stream connection limit and first-message timeout", () => {
  let dp: DataPlane;
  beforeAll(async () => {
    dp = await startProxy({
      listen: [`tcp:127.0.0.1:${P}`],
      core: { tcp: { maxConnectionsPerSource: 3, firstMessageTimeoutMs: 800 } },
      script: { file: join(TEST_SCRIPTS, "proxy-test.ts"), settings: { targets: [`sip:127.0.0.1:${P + 5}`] } },
    });
  });
  afterAll(async () => {
    await dp?.stop();
  });

  it("refuses a source's 4th connection, serves another source, and closes silent connections", async () => {
    const silent = [await open("127.0.0.1"), await open("127.0.0.1"), await open("127.0.0.1")];
    await waitUntil(() => dp.core.transport.connectionCount() === 3, { timeoutMs: 2000 });
    const fourth = await open("127.0.0.1");
    await waitUntil(() => fourth.closed(), { timeoutMs: 2000 });
    expect(fourth.closed()).toBe(true);
    expect(silent.every((c) => !c.closed())).toBe(true);

    // another source is not locked out: its request is answered and its connection stays
    const other = await open("127.0.0.2");
    other.s.write(options("127.0.0.2", other.s.localPort!));
    await waitUntil(() => other.data().includes("SIP/2.0 200"), { timeoutMs: 3000 });
    expect(other.data()).toMatch(/^SIP\/2\.0 200/);

    // the silent ones are closed by the first-message timeout; the talking one is not
    await waitUntil(() => silent.every((c) => c.closed()), { timeoutMs: 3000 });
    expect(silent.every((c) => c.closed())).toBe(true);
    expect(other.closed()).toBe(false);
    expect(dp.core.transport.stats.tcpFirstMessageTimeouts).toBeGreaterThanOrEqual(3);
    expect(dp.core.transport.stats.tcpRejectedPerSource).toBeGreaterThanOrEqual(1);

    // with its quota freed, the source connects again
    const again = await open("127.0.0.1");
    again.s.write(options("127.0.0.1", again.s.localPort!));
    await waitUntil(() => again.data().includes("SIP/2.0 200"), { timeoutMs: 3000 });
    expect(again.closed()).toBe(false);
    other.s.destroy();
    again.s.destroy();
  });

  it("rejects a wrong type for the new settings with the key named", async () => {
    const { buildConfig } = await import("../data-plane/core/config-file.js");
    expect(() => buildConfig({ core: { tcp: { maxConnectionsPerSource: "3" } } } as never, process.cwd())).toThrow(/core\.tcp\.maxConnectionsPerSource/);
  });
});

describe("the same settings in the started process (npm start --config)", () => {
  let proc: TestProcess;
  const Q = P + 7;
  beforeAll(async () => {
    const dir = mkdtempSync(join(tmpdir(), "olelo-srclim-"));
    const cfg = join(dir, "olelo.json");
    writeFileSync(cfg, JSON.stringify({ listen: [`tcp:127.0.0.1:${Q}`], core: { tcp: { maxConnectionsPerSource: 1, firstMessageTimeoutMs: 800 } } }));
    proc = spawnCommand("npm start", "npm", ["start", "--", "--config", cfg, "--control", "off"]);
    await waitForLog("npm start", () => proc.log().includes("olelo data plane running"), 30_000, [proc]);
  }, 40_000);
  afterAll(async () => {
    await proc?.stop();
  });

  it("refuses a source's second connection and closes the silent first one", async () => {
    const first = await open("127.0.0.1", Q);
    await letTimePass(100, "the server accepts and counts the first (not observable from outside)");
    const second = await open("127.0.0.1", Q);
    await waitUntil(() => second.closed(), { timeoutMs: 2000 });
    expect(first.closed()).toBe(false);
    await waitUntil(() => first.closed(), { timeoutMs: 3000 });
    expect(first.closed()).toBe(true);
  });
});
