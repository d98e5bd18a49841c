import { readFileSync } from "node:fs";
import type { ArgValues, CommandSpec, Globals, GroupSpec, Invocation, OptSpec, OptValues } from "./command-spec.js";
import { CliError } from "./rpc-client.js";

/**
 * olectl's argument parser, driven entirely by the command table: global options may appear
 * anywhere (before `--`), then the longest known command path is taken, then the command's own
 * options (`--name value`, `--name=value`, flags) and positionals are checked against its spec.
 * Every problem is a CliError with exit code 2 and a one-line message.
 *
 * @example
 *   const p = parseCommandLine(["--json", "dispatcher", "list"], COMMANDS, GROUPS, GLOBAL_OPTIONS, process.env);
 */
export interface ParsedCommandLine {
  readonly globals: Globals;
  readonly help: boolean;
  readonly version: boolean;
  /** The words that named a command or group (may be a group, or empty). */
  readonly path: readonly string[];
  /** Set when `path` is a complete command. */
  readonly command?: CommandSpec;
  /** Tokens after the command path. */
  readonly rest: readonly string[];
}

export function parseCommandLine(
  argv: readonly string[],
  commands: readonly CommandSpec[],
  groups: readonly GroupSpec[],
  globalOpts: readonly OptSpec[],
  env: Readonly<Record<string, string | undefined>>,
): ParsedCommandLine {
  const gvals: OptValues = {};
  const others: string[] = [];
  const byName = new Map(globalOpts.map((o) => [o.name, o]));
  for (let i = 0; i < argv.length; i++) {
    const t = argv[i]!;
    if (t === "--") {
      others.push(...argv.slice(i));
      break;
    }
    if (t === "-h") {
      gvals.help = true;
      continue;
    }
    if (!t.startsWith("--")) {
      others.push(t);
      continue;
    }
    const eq = t.indexOf("=");
    const name = t.slice(2, eq < 0 ? undefined : eq);
    const spec = byName.get(name);
    if (!spec) {
      others.push(t);
      continue;
    }
    if (spec.type === "flag") {
      if (eq >= 0) throw new CliError(`option --${name} takes no value`, 2);
      gvals[name] = true;
      continue;
    }
    let v: string;
    if (eq >= 0) v = t.slice(eq + 1);
    else {
      if (i + 1 >= argv.length) throw new CliError(`option --${name} needs a value`, 2);
      v = argv[++i]!;
    }
    gvals[name] = spec.type === "int" ? toInt(name, v) : v;
  }
  const opt = (name: string): string | undefined => {
    const spec = byName.get(name)!;
    const v = gvals[name];
    if (v !== undefined) return String(v);
    if (spec.env && env[spec.env]) return env[spec.env];
    return spec.default;
  };
  const timeout = toInt("timeout", opt("timeout") ?? "10000");
  if (timeout <= 0) throw new CliError("option --timeout must be positive", 2);
  const token = opt("token");
  const globals: Globals = {
    url: checkUrl("url", opt("url")!),
    cpUrl: checkUrl("cp-url", opt("cp-url")!),
    token,
    cpToken: opt("cp-token") ?? token,
    ca: readCa(opt("ca")),
    json: gvals.json === true,
    timeoutMs: timeout,
  };

  // longest command/group path made of the leading non-option words
  const known = new Set([...commands.map((c) => c.path.join(" ")), ...groups.map((g) => g.path.join(" "))]);
  const path: string[] = [];
  let i = 0;
  while (i < others.length && !others[i]!.startsWith("--") && known.has([...path, others[i]!].join(" "))) path.push(others[i++]!);
  const key = path.join(" ");
  return {
    globals,
    help: gvals.help === true,
    version: gvals.version === true,
    path,
    command: commands.find((c) => c.path.join(" ") === key),
    rest: others.slice(i),
  };
}

