/**
 * Memory per idle connection (Kamailio reports ~4.5 kB per TCP connection and another ~61 kB per
 * TLS connection inside OpenSSL): opens N idle TCP, then N idle TLS connections to a proxy in
 * its own process, and reads the proxy's RSS / V8 heap / external memory after a full GC before
 * and after. Usage: npx tsx bench/transport/conn-memory.ts [N=10000]
 */
import net from "node:net";
import tls from "node:tls";
import { readFileSync, mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { makeTestPki } from "../../test/fixtures/tls/make-pki.js";
import { startProxyProcess } from "./proxy-process.js";

interface Mem {
  rssKb: number;
  heapUsed: number;
  external: number;
  arrayBuffers: number;
  connections: number;
}

const N = Number(process.argv[2] ?? 10_000);
const pki = makeTestPki();
const proxy = await startProxyProcess({
  listen: ["udp:127.0.0.1:23900", "tcp:127.0.0.1:23900", { socket: "tls:127.0.0.1:23901", tls: { cert: pki.server.cert, key: pki.server.key } }],
  core: { tcp: { maxConnections: N + 1000, idleTimeoutMs: 3_600_000 } },
  script: { file: join(import.meta.dirname, "forward-script.ts"), settings: { target: "sip:127.0.0.1:23999" } },
});
const ca = readFileSync(pki.ca);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function open(kind: "tcp" | "tls"): Promise<net.Socket[]> {
  const out: net.Socket[] = [];
  const batch = kind === "tls" ? 200 : 1000;
  for (let i = 0; i < N; i += batch) {
    const ps: Promise<net.Socket>[] = [];
    for (let j = i; j < Math.min(N, i + batch); j++) {
      ps.push(
        new Promise((resolve, reject) => {
          const s = kind === "tls" ? tls.connect({ host: "127.0.0.1", port: 23901, ca }) : net.connect({ host: "127.0.0.1", port: 23900 });
          s.once(kind === "tls" ? "secureConnect" : "connect", () => resolve(s));
          s.once("error", reject);
        }),
      );
    }
    out.push(...(await Promise.all(ps)));
  }
  return out;
}

async function measure(kind: "tcp" | "tls") {
  const before = await proxy.ask<Mem>("mem");
  const t0 = Date.now();
  const socks = await open(kind);
  const openS = (Date.now() - t0) / 1000;
  await sleep(1500);
  const after = await proxy.ask<Mem>("mem");
  for (const s of socks) s.destroy();
  await sleep(1500);
  const closed = await proxy.ask<Mem>("mem");
  const per = (a: number, b: number) => (a - b) / N;
  return {
    kind,
    connections: after.connections,
    openSeconds: openS,
    rssKbPerConn: per(after.rssKb, before.rssKb),
    heapBytesPerConn: per(after.heapUsed, before.heapUsed),
    externalBytesPerConn: per(after.external, before.external),
    rssKbBefore: before.rssKb,
    rssKbOpen: after.rssKb,
    rssKbAfterClose: closed.rssKb,
    connectionsAfterClose: closed.connections,
  };
}

const results = [await measure("tcp"), await measure("tls")];
await proxy.stop();
const fmt = (x: number) => x.toFixed(2);
console.log(`idle connections: ${N}`);
console.log("kind | open conns | open time s | RSS kB/conn | V8 heap B/conn | external B/conn | RSS kB before/open/after close");
for (const r of results) {
  console.log(
    `${r.kind} | ${r.connections} | ${fmt(r.openSeconds)} | ${fmt(r.rssKbPerConn)} | ${fmt(r.heapBytesPerConn)} | ${fmt(r.externalBytesPerConn)} | ${r.rssKbBefore}/${r.rssKbOpen}/${r.rssKbAfterClose} (${r.connectionsAfterClose} left)`,
  );
}
const outDir = join(import.meta.dirname, "out");
mkdirSync(outDir, { recursive: true });
writeFileSync(join(outDir, `conn-memory-${Date.now()}.json`), JSON.stringify({ n: N, results }, null, 2));
