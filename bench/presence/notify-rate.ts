/**
 * NOTIFYs per second of the presence server: N presentities with W watchers each (default
 * 10 000 × 2), one data plane in this process (real UDP sockets, the core's UAC with its
 * retransmission timers), watchers' contacts on one UDP sink (another process would be fairer;
 * here it shares the event loop) that answers 200 to every NOTIFY. Subscriptions are put into the
 * server directly (building 20k SUBSCRIBE dialogs over SIP is not what is measured); then every
 * presentity gets one publication through the module's API and the clock runs until every
 * NOTIFY has its 200.
 *
 *   flock /tmp/olelo-test.lock npx tsx bench/presence/notify-rate.ts [--presentities 10000] [--watchers 2]
 */
import { createSocket } from "node:dgram";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { buildConfig } from "../../data-plane/core/config-file.js";
import { startDataPlane } from "../../data-plane/node.js";
import type { PresenceApi } from "../../data-plane/modules/presence/index.js";
import { simplePidf } from "../../data-plane/modules/presence/packages.js";
import { nowS } from "../../data-plane/modules/presence/server.js";
import { SubsStatus } from "../../data-plane/modules/presence/types.js";
import { freePortBlock } from "../../test/kit/ports.js";

const arg = (n: string, d: number) => {
  const i = process.argv.indexOf(`--${n}`);
  return i > 0 ? Number(process.argv[i + 1]) : d;
};
const N = arg("presentities", 10_000);
const W = arg("watchers", 2);
const [port, sinkPort] = [await freePortBlock(2)].map((p) => [p, p + 1])[0]!;

const sink = createSocket("udp4");
let answered = 0;
sink.on("message", (m, r) => {
  const t = m.toString("latin1");
  const end = t.indexOf("\r\n\r\n");
  const lines = t.slice(0, end).split("\r\n").slice(1);
  const keep = lines.filter((l) => /^(via|from|to|call-id|cseq):/i.test(l));
  sink.send(`SIP/2.0 200 OK\r\n${keep.join("\r\n")}\r\nContent-Length: 0\r\n\r\n`, r.port, r.address);
  answered++;
});
await new Promise<void>((r) => sink.bind(sinkPort, "127.0.0.1", r));

const cfg = buildConfig(
  { listen: [`udp:127.0.0.1:${port}`], control: null, dataDir: mkdtempSync(join(tmpdir(), "olelo-bench-pres-")), log: { level: "error" }, modules: { presence: { timer_period: 3600 } } },
  process.cwd(),
);
const dp = await startDataPlane(cfg);
const presence = dp.modules.find((m) => m.name === "presence")!.api as PresenceApi;
const srv = presence.server;
const now = nowS();
for (let i = 0; i < N; i++) {
  for (let j = 0; j < W; j++) {
    srv.addWatcher({
      presentityUri: `sip:p${i}@example.com`, watcherUsername: `w${j}`, watcherDomain: "example.com", toUser: `p${i}`, toDomain: "example.com",
      event: "presence", eventId: null, toTag: `t${i}.${j}`, fromTag: `f${i}.${j}`, callId: `c${i}.${j}`, localCseq: 0, remoteCseq: 1,
      contact: `sip:w${j}@127.0.0.1:${sinkPort}`, recordRoute: null, expires: now + 3600, status: SubsStatus.ACTIVE, reason: null, version: 0,
      socketInfo: `udp:127.0.0.1:${port}`, localContact: `sip:127.0.0.1:${port}`, fromUser: `w${j}`, fromDomain: "example.com",
      updated: now, updatedWinfo: now, flags: 0, userAgent: "",
    });
  }
}
const rss0 = process.memoryUsage().rss;
const t0 = performance.now();
const pubs: Promise<string>[] = [];
for (let i = 0; i < N; i++) pubs.push(presence.publish({ presentity: `p${i}@example.com`, event: "presence", body: simplePidf(`sip:p${i}@example.com`, "open", "away"), expires: 3600 }));
await Promise.all(pubs);
const total = N * W;
while (answered < total && performance.now() - t0 < 120_000) await new Promise((r) => setTimeout(r, 20));
const s = (performance.now() - t0) / 1000;
const st = dp.stats.select("presence:");
console.log(
  JSON.stringify({
    presentities: N,
    watchers_each: W,
    notifies_answered: answered,
    seconds: Number(s.toFixed(2)),
    notifies_per_s: Math.round(answered / s),
    notify_failed: st.find(([k]) => k === "presence:notify_failed")?.[1] ?? 0,
    rss_mb_before_publish: Math.round(rss0 / 1e6),
    rss_mb_after: Math.round(process.memoryUsage().rss / 1e6),
  }),
);
await dp.stop();
sink.close();
