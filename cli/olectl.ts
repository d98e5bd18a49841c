#!/usr/bin/env -S npx tsx
import { realpathSync } from "node:fs";
import { fileURLToPath } from "node:url";
import type { RunContext } from "./command-spec.js";
import { COMMANDS, GLOBAL_OPTIONS, GROUPS } from "./commands.js";
import { renderHuman } from "./format.js";
import { helpFor } from "./help.js";
import { parseCommandLine, parseInvocation } from "./parse-args.js";
import { CliError, RpcClient } from "./rpc-client.js";
import { packageVersion } from "../lib/pkg/package-info.js";

/**
 * olectl: Olelo's command line, in the spirit of kamcli/kamctl. Data-plane commands speak
 * JSON-RPC over HTTP to a node's /RPC (Kamailio method names), control-plane commands to the
 * management API; `events` follows a node's /ws stream. Exit codes: 0 ok, 1 runtime error
 * (RPC error, connection refused), 2 usage error; errors are one line on stderr.
 *
 * @example
 *   npx tsx cli/olectl.ts --url http://10.0.0.5:8060/RPC --token $T dispatcher list
 */
export interface CliIo {
  stdout(s: string): void;
  stderr(s: string): void;
  env: Readonly<Record<string, string | undefined>>;
  onInterrupt(fn: () => void): void;
}

export async function main(argv: readonly string[], io: CliIo): Promise<number> {
  try {
    const p = parseCommandLine(argv, COMMANDS, GROUPS, GLOBAL_OPTIONS, io.env);
    if (p.version) {
      io.stdout(`olectl ${packageVersion()} (Node.js ${process.versions.node})`);
      return 0;
    }
    if (p.help || (p.path.length === 0 && p.rest[0] === "help")) {
      const path = p.path.length || p.rest[0] !== "help" ? p.path : p.rest.slice(1);
      io.stdout(helpFor(path, COMMANDS, GROUPS, GLOBAL_OPTIONS));
      return 0;
    }
    if (!p.command) {
      if (p.rest.length && !p.rest[0]!.startsWith("-")) {
        const where = p.path.length ? `'${p.path.join(" ")}' has no command` : "unknown command";
        throw new CliError(`${where} '${p.rest[0]}' (see olectl ${p.path.join(" ")}${p.path.length ? " " : ""}--help)`, 2);
      }
      if (p.path.length === 0) throw new CliError("no command given (see olectl --help)", 2);
      throw new CliError(`'${p.path.join(" ")}' needs a subcommand (see olectl ${p.path.join(" ")} --help)`, 2);
    }
    const inv = parseInvocation(p.command, p.rest);
    const g = p.globals;
    const ctx: RunContext = {
      dp: new RpcClient(g.url, { token: g.token, timeoutMs: g.timeoutMs, label: "data plane", ca: g.ca }),
      cp: new RpcClient(g.cpUrl, { token: g.cpToken, timeoutMs: g.timeoutMs, label: "control plane", tokenHint: "--cp-token or OLELO_CP_TOKEN", ca: g.ca }),
      globals: g,
      stdout: io.stdout,
      stderr: io.stderr,
      onInterrupt: io.onInterrupt,
    };
    const result = await p.command.run(ctx, inv);
    if (!result) return 0;
    io.stdout(g.json ? JSON.stringify(result.data ?? null, null, 2) : (result.human ?? renderHuman(result.data)));
    if (result.warning) io.stderr(`olectl: warning: ${oneLine(result.warning)}`);
    if (result.failure) {
      io.stderr(`olectl: ${oneLine(result.failure)}`);
      return 1;
    }
    return 0;
  } catch (e) {
    const err = e instanceof CliError ? e : new CliError(e instanceof Error ? e.message : String(e));
    io.stderr(`olectl: ${oneLine(err.message)}`);
    return err.exitCode;
  }
}

const oneLine = (s: string): string => s.replace(/\s*\n\s*/g, " ");

function isEntryPoint(): boolean {
  try {
    return !!process.argv[1] && realpathSync(process.argv[1]) === realpathSync(fileURLToPath(import.meta.url));
  } catch {
    return false;
  }
}

if (isEntryPoint()) {
  const interrupts: Array<() => void> = [];
  process.on("SIGINT", () => {
    if (interrupts.length === 0) process.exit(130);
    for (const fn of interrupts.splice(0)) fn();
  });
  process.stdout.on("error", (e: NodeJS.ErrnoException) => {
    if (e.code === "EPIPE") process.exit(0);
  });
  void main(process.argv.slice(2), {
    stdout: (s) => process.stdout.write(s + "\n"),
    stderr: (s) => process.stderr.write(s + "\n"),
    env: process.env,
    onInterrupt: (fn) => interrupts.push(fn),
  }).then((code) => {
    process.exitCode = code;
  });
}
