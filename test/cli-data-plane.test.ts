/**
 * olectl and kamcli against a running data-plane process (`tsx data-plane/main.ts --config …`) with
 * the real dispatcher module (destinations from a table file) and the control API on HTTP plus the
 * jsonrpcs unix datagram socket that kamcli (transport=socket) uses. Checks output, --json, exit
 * codes and one-line errors of olectl run as its own process. Ports: a block of 100 from test/kit/ports.ts (freePortBlock), P + offset.
 */
import { execFile } from "node:child_process";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { UdpPeer } from "./helpers/udp-peer.js";
import { dispatcherSets, olectlInProcess, olectlProcess, rpcCall, startOleloProcess, waitFor, type CliRun, type OleloProcess } from "./scripts/cli-support.js";
import { freePortBlock } from "./kit/ports.js";

const P = await freePortBlock(100);

const run = promisify(execFile);
const hasKamcli = existsSync("/usr/bin/kamcli");

const DP_SIP = P + 10;
const DP_CONTROL = P + 11;
const PEER = P + 12;
const REFUSED = P + 99; // nothing listens here
const DP_URL = `http://127.0.0.1:${DP_CONTROL}/RPC`;
const A = `sip:127.0.0.1:${P + 20}`;
const B = `sip:127.0.0.1:${P + 21}`;

const ENV = { OLELO_URL: DP_URL, OLELO_CP_URL: `http://127.0.0.1:${REFUSED}/RPC` };
/** olectl as its own process (exit code, stdout, stderr of the real binary). */
const olectl = (args: string[]) => olectlProcess(args, ENV);
/** olectl's main() in this process: the same code, for the variants (saves process starts on a loaded machine). */
const olectlFast = (args: string[]) => olectlInProcess(args, ENV);
/** In-process output has no trailing newline; the process prints one per line. */
const asProcess = (r: CliRun): CliRun => ({ code: r.code, out: r.out ? `${r.out}\n` : "", err: r.err ? `${r.err}\n` : "" });

