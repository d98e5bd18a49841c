/**
 * Every example configuration in etc/ starts (sockets moved to test ports, control API off, state in
 * a temp dir), loads its modules and tables, and answers an OPTIONS keepalive — so the README's
 * examples stay true. Ports: a block of 100 from test/kit/ports.ts (freePortBlock).
 */
import { describe, expect, it } from "vitest";
import { mkdtempSync, readFileSync, readdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { buildConfig } from "../data-plane/core/config-file.js";
import { startDataPlane } from "../data-plane/node.js";
import { UdpPeer, request, statusOf } from "./helpers/udp-peer.js";
import { freePortBlock } from "./kit/ports.js";

const BASE = await freePortBlock(100); // this file's ports: BASE … BASE + 99
const ETC = resolve(import.meta.dirname, "../etc");
const files = [join(ETC, "olelo.json"), ...readdirSync(join(ETC, "examples")).filter((f) => f.endsWith(".json") && !f.includes("tables") && !["subscribers.json", "trusted-peers.json"].includes(f)).map((f) => join(ETC, "examples", f))];

describe("example configurations", () => {
  let port = BASE;
  for (const file of files) {
    it(`${file.slice(ETC.length + 1)} starts and answers`, async () => {
      const raw = JSON.parse(readFileSync(file, "utf8")) as Record<string, unknown>;
      expect(raw.$comment, "the example states what it protects against").toMatch(/Protects against: \S/);
      const sip = port++;
      const cp = port++;
      raw.listen = [`udp:127.0.0.1:${sip}`];
      raw.control = null;
      raw.dataDir = mkdtempSync(join(tmpdir(), "olelo-example-"));
      raw.log = { level: "warn" };
      if (raw.controlPlane) raw.controlPlane = { ...(raw.controlPlane as object), url: `127.0.0.1:${cp}` }; // nothing listens: the node runs from its (empty) cache
      const modules = raw.modules as Record<string, Record<string, unknown>> | undefined;
      if (modules?.acc) modules.acc = { ...modules.acc, log_file: join(raw.dataDir as string, "acc.jsonl") };
      if (modules?.usrloc?.db_url) modules.usrloc = { ...modules.usrloc, redis_prefix: `olelo:test:example:${process.pid}:` };
      const dp = await startDataPlane(buildConfig(raw, join(file, "..")));
      const peer = await UdpPeer.open(0);
      try {
        expect(dp.modules.map((m) => m.name).sort()).toEqual(expect.arrayContaining(Object.keys(modules ?? {})));
        for (const kind of Object.keys((raw.tables as object) ?? {})) expect(dp.tables.statusOf(kind)?.version, kind).toBeTruthy();
        peer.send(request("OPTIONS", `sip:127.0.0.1:${sip}`, { port: peer.port, callId: `ex-${sip}@test` }), sip);
        const r = await peer.wait((t) => t.includes(`ex-${sip}@test`));
        expect(statusOf(r)).toBe(200);
      } finally {
        peer.close();
        await dp.stop();
      }
    });
  }
});
