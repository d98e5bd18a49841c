import { afterEach, describe, expect, it } from "vitest";
import * as grpc from "@grpc/grpc-js";
import { setLogSink, type LogRecord } from "../../lib/log/logger.js";
import { lcrGwRows } from "../../tables/testing/sample-rows.js";
import { FLEET_OPTIONS } from "../compile/fleet-options.js";
import { createMemorySource } from "./push-source.js";
import { createPushServer, type PushServer } from "./server.js";
import { openRawStream, type RawStream } from "./testing/raw-stream.js";
import { waitUntil } from "../../test/kit/wait.js";

// The Hello's compile_options reach the control plane's fleet record (compile/fleet-options.ts).
const logs: LogRecord[] = [];
setLogSink((r) => logs.push(r));

let server: PushServer | null = null;
const streams: RawStream[] = [];
afterEach(async () => {
  for (const s of streams.splice(0)) s.close();
  await server?.close();
  server = null;
  logs.length = 0;
});

async function open(): Promise<RawStream> {
  if (!server) {
    const source = createMemorySource();
    source.set("lcr", { lcr_gw: lcrGwRows(2), lcr_rule: [], lcr_rule_target: [] }, "l1");
    server = await createPushServer({ source, host: "127.0.0.1", port: 0 });
  }
  const r = openRawStream(server.address);
  streams.push(r);
  return r;
}

const until = (cond: () => boolean, ms = 3000) => waitUntil(cond, { timeoutMs: ms, intervalMs: 10 });

describe("Hello compile_options", () => {
  it("a node's options are recorded while it is connected; a second node with other options is named in one warning line", async () => {
    const a = await open();
    a.hello("opt-a", ["lcr"], {}, undefined, { compileOptions: { lcr: '{"lcrCount":1}' } });
    await a.next();
    expect(FLEET_OPTIONS.sets("lcr")).toEqual([{ key: '{"lcrCount":1}', options: { lcrCount: 1 }, nodes: ["opt-a"] }]);
    const b = await open();
    b.hello("opt-b", ["lcr"], {}, undefined, { compileOptions: { lcr: "{}" } });
    await b.next();
    expect(FLEET_OPTIONS.sets("lcr").map((s) => s.nodes)).toEqual([["opt-a"], ["opt-b"]]);
    const warn = logs.filter((l) => l.level === "warn" && l.msg.includes("compile options"));
    expect(warn.map((l) => l.msg)).toEqual(["node opt-b: lcr compile options {} differ from node opt-a's {\"lcrCount\":1}; every lcr version must compile with both"]);
    a.close();
    await until(() => FLEET_OPTIONS.sets("lcr").length === 1);
    expect(FLEET_OPTIONS.sets("lcr")[0]!.nodes).toEqual(["opt-b"]);
  });

  it("options that do not read end the stream with INVALID_ARGUMENT and one line naming kind and option", async () => {
    const s = await open();
    s.hello("opt-bad", ["lcr"], {}, undefined, { compileOptions: { lcr: '{"lcrCount":"two"}' } });
    const st = await s.status();
    expect(st.code).toBe(grpc.status.INVALID_ARGUMENT);
    expect(st.details).toBe('hello.compile_options: lcr: lcr compile options: lcrCount must be an integer 1..65535, got "two"');
    expect(FLEET_OPTIONS.sets("lcr")).toEqual([]);
  });
});
