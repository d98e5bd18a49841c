import { fork, type ChildProcess } from "node:child_process";
import { join } from "node:path";

/** A forked proxy-child.ts with a request/answer IPC helper. */
export interface ProxyProcess {
  readonly child: ChildProcess;
  ask<T>(cmd: string): Promise<T>;
  stop(): Promise<void>;
}

/** Starts the proxy under test in its own process (tsx, --expose-gc) and waits until it listens. */
export async function startProxyProcess(config: Record<string, unknown>): Promise<ProxyProcess> {
  const child = fork(join(import.meta.dirname, "proxy-child.ts"), [JSON.stringify(config)], {
    execArgv: ["--import", "tsx", "--expose-gc"],
    stdio: ["ignore", "inherit", "inherit", "ipc"],
  });
  await new Promise<void>((resolve, reject) => {
    child.once("message", () => resolve());
    child.once("exit", (c) => reject(new Error(`proxy exited with ${c}`)));
  });
  return {
    child,
    ask<T>(cmd: string) {
      return new Promise<T>((r) => {
        child.once("message", (m) => r(m as T));
        child.send({ cmd });
      });
    },
    async stop() {
      const done = new Promise((r) => child.once("exit", r));
      child.send({ cmd: "stop" });
      const t = setTimeout(() => child.kill("SIGKILL"), 5000);
      await done;
      clearTimeout(t);
    },
  };
}
