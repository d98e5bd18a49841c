/**
 * Routing script of bench/prefix-lookup/swap-under-load.ts: prefix_route picks a route name for
 * the dialled number (any name: every route goes to the `gateway` setting), and the script
 * measures the event loop of the data-plane process it runs in: perf_hooks
 * monitorEventLoopDelay (resolution 5 ms) and a 2 ms timer's longest gap, logged every
 * `monitorMs` as one JSON log line `eventloop { maxMs, p99Ms, meanMs, gapMs, gcMaxMs, gcKind,
 * matched, missed }` (the window's figures; gcMaxMs = longest GC pause, gcKind its V8 kind:
 * 1 scavenge, 4 mark-compact), which the benchmark reads from the process output.
 */
import { PerformanceObserver, monitorEventLoopDelay, performance } from "node:perf_hooks";
import { defineScript, type RequestContext } from "../../data-plane/core/api.js";
import type { PrefixRouteApi } from "../../data-plane/modules/prefix-route/index.js";

export default defineScript(({ modules, settings, log }) => {
  const pr = modules.prefix_route as PrefixRouteApi;
  const gateway = String(settings.gateway ?? "sip:127.0.0.1:5070");
  const every = typeof settings.monitorMs === "number" ? settings.monitorMs : 250;
  const h = monitorEventLoopDelay({ resolution: 5 });
  h.enable();
  let gap = 0;
  let last = performance.now();
  const ticker = setInterval(() => {
    const now = performance.now();
    if (now - last > gap) gap = now - last;
    last = now;
  }, 2);
  ticker.unref();
  let gcMax = 0;
  let gcKind = 0;
  new PerformanceObserver((list) => {
    for (const e of list.getEntries()) {
      if (e.duration > gcMax) {
        gcMax = e.duration;
        gcKind = ((e as unknown as { detail?: { kind?: number } }).detail?.kind) ?? 0;
      }
    }
  }).observe({ entryTypes: ["gc"] });
  let matched = 0;
  let missed = 0;
  const report = setInterval(() => {
    log.info("eventloop", {
      maxMs: +(h.max / 1e6).toFixed(2),
      p99Ms: +(h.percentile(99) / 1e6).toFixed(2),
      meanMs: +(h.mean / 1e6).toFixed(2),
      gapMs: +gap.toFixed(2),
      gcMaxMs: +gcMax.toFixed(2),
      gcKind,
      matched,
      missed,
    });
    h.reset();
    gap = 0;
    gcMax = 0;
    gcKind = 0;
  }, every);
  report.unref();

  function relay(req: RequestContext): void {
    if (!req.relay()) req.replyError();
  }

  return {
    request(req) {
      if (!req.processMaxForwards(10)) {
        req.reply(483, "Too Many Hops");
        return;
      }
      if (req.method === "CANCEL") {
        if (req.checkTransaction()) req.relay();
        return;
      }
      if (req.hasToTag) {
        if (req.looseRoute()) relay(req);
        else if (req.method === "ACK") {
          if (req.checkTransaction()) req.relay();
        } else req.reply(404, "Not here");
        return;
      }
      if (req.method === "ACK") {
        if (req.checkTransaction()) req.relay();
        return;
      }
      req.removeHeader("Route");
      if (req.method === "INVITE") req.recordRoute();
      if (pr.match(req) === null) {
        missed++;
        req.reply(404, "No route");
        return;
      }
      matched++;
      req.setDst(gateway);
      relay(req);
    },
  };
});
