/**
 * Runs a TypeScript fixture in a child Node process (through tsx) that talks JSON lines: the test
 * writes commands to its stdin and waits for events on its stdout.
 *
 * @example
 *   const cp = spawnJsonChild("control-plane/push/fixtures/push-server-process.ts", ["21201"]);
 *   await cp.waitFor((e) => e.event === "listening");
 */
import { spawn, type ChildProcess } from "node:child_process";
import { createInterface } from "node:readline";
import { resolve } from "node:path";

/** One JSON line printed by a fixture; `event` names it. */
export type JsonEvent = Record<string, unknown> & { event: string };

/** A fixture child process and its events. */
export interface JsonChild {
  readonly proc: ChildProcess;
  readonly events: JsonEvent[];
  /** Resolves with the first event (seen so far or later) that matches. */
  waitFor(pred: (e: JsonEvent) => boolean, timeoutMs?: number): Promise<JsonEvent>;
  send(cmd: unknown): void;
  /** Resolves with the exit code (or the signal name). */
  readonly exited: Promise<number | string>;
  stderr(): string;
}

const ROOT = resolve(import.meta.dirname, "../..");

/** Spawns `node --expose-gc --import tsx <script> ...args` from the repository root. */
export function spawnJsonChild(script: string, args: string[]): JsonChild {
  const proc = spawn(process.execPath, ["--expose-gc", "--import", "tsx", resolve(ROOT, script), ...args], {
    cwd: ROOT,
    stdio: ["pipe", "pipe", "pipe"],
    env: { ...process.env, OLELO_LOG_LEVEL: "error" },
  });
  const events: JsonEvent[] = [];
  const waiters = new Set<() => void>();
  let err = "";
  proc.stderr!.on("data", (d: Buffer) => {
    err += d.toString();
  });
  createInterface({ input: proc.stdout! }).on("line", (line) => {
    try {
      events.push(JSON.parse(line) as JsonEvent);
    } catch {
      events.push({ event: "text", line });
    }
    for (const w of [...waiters]) w();
  });
  const exited = new Promise<number | string>((res) => proc.on("exit", (code, sig) => res(code ?? sig ?? -1)));
  void exited.then(() => {
    for (const w of [...waiters]) w();
  });
  let done = false;
  void exited.then(() => {
    done = true;
  });
  return {
    proc,
    events,
    exited,
    stderr: () => err,
    send: (cmd) => proc.stdin!.write((typeof cmd === "string" ? cmd : JSON.stringify(cmd)) + "\n"),
    waitFor(pred, timeoutMs = 15_000) {
      return new Promise((resolveP, reject) => {
        const check = () => {
          const hit = events.find(pred);
          if (hit) {
            cleanup();
            resolveP(hit);
          } else if (done) {
            cleanup();
            reject(new Error(`child ${script} exited before the awaited event; stderr: ${err.slice(-2000)}`));
          }
        };
        const timer = setTimeout(() => {
          cleanup();
          reject(new Error(`child ${script}: awaited event not seen within ${timeoutMs} ms; last events: ${JSON.stringify(events.slice(-3))}; stderr: ${err.slice(-2000)}`));
        }, timeoutMs);
        const cleanup = () => {
          clearTimeout(timer);
          waiters.delete(check);
        };
        waiters.add(check);
        check();
      });
    },
  };
}
