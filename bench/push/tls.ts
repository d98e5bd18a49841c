/**
 * What mutual TLS costs on the table push: one version of N prefix_route rows (default 1,000,000)
 * pushed whole from an in-process push server to an in-process sync client on loopback, from
 * connect to ACK, plaintext and mTLS alternately (certificates made with the openssl CLI in a
 * temporary folder). Nothing is asserted.
 *
 * Run: flock /tmp/olelo-test.lock npx tsx bench/push/tls.ts [ROWS] [ROUNDS]
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createMemorySource } from "../../control-plane/push/push-source.js";
import { createPushServer } from "../../control-plane/push/server.js";
import { PushAccess } from "../../control-plane/push/push-access.js";
import { WatchedPemFiles } from "../../lib/tls/pem-files.js";
import { setLogSink } from "../../lib/log/logger.js";
import { createSyncClient } from "../../data-plane/sync/client.js";
import { createFakeTables } from "../../data-plane/sync/testing/fake-sinks.js";
import { prefixRouteRows } from "../../tables/testing/sample-rows.js";

setLogSink(() => {});
const dir = mkdtempSync(join(tmpdir(), "olelo-tls-bench-"));
const f = (n: string) => join(dir, n);
const ssl = (a: string[]) => execFileSync("openssl", a, { stdio: "ignore" });
const ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"];
ssl(["req", "-x509", ...ec, "-keyout", f("ca.key"), "-out", f("ca.pem"), "-days", "1", "-subj", "/CN=bench-ca", "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign"]);
for (const [name, ext] of [["cp", "subjectAltName=IP:127.0.0.1"], ["bench", "extendedKeyUsage=clientAuth"]] as const) {
  ssl(["req", ...ec, "-keyout", f(`${name}.key`), "-out", f(`${name}.csr`), "-subj", `/CN=${name}`]);
  writeFileSync(f(`${name}.ext`), ext + "\n");
  ssl(["x509", "-req", "-in", f(`${name}.csr`), "-CA", f("ca.pem"), "-CAkey", f("ca.key"), "-set_serial", name === "cp" ? "0x1" : "0x2", "-out", f(`${name}.pem`), "-days", "1", "-extfile", f(`${name}.ext`)]);
}

const N = Number(process.argv[2] ?? 1_000_000);
const ROUNDS = Number(process.argv[3] ?? 2);
const rows = prefixRouteRows(N);

async function once(mode: "plaintext" | "mtls"): Promise<number> {
  const source = createMemorySource();
  source.set("prefix_route", { prefix_route: rows }, "v1");
  const pem = mode === "mtls" ? new WatchedPemFiles({ ca: f("ca.pem"), cert: f("cp.pem"), key: f("cp.key") }, { pollMs: 0 }) : null;
  const server = await createPushServer({ source, host: "127.0.0.1", port: 0, security: pem ? { tls: { pem, requireClientCert: true }, access: new PushAccess(null) } : undefined });
  const t = createFakeTables(["prefix_route"]);
  const t0 = performance.now();
  const tls = mode === "mtls" ? { ca: f("ca.pem"), cert: f("bench.pem"), key: f("bench.key"), pollMs: 0 } : null;
  const c = await createSyncClient({ url: `127.0.0.1:${server.port}`, nodeId: "bench", tables: t.tables, cacheDir: null, deltaBase: "off", tls });
  while (c.status().acks < 1) await new Promise((r) => setTimeout(r, 2));
  const took = performance.now() - t0;
  await c.close();
  await server.close({ force: true });
  pem?.close();
  return took;
}

const results: Record<string, number[]> = { plaintext: [], mtls: [] };
for (let i = 0; i < ROUNDS; i++) for (const m of ["plaintext", "mtls"] as const) results[m]!.push(await once(m));
for (const [m, v] of Object.entries(results)) process.stdout.write(`${m}: ${N} prefix_route rows, connect → ACK ${v.map((x) => x.toFixed(0)).join(" / ")} ms\n`);
process.exit(0);