/** Binds the tokens after the command path to its positionals and options. */
export function parseInvocation(cmd: CommandSpec, tokens: readonly string[]): Invocation {
  const name = cmd.path.join(" ");
  const specs = new Map((cmd.options ?? []).map((o) => [o.name, o]));
  const opts: OptValues = {};
  const pos: string[] = [];
  for (let i = 0; i < tokens.length; i++) {
    const t = tokens[i]!;
    if (t === "--") {
      pos.push(...tokens.slice(i + 1));
      break;
    }
    if (!t.startsWith("--") || t === "--") {
      pos.push(t);
      continue;
    }
    const eq = t.indexOf("=");
    const on = t.slice(2, eq < 0 ? undefined : eq);
    const spec = specs.get(on);
    if (!spec) throw new CliError(`unknown option --${on} for '${name}' (see olectl ${name} --help)`, 2);
    let v: string | boolean;
    if (spec.type === "flag") {
      if (eq >= 0) throw new CliError(`option --${on} takes no value`, 2);
      v = true;
    } else if (eq >= 0) v = t.slice(eq + 1);
    else {
      if (i + 1 >= tokens.length) throw new CliError(`option --${on} needs a value`, 2);
      v = tokens[++i]!;
    }
    const val = spec.type === "int" ? toInt(on, v as string) : v;
    if (spec.repeat) opts[on] = [...((opts[on] as string[] | undefined) ?? []), String(val)];
    else if (opts[on] !== undefined) throw new CliError(`option --${on} given twice`, 2);
    else opts[on] = val;
  }
  for (const o of cmd.options ?? []) if (opts[o.name] === undefined && o.default !== undefined) opts[o.name] = o.type === "int" ? Number(o.default) : o.default;

  const args: ArgValues = {};
  const specsA = cmd.args ?? [];
  let k = 0;
  for (const a of specsA) {
    if (a.variadic) {
      args[a.name] = pos.slice(k);
      k = pos.length;
      if (!a.optional && (args[a.name] as string[]).length === 0) throw new CliError(`'${name}' needs ${a.name.toUpperCase()}`, 2);
      for (const v of args[a.name] as string[]) checkChoice(name, a.name, a.choices, v);
      continue;
    }
    if (k < pos.length) {
      checkChoice(name, a.name, a.choices, pos[k]!);
      args[a.name] = pos[k++];
    } else if (!a.optional) {
      throw new CliError(`'${name}' needs ${a.name.toUpperCase()} (usage: ${usage(cmd)})`, 2);
    }
  }
  if (k < pos.length) throw new CliError(`'${name}' takes no argument '${pos[k]}' (usage: ${usage(cmd)})`, 2);
  return { args, opts };
}

/** "olectl dispatcher set-state STATE GROUP ADDRESS" */
export function usage(cmd: CommandSpec): string {
  const a = (cmd.args ?? []).map((x) => {
    const n = x.name.toUpperCase() + (x.variadic ? "..." : "");
    return x.optional ? `[${n}]` : n;
  });
  const o = (cmd.options ?? []).map((x) => `[--${x.name}${x.type === "flag" ? "" : " " + (x.value ?? "V")}]${x.repeat ? "..." : ""}`);
  return ["olectl", ...cmd.path, ...a, ...o].join(" ");
}

function checkChoice(cmd: string, arg: string, choices: readonly string[] | undefined, v: string): void {
  if (choices && !choices.includes(v)) throw new CliError(`'${cmd}': ${arg.toUpperCase()} must be one of ${choices.join(", ")}, got '${v}'`, 2);
}

function toInt(name: string, v: string): number {
  if (!/^-?\d+$/.test(v)) throw new CliError(`option --${name} needs an integer, got '${v}'`, 2);
  return Number(v);
}

function checkUrl(name: string, v: string): string {
  try {
    const u = new URL(v);
    if (u.protocol !== "http:" && u.protocol !== "https:") throw new Error();
    return v;
  } catch {
    throw new CliError(`option --${name}: '${v}' is not an http(s) URL`, 2);
  }
}

function readCa(file: string | undefined): Buffer | undefined {
  if (!file) return undefined;
  try {
    return readFileSync(file);
  } catch (e) {
    throw new CliError(`option --ca: cannot read ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`, 2);
  }
}