describe("olectl and kamcli against a running data-plane process", () => {
  let dp: OleloProcess;
  let dir: string;
  let sock: string;
  let tableFile: string;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "olelo-cli-dp-"));
    sock = join(dir, "rpc.sock");
    tableFile = join(dir, "dispatcher.json");
    writeFileSync(
      tableFile,
      JSON.stringify({
        dispatcher: [
          { id: 1, setid: 1, destination: A, flags: 0, priority: 10, attrs: "duid=a;weight=50", description: "a" },
          { id: 2, setid: 1, destination: B, flags: 0, priority: 5, attrs: "duid=b;weight=50", description: "b" },
          { id: 3, setid: 2, destination: `sip:127.0.0.1:${P + 22};transport=tcp`, flags: 0, priority: 0, attrs: "", description: "" },
        ],
      }),
    );
    const cfg = join(dir, "olelo.json");
    writeFileSync(
      cfg,
      JSON.stringify({
        node: "cli-dp-2",
        listen: [`udp:127.0.0.1:${DP_SIP}`],
        control: { listen: `127.0.0.1:${DP_CONTROL}`, dgram: sock },
        modules: { dispatcher: { ping_interval: 0 } },
        tables: { dispatcher: tableFile },
        script: { settings: { dispatcherSet: 1 } },
        dataDir: join(dir, "data"),
        log: { level: "warn" },
      }),
    );
    dp = startOleloProcess("data-plane/main.ts", ["--config", cfg]);
    await waitFor("the data plane's control API", async () => typeof (await rpcCall(DP_URL, "core.uptime")).uptime === "number", 60_000, [dp]);
    // one request, so the core counters are not all zero
    const peer = await UdpPeer.open(PEER);
    try {
      peer.send(
        `OPTIONS sip:127.0.0.1:${DP_SIP} SIP/2.0\nVia: SIP/2.0/UDP 127.0.0.1:${PEER};branch=z9hG4bK-cli-1\nFrom: <sip:cli@127.0.0.1>;tag=1\nTo: <sip:127.0.0.1:${DP_SIP}>\nCall-ID: cli-options-1\nCSeq: 1 OPTIONS\nMax-Forwards: 70\nContent-Length: 0\n\n`,
        DP_SIP,
      );
      expect((await peer.wait((t) => t.startsWith("SIP/2.0 200"))).split("\r\n")[0]).toBe("SIP/2.0 200 Keepalive");
    } finally {
      peer.sock.close();
    }
  }, 90_000);

  afterAll(async () => {
    expect(await dp?.stop()).toBe(0);
    if (dir) rmSync(dir, { recursive: true, force: true });
  }, 30_000);

  it("uptime, stats core:, rpc core.version, methods, dispatcher list, tables: human output and --json, exit 0", async () => {
    const [up, upJson, stats, statsJson, version, methods, help, list, listJson, tables, tablesJson] = await Promise.all([
      olectl(["uptime"]),
      olectlFast(["--json", "uptime"]).then(asProcess),
      olectl(["stats", "core:"]),
      olectlFast(["stats", "core:", "--json"]).then(asProcess),
      olectl(["rpc", "core.version"]),
      olectl(["methods"]),
      olectlFast(["methods", "dispatcher.set_state"]).then(asProcess),
      olectlFast(["dispatcher", "list"]).then(asProcess),
      olectl(["dispatcher", "list", "--json"]),
      olectl(["tables"]),
      olectlFast(["--json", "tables"]).then(asProcess),
    ]);
    for (const r of [up, upJson, stats, statsJson, version, methods, help, list, listJson, tables, tablesJson]) expect(r).toMatchObject({ code: 0, err: "" });

    expect(up.out).toMatch(/^up (\d+[dhm] )*\d+s \(since \w{3} \w{3} [ \d]\d \d\d:\d\d:\d\d \d{4}; now \w{3} \w{3} [ \d]\d \d\d:\d\d:\d\d \d{4}\)\n$/);
    expect(JSON.parse(upJson.out)).toEqual({ now: expect.any(String), up_since: expect.any(String), uptime: expect.any(Number) });

    const statLines = stats.out.trimEnd().split("\n");
    for (const l of statLines) expect(l).toMatch(/^core:\w+ = \d+$/);
    const counters = JSON.parse(statsJson.out) as Record<string, number>;
    expect(Object.keys(counters).sort()).toEqual(statLines.map((l) => l.split(" = ")[0]).sort());
    expect(counters["core:rcv_requests"]).toBeGreaterThanOrEqual(1);
    expect(counters["core:rcv_requests"]).toBe(Number(/core:rcv_requests = (\d+)/.exec(stats.out)?.[1]));

    expect(version.out).toMatch(/^olelo \d+\.\d+\.\d+ \(\w+\/\w+\) node v\d+\.\d+\.\d+\n$/);
    const names = methods.out.trimEnd().split("\n");
    expect(names).toEqual(expect.arrayContaining(["core.uptime", "core.version", "stats.get_statistics", "core.config_status", "dispatcher.list", "dispatcher.set_state", "system.listMethods"]));
    expect(names).toEqual([...names].sort());
    expect(help.out).toMatch(/^dispatcher\.set_state\(state:string, group:int, address:string\)\n/);

    expect(list.out.split("\n")).toEqual([
      expect.stringMatching(/^SET\s+URI\s+FLAGS\s+PRIORITY\s+ATTRS\s+LATENCY_AVG$/),
      expect.stringMatching(new RegExp(String.raw`^1\s+sip:127\.0\.0\.1:${P + 20}\s+AX\s+10\s+duid=a;weight=50\s+-$`)),
      expect.stringMatching(new RegExp(String.raw`^1\s+sip:127\.0\.0\.1:${P + 21}\s+AX\s+5\s+duid=b;weight=50\s+-$`)),
      expect.stringMatching(new RegExp(String.raw`^2\s+sip:127\.0\.0\.1:${P + 22};transport=tcp\s+AX\s+0\s+-$`)),
      "",
    ]);
    const ds = JSON.parse(listJson.out);
    expect(ds.NRSETS).toBe(2);
    expect(dispatcherSets(ds)).toEqual({ 1: [A, B], 2: [`sip:127.0.0.1:${P + 22};transport=tcp`] });
    expect(ds.RECORDS[0].SET.TARGETS[0].DEST).toMatchObject({ URI: A, FLAGS: "AX", PRIORITY: 10, ATTRS: { BODY: "duid=a;weight=50", DUID: "a", WEIGHT: 50 } });

    expect(tables.out.split("\n")[0]).toMatch(/^KIND\s+VERSION\s+APPLIEDAT\s+ROWS\s+SOURCE\s+LASTERRORVERSION\s+LASTERROR$/);
    expect(tables.out).toMatch(new RegExp(`\\ndispatcher\\s+file-[0-9a-f]{12}\\s+\\S+Z\\s+3\\s+file:${tableFile.replace(/\./g, "\\.")}\\s+-\\s+-\\n`));
    expect(JSON.parse(tablesJson.out)).toEqual(
      expect.arrayContaining([expect.objectContaining({ kind: "dispatcher", rows: 3, source: `file:${tableFile}`, version: expect.stringMatching(/^file-/), lastError: null })]),
    );
  }, 60_000);

  it("bad arguments exit 2 and RPC errors / refused connections exit 1, each with one line on stderr and nothing on stdout", async () => {
    const refused = `http://127.0.0.1:${REFUSED}/RPC`;
    // [argv, exit code, stderr, run as a process?]
    const cases: Array<[string[], number, RegExp, boolean?]> = [
      [["stats", "--bogus"], 2, /^olectl: unknown option --bogus for 'stats' \(see olectl stats --help\)\n$/, true],
      [["dispatcher", "set-state", "zz", "1", A], 2, /^olectl: 'dispatcher set-state': STATE must be one of a, i, d, t, ap, ip, dp, tp, got 'zz'\n$/, true],
      [["rpc"], 2, /^olectl: 'rpc' needs METHOD \(usage: olectl rpc METHOD/, true],
      [["uptime", "now"], 2, /^olectl: 'uptime' takes no argument 'now'/],
      [["frobnicate"], 2, /^olectl: unknown command 'frobnicate' \(see olectl --help\)\n$/],
      [["--timeout", "soon", "uptime"], 2, /^olectl: option --timeout needs an integer, got 'soon'\n$/],
      [["--url", "ftp://127.0.0.1/RPC", "uptime"], 2, /^olectl: option --url: 'ftp:\/\/127\.0\.0\.1\/RPC' is not an http\(s\) URL\n$/],
      [["rpc", "no.such.method"], 1, /^olectl: no\.such\.method: method 'no\.such\.method' not found \(code -32601\)\n$/, true],
      [["rpc", "dispatcher.set_state", "ip", "one", A], 1, /^olectl: dispatcher\.set_state: invalid parameter 'group': .+ \(code -32602\)\n$/],
      [["dispatcher", "set-state", "ip", "9", "sip:127.0.0.1:1"], 1, /^olectl: dispatcher\.set_state: .+ \(code 404\)\n$/],
      [["--url", refused, "uptime"], 1, new RegExp(`^olectl: cannot reach the data plane at ${refused.replace(/\./g, "\\.")}: connect ECONNREFUSED 127\\.0\\.0\\.1:${REFUSED}\\n$`), true],
      [["--url", refused, "--json", "dispatcher", "list"], 1, /^olectl: cannot reach the data plane at .*ECONNREFUSED.*\n$/],
      [["nodes"], 1, new RegExp(`^olectl: cannot reach the control plane at ${refused.replace(/\./g, "\\.")}: connect ECONNREFUSED`)],
    ];
    const results = await Promise.all(cases.map(([argv, , , proc]) => (proc ? olectl(argv) : olectlFast(argv).then(asProcess))));
    results.forEach((r, i) => {
      const [argv, code, msg] = cases[i]!;
      expect(r.code, argv.join(" ")).toBe(code);
      expect(r.out, argv.join(" ")).toBe("");
      expect(r.err.trimEnd().split("\n"), argv.join(" ")).toHaveLength(1);
      expect(r.err, argv.join(" ")).toMatch(msg);
    });
  }, 60_000);

  it.skipIf(!hasKamcli)("kamcli (transport=socket) runs rpc core.uptime, dispatcher list and a state change on the data-plane process", async () => {
    const ini = join(dir, "kamcli.ini");
    writeFileSync(ini, `[main]\ndomain=localhost\n[jsonrpc]\ntransport=socket\nsrvaddr=${sock}\nrcvaddr=${join(dir, "kamcli_rpc.sock")}\noutformat=json\n`);
    const kamcli = async (...args: string[]) => {
      const r = await run("kamcli", ["--no-default-configs", "-c", ini, ...args], { timeout: 20_000 });
      return JSON.parse(r.stdout) as { jsonrpc: string; id: number; result?: any; error?: { code: number; message: string } };
    };
    const up = await kamcli("rpc", "core.uptime");
    expect(up.result).toEqual({ now: expect.stringMatching(/^\w{3} \w{3} [ \d]\d \d\d:\d\d:\d\d \d{4}$/), up_since: expect.any(String), uptime: expect.any(Number) });
    expect(up.result.up_since).toBe((await rpcCall(DP_URL, "core.uptime")).up_since);

    const ds = await kamcli("dispatcher", "list");
    expect(ds.result.NRSETS).toBe(2);
    expect(dispatcherSets(ds.result)).toEqual({ 1: [A, B], 2: [`sip:127.0.0.1:${P + 22};transport=tcp`] });
    expect(ds.result).toEqual(await rpcCall(DP_URL, "dispatcher.list"));

    const stats = await kamcli("rpc", "stats.get_statistics", "core:");
    expect(stats.result).toEqual(expect.arrayContaining([expect.stringMatching(/^core:rcv_requests = [1-9]\d*$/)]));

    // kamcli sends every parameter as a string ("1"); the change is visible to olectl over HTTP
    const set = await kamcli("rpc", "dispatcher.set_state", "ip", "1", B);
    expect(set.error).toBeUndefined();
    const after = await olectlFast(["dispatcher", "list"]);
    expect(after.out).toMatch(new RegExp(String.raw`\n1\s+sip:127\.0\.0\.1:${P + 21}\s+IP\s+5\s`));
    const bad = await kamcli("rpc", "dispatcher.set_state", "ip", "x", B);
    expect(bad.error).toMatchObject({ code: -32602, message: expect.stringContaining("'group'") });
    await kamcli("rpc", "dispatcher.set_state", "a", "1", B);
    expect((await olectlFast(["dispatcher", "list"])).out).toMatch(new RegExp(String.raw`\n1\s+sip:127\.0\.0\.1:${P + 21}\s+A\w*\s+5\s`));
  }, 60_000);
});
