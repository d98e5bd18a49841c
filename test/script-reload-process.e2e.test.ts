/**
 * Script reload on the path operators run: `npm start -- --script /some/dir/s.ts` with the script
 * kept outside the repository (issue 20 §1). An edit followed by `script.reload` or SIGHUP runs the
 * new code; an edited helper next to the script is picked up too; a file that does not compile is
 * refused with file:line:col and the old script keeps answering.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { spawnCommand, waitUntil, type TestProcess } from "./helpers/processes.js";
import { UdpPeer, request, statusOf } from "./helpers/udp-peer.js";
import { freePortBlock } from "./kit/ports.js";

const ROOT = resolve(import.meta.dirname, "..");
const API = join(ROOT, "data-plane/core/script/context.js");

function script(code: number): string {
  return `import { defineScript } from ${JSON.stringify(API)};
import { reason } from "./reason.js";
export default defineScript(() => ({ request(req) { req.reply(${code}, reason()); } }));
`;
}

describe("script reload through the started process (script outside the repository)", () => {
  const dir = mkdtempSync(join(tmpdir(), "olelo-ops-script-"));
  const file = join(dir, "s.ts");
  let sip = 0;
  let ctl = 0;
  let proc: TestProcess;
  let peer: UdpPeer;
  let n = 0;

  const ask = async (): Promise<string> => {
    const callId = `reload-${++n}-${process.pid}@test`;
    peer.send(request("OPTIONS", `sip:probe@127.0.0.1:${sip}`, { port: peer.port, callId }), sip);
    return peer.wait((t) => t.includes(callId), 3000);
  };
  const rpc = async (method: string): Promise<{ result?: unknown; error?: { code: number; message: string } }> => {
    const r = await fetch(`http://127.0.0.1:${ctl}/RPC`, { method: "POST", body: JSON.stringify({ jsonrpc: "2.0", id: 1, method }) });
    return (await r.json()) as { result?: unknown; error?: { code: number; message: string } };
  };

  beforeAll(async () => {
    writeFileSync(join(dir, "reason.ts"), `export const reason = (): string => "First";\n`);
    writeFileSync(file, script(491));
    sip = await freePortBlock(2); // below the ephemeral range: the child process binds them later
    ctl = sip + 1;
    proc = spawnCommand("npm start", "npm", ["start", "--", "--script", file, "--listen", `udp:127.0.0.1:${sip}`, "--control", `127.0.0.1:${ctl}`, "--log-level", "info"]);
    peer = await UdpPeer.open(0);
    await waitUntil("npm start", () => proc.log().includes("olelo data plane running"), 30_000, [proc]);
  }, 60_000);
  afterAll(async () => {
    peer?.close();
    await proc?.stop();
  });

  it("answers with the script as first loaded", async () => {
    const r = await ask();
    expect(statusOf(r)).toBe(491);
    expect(r).toMatch(/^SIP\/2\.0 491 First/);
  });

  it("script.reload runs the edited script, and an edited helper beside it", async () => {
    writeFileSync(file, script(492));
    writeFileSync(join(dir, "reason.ts"), `export const reason = (): string => "Second";\n`);
    const res = await rpc("script.reload");
    expect(res.error).toBeUndefined();
    expect((res.result as { path: string }).path).toBe(file);
    const r = await ask();
    expect(r).toMatch(/^SIP\/2\.0 492 Second/);
  });

  it("refuses a file that does not compile with file:line:col, and the old script keeps answering", async () => {
    writeFileSync(file, script(493).replace("req.reply(493, reason())", "req.reply(493 reason())"));
    const res = await rpc("script.reload");
    expect(res.error?.message).toContain(`${file}:3:`);
    expect(statusOf(await ask())).toBe(492);
  });

  it("SIGHUP reloads the edited script in the running process", async () => {
    writeFileSync(file, script(494));
    const ps = await rpc("core.ps");
    const pid = (ps.result as Array<number | string>)[0] as number;
    expect(typeof pid).toBe("number");
    process.kill(pid, "SIGHUP");
    await waitUntil("the SIGHUP reload", async () => statusOf(await ask()) === 494, 10_000, [proc]);
    expect(proc.log()).toContain("routing script reloaded");
  });
});
