import { execFile, execFileSync } from "node:child_process";
import { createSocket } from "node:dgram";
import { createReadStream, existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestNode, FAKE_DISPATCHER_LIST, type TestNode } from "./test-support.js";
import { createUnixDgramSocket } from "./unix-dgram.js";

const run = promisify(execFile);
const hasKamcli = existsSync("/usr/bin/kamcli");
const hasKamctl = existsSync("/usr/sbin/kamctl");

function readAll(path: string): Promise<string> {
  return new Promise((resolve, reject) => {
    let s = "";
    createReadStream(path, "utf8")
      .on("data", (d) => (s += d))
      .on("end", () => resolve(s))
      .on("error", reject);
  });
}

describe("jsonrpcs FIFO and datagram transports", () => {
  let node: TestNode;
  let dir: string;
  let fifo: string;
  let sock: string;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "olelo-rpc-"));
    fifo = join(dir, "olelo_rpc.fifo");
    sock = join(dir, "olelo_rpc.sock");
    node = await startTestNode({ fifo: { path: fifo, replyDir: dir }, dgram: sock });
  });
  afterAll(async () => {
    await node.srv.close();
    rmSync(dir, { recursive: true, force: true });
  });

  /** Sends one request over the FIFO and reads the reply FIFO, like kamctl. */
  async function fifoCall(request: string, replyName: string): Promise<any> {
    const reply = join(dir, replyName);
    execFileSync("mkfifo", [reply]);
    try {
      const reading = readAll(reply);
      writeFileSync(fifo, request);
      return JSON.parse(await reading);
    } finally {
      rmSync(reply, { force: true });
    }
  }

  it("creates the FIFO and the socket with mode 0660 and removes them on close", async () => {
    expect(statSync(fifo).isFIFO()).toBe(true);
    expect(statSync(fifo).mode & 0o777).toBe(0o660);
    expect(statSync(sock).isSocket()).toBe(true);
    expect(statSync(sock).mode & 0o777).toBe(0o660);
    const other = await startTestNode({ fifo: join(dir, "x.fifo"), dgram: join(dir, "x.sock") });
    await other.srv.close();
    expect(existsSync(join(dir, "x.fifo"))).toBe(false);
    expect(existsSync(join(dir, "x.sock"))).toBe(false);
  });

  it("FIFO: one-line and pretty-printed multi-line requests get replies in the reply FIFO", async () => {
    const r1 = await fifoCall('{"jsonrpc":"2.0","method":"core.uptime","reply_name":"r1","id":11}\n', "r1");
    expect(r1).toMatchObject({ jsonrpc: "2.0", id: 11, result: { uptime: expect.any(Number) } });
    const r2 = await fifoCall(
      '{\n  "jsonrpc": "2.0",\n  "method": "stats.get_statistics",\n  "params": [ "core:", "UAS_transactions"],\n  "reply_name": "r2",\n  "id": 12\n}\n',
      "r2",
    );
    expect(r2.result).toEqual(["core:rcv_requests = 5", "core:fwd_requests = 3", "tmx:UAS_transactions = 7"]);
    const r3 = await fifoCall('{"jsonrpc":"2.0","method":"test.args","params":["x","y"],"reply_name":"r3","id":13}', "r3");
    expect(r3.error).toMatchObject({ code: -32602, data: { param: "group" } });
  });

  it("FIFO: unsafe reply names and non-FIFO reply paths are refused; garbage does not stop the reader", async () => {
    const victim = join(dir, "victim.txt");
    writeFileSync(victim, "keep");
    writeFileSync(fifo, '{"jsonrpc":"2.0","method":"core.uptime","reply_name":"victim.txt","id":1}\n');
    writeFileSync(fifo, '{"jsonrpc":"2.0","method":"core.uptime","reply_name":"../victim.txt","id":1}\n');
    writeFileSync(fifo, "this is not json\n{\"broken\": \n}\n");
    const r = await fifoCall('{"jsonrpc":"2.0","method":"core.printi","params":[7],"reply_name":"after","id":2}\n', "after");
    expect(r.result).toEqual([7]);
    expect(readFileSync(victim, "utf8")).toBe("keep");
  });

  it("datagram: a bound client gets the reply at its own path", async () => {
    const me = join(dir, "client.sock");
    const reply = new Promise<any>((resolve, reject) => {
      const c = createUnixDgramSocket(
        (msg) => {
          c.close();
          resolve(JSON.parse(msg.toString()));
        },
        reject,
      );
      c.bind(me);
      expect(c.sendTo(Buffer.from('{"jsonrpc":"2.0","method":"core.echo","params":["x",1],"id":5}'), sock)).toBe(true);
    });
    expect(await reply).toEqual({ jsonrpc: "2.0", id: 5, result: ["x", 1] });
    const bad = new Promise<any>((resolve, reject) => {
      const c = createUnixDgramSocket(
        (msg) => {
          c.close();
          resolve(JSON.parse(msg.toString()));
        },
        reject,
      );
      c.bind(me + "2");
      c.sendTo(Buffer.from("{not json"), sock);
    });
    expect(await bad).toMatchObject({ error: { code: -32700 } });
  });

  it("datagram: replies too large for a datagram become an error, not a truncation", async () => {
    node.registry.register({ name: "test.big", doc: "big reply", params: [], handler: () => "z".repeat(100_000) });
    try {
      const me = join(dir, "big.sock");
      const reply = await new Promise<any>((resolve, reject) => {
        const c = createUnixDgramSocket(
          (msg) => {
            c.close();
            resolve(JSON.parse(msg.toString()));
          },
          reject,
        );
        c.bind(me);
        c.sendTo(Buffer.from('{"jsonrpc":"2.0","method":"test.big","id":9}'), sock);
      });
      expect(reply).toMatchObject({ id: 9, error: { code: 500, message: expect.stringMatching(/exceeds the datagram limit/) } });
    } finally {
      node.registry.unregister("test.big");
    }
  });

  it("udp:IP:PORT datagram transport on loopback; refused elsewhere", async () => {
    const u = await startTestNode({ dgram: "udp:127.0.0.1:0" });
    try {
      const port = Number(u.srv.dgramPath!.split(":").pop());
      const c = createSocket("udp4");
      const reply = new Promise<any>((r) => c.once("message", (m) => r(JSON.parse(m.toString()))));
      c.send('{"jsonrpc":"2.0","method":"core.printi","params":[3],"id":1}', port, "127.0.0.1");
      expect(await reply).toEqual({ jsonrpc: "2.0", id: 1, result: [3] });
      c.close();
    } finally {
      await u.srv.close();
    }
    await expect(startTestNode({ dgram: "udp:0.0.0.0:0" })).rejects.toThrow(/loopback/);
    await expect(startTestNode({ dgram: join(dir, "x".repeat(120)) })).rejects.toThrow(/longer than 107 bytes/);
  });

  it.skipIf(!hasKamcli)("kamcli (transport=socket) runs rpc core.uptime and dispatcher list against Olelo", async () => {
    const cfg = join(dir, "kamcli.ini");
    writeFileSync(
      cfg,
      `[main]\ndomain=localhost\n[jsonrpc]\ntransport=socket\nsrvaddr=${sock}\nrcvaddr=${join(dir, "kamcli_rpc.sock")}\noutformat=json\n`,
    );
    const up = await run("kamcli", ["--no-default-configs", "-c", cfg, "rpc", "core.uptime"], { timeout: 20_000 });
    const upJson = JSON.parse(up.stdout);
    expect(upJson.result).toMatchObject({ now: expect.any(String), up_since: expect.any(String), uptime: expect.any(Number) });
    const ds = await run("kamcli", ["--no-default-configs", "-c", cfg, "dispatcher", "list"], { timeout: 20_000 });
    expect(JSON.parse(ds.stdout).result).toEqual(FAKE_DISPATCHER_LIST);
    const st = await run("kamcli", ["--no-default-configs", "-c", cfg, "rpc", "stats.get_statistics", "core:"], { timeout: 20_000 });
    expect(JSON.parse(st.stdout).result).toEqual(["core:rcv_requests = 5", "core:fwd_requests = 3"]);
  }, 60_000);

  it.skipIf(!hasKamctl)("kamctl uptime and kamctl rpc go through the FIFO (replies in /tmp/kamailio_receiver_<pid>)", async () => {
    // kamctl always uses /tmp for reply FIFOs (Kamailio's default fifo_reply_dir)
    const k = await startTestNode({ fifo: join(dir, "kamctl.fifo") });
    try {
      const env = { ...process.env, HOME: dir, RPCFIFOPATH: join(dir, "kamctl.fifo") };
      const up = await run("kamctl", ["uptime"], { env, timeout: 20_000 });
      expect(up.stdout).toMatch(/"up_since": "[A-Z][a-z]{2} /);
      expect(up.stdout).toMatch(/"uptime": \d+/);
      const echo = await run("kamctl", ["rpc", "core.echo", "hello", "12"], { env, timeout: 20_000 });
      expect(JSON.parse(echo.stdout).result).toEqual(["hello", 12]);
    } finally {
      await k.srv.close();
    }
  }, 60_000);
});
