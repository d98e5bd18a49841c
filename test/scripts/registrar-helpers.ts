/**
 * Shared helpers of the registrar / NAT / fleet tests (not a routing script): module APIs of an
 * in-process data plane, event capture, raw REGISTER building, waiting, child data planes.
 */
import { connect } from "node:net";
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import type { DataPlane } from "../../data-plane/node.js";
import type { OleloEvent } from "../../data-plane/core/events/bus.js";
import type { UsrlocApi } from "../../data-plane/modules/usrloc/index.js";
import { sleep } from "../kit/wait.js";

export const ROOT = resolve(import.meta.dirname, "../..");

/** The API a loaded module returned from init. */
export function moduleApi<T>(dp: DataPlane, name: string): T {
  const m = dp.modules.find((x) => x.name === name);
  if (!m) throw new Error(`module ${name} not loaded`);
  return m.api as T;
}

export const usrlocOf = (dp: DataPlane) => moduleApi<UsrlocApi>(dp, "usrloc");

/** Collects events of the given kinds. */
export function captureEvents(dp: DataPlane, kinds: string[]): { events: OleloEvent[]; stop(): void } {
  const events: OleloEvent[] = [];
  const stop = dp.events.subscribe(kinds, (e) => events.push(e));
  return { events, stop };
}


/** Polls `fn` until it is truthy or `timeoutMs` passes; returns the last value. */
export async function waitFor<T>(fn: () => T | Promise<T>, timeoutMs = 5000, stepMs = 50): Promise<T> {
  const end = Date.now() + timeoutMs;
  let v = await fn();
  while (!v && Date.now() < end) {
    await sleep(stepMs);
    v = await fn();
  }
  return v;
}

let seq = 0;

/** A REGISTER as a UA would send it; `contacts` are full Contact values ("<sip:..>;q=0.5"). */
export function register(opts: {
  user: string;
  proxyPort: number;
  viaHost?: string;
  viaPort: number;
  callId: string;
  cseq: number;
  contacts: string[];
  expires?: number | null;
  extra?: string[];
}): string {
  const lines = [
    `REGISTER sip:127.0.0.1:${opts.proxyPort} SIP/2.0`,
    `Via: SIP/2.0/UDP ${opts.viaHost ?? "127.0.0.1"}:${opts.viaPort};branch=z9hG4bK-reg${++seq}-${Math.random().toString(36).slice(2)};rport`,
    `From: <sip:${opts.user}@127.0.0.1>;tag=ft${seq}`,
    `To: <sip:${opts.user}@127.0.0.1>`,
    `Call-ID: ${opts.callId}`,
    `CSeq: ${opts.cseq} REGISTER`,
    ...opts.contacts.map((c) => `Contact: ${c}`),
    ...(opts.expires === null || opts.expires === undefined ? [] : [`Expires: ${opts.expires}`]),
    `Max-Forwards: 70`,
    ...(opts.extra ?? []),
    `Content-Length: 0`,
    ``,
    ``,
  ];
  return lines.join("\r\n");
}

/** A running child data plane (`npx tsx data-plane/main.ts --config file`). */
export interface ChildDataPlane {
  readonly proc: ChildProcess;
  readonly output: () => string;
  stop(): Promise<number | null>;
}

/** Starts a data plane as a separate process and waits until its SIP socket answers OPTIONS. */
export async function startChild(config: Record<string, unknown>, sipPort: number): Promise<ChildDataPlane> {
  const dir = mkdtempSync(join(tmpdir(), "olelo-reg-child-"));
  const file = join(dir, "olelo.json");
  writeFileSync(file, JSON.stringify({ dataDir: join(dir, "data"), log: { level: "warn" }, ...config }, null, 2));
  const proc = spawn(process.execPath, ["--import", "tsx", join(ROOT, "data-plane/main.ts"), "--config", file], {
    cwd: ROOT,
    stdio: ["ignore", "pipe", "pipe"],
  });
  let out = "";
  proc.stdout!.on("data", (d) => (out += d));
  proc.stderr!.on("data", (d) => (out += d));
  const exited = new Promise<number | null>((r) => proc.on("exit", (c) => r(c)));
  // SIP answers before the control API listens (the control server starts last): wait for both
  const control = (config.control as { listen?: string } | null | undefined)?.listen;
  const controlPort = control ? Number(control.slice(control.lastIndexOf(":") + 1)) : null;
  const ok = await waitFor(async () => {
    if (proc.exitCode !== null) return true;
    return (await optionsPing(sipPort)) && (controlPort === null || (await tcpOpen(controlPort)));
  }, 30_000, 200);
  if (!ok || proc.exitCode !== null) {
    proc.kill("SIGKILL");
    throw new Error(`child data plane did not start: ${out}`);
  }
  return {
    proc,
    output: () => out,
    async stop() {
      if (proc.exitCode === null) proc.kill("SIGTERM");
      const t = setTimeout(() => proc.kill("SIGKILL"), 5000);
      const c = await exited;
      clearTimeout(t);
      return c;
    },
  };
}

/** Whether something answers an OPTIONS (keepalive) on 127.0.0.1:port over UDP. */
export async function optionsPing(port: number): Promise<boolean> {
  const dgram = await import("node:dgram");
  const s = dgram.createSocket("udp4");
  return new Promise((resolvePing) => {
    const t = setTimeout(() => {
      s.close();
      resolvePing(false);
    }, 300);
    s.on("message", () => {
      clearTimeout(t);
      s.close();
      resolvePing(true);
    });
    s.bind(0, "127.0.0.1", () => {
      const p = s.address().port;
      const msg =
        `OPTIONS sip:127.0.0.1:${port} SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:${p};branch=z9hG4bK-ping${Date.now()}\r\n` +
        `From: <sip:probe@127.0.0.1>;tag=1\r\nTo: <sip:127.0.0.1:${port}>\r\nCall-ID: ping-${Date.now()}-${p}\r\nCSeq: 1 OPTIONS\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n`;
      s.send(msg, port, "127.0.0.1");
    });
  });
}

/** Whether a TCP connection to 127.0.0.1:port is accepted. */
function tcpOpen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const c = connect({ host: "127.0.0.1", port });
    c.once("connect", () => {
      c.destroy();
      resolve(true);
    });
    c.once("error", () => resolve(false));
  });
}
