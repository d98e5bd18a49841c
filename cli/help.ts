import type { CommandSpec, GroupSpec, OptSpec } from "./command-spec.js";
import { usage } from "./parse-args.js";

/**
 * `--help` text, generated from the command table: the top-level list, a group's subcommands,
 * or one command's usage, arguments, options, RPC methods and examples.
 *
 * @example
 *   console.log(helpFor(["dispatcher"], COMMANDS, GROUPS, GLOBAL_OPTIONS));
 */
export function helpFor(path: readonly string[], commands: readonly CommandSpec[], groups: readonly GroupSpec[], globals: readonly OptSpec[]): string {
  const key = path.join(" ");
  const cmd = commands.find((c) => c.path.join(" ") === key);
  if (cmd) return commandHelp(cmd, globals);
  return listHelp(path, commands, groups, globals);
}

function listHelp(path: readonly string[], commands: readonly CommandSpec[], groups: readonly GroupSpec[], globals: readonly OptSpec[]): string {
  const depth = path.length;
  const under = (p: readonly string[]) => p.length > depth && path.every((w, i) => p[i] === w);
  const entries = new Map<string, string>();
  for (const g of groups) if (g.path.length === depth + 1 && under(g.path)) entries.set(g.path[depth]!, g.summary);
  for (const c of commands) {
    if (!under(c.path)) continue;
    const word = c.path[depth]!;
    if (!entries.has(word)) entries.set(word, c.path.length === depth + 1 ? c.summary : "");
  }
  const group = groups.find((g) => g.path.join(" ") === path.join(" "));
  const head = path.length
    ? [`olectl ${path.join(" ")} — ${group?.summary ?? ""}`, "", `Usage: olectl ${path.join(" ")} COMMAND [ARGS] [OPTIONS]`]
    : ["olectl — command line for Olelo (data plane over JSON-RPC, control plane management API)", "", "Usage: olectl [GLOBAL OPTIONS] COMMAND [ARGS] [OPTIONS]"];
  const w = Math.max(...[...entries.keys()].map((k) => k.length));
  const lines = [...head, "", "Commands:", ...[...entries].map(([k, s]) => `  ${k.padEnd(w)}  ${s}`)];
  lines.push("", "Global options:", ...optionLines(globals));
  lines.push("", `Run 'olectl ${path.length ? path.join(" ") + " " : ""}COMMAND --help' for details.`);
  return lines.join("\n");
}

function commandHelp(c: CommandSpec, globals: readonly OptSpec[]): string {
  const lines = [`Usage: ${usage(c)}`, "", c.summary + "."];
  if (c.description) lines.push("", c.description);
  if (c.args?.length) {
    const w = Math.max(...c.args.map((a) => a.name.length));
    lines.push("", "Arguments:");
    for (const a of c.args) {
      const ch = a.choices ? ` (one of: ${a.choices.join(", ")})` : "";
      lines.push(`  ${a.name.toUpperCase().padEnd(w)}  ${a.doc}${a.optional ? " [optional]" : ""}${ch}`);
    }
  }
  if (c.options?.length) lines.push("", "Options:", ...optionLines(c.options));
  const api =
    c.target === "data"
      ? `data plane (--url)${c.alsoControl ? "; control plane (--cp-url) with --cp" : ""}`
      : c.target === "control"
        ? "control plane (--cp-url)"
        : "none (local)";
  lines.push("", `Talks to: ${api}${c.rpc?.length ? `; RPC: ${c.rpc.join(", ")}` : ""}`);
  if (c.examples?.length) lines.push("", "Examples:", ...c.examples.map((e) => `  ${e}`));
  lines.push("", "Global options:", ...optionLines(globals));
  return lines.join("\n");
}

function optionLines(opts: readonly OptSpec[]): string[] {
  const label = (o: OptSpec) => `--${o.name}${o.type === "flag" ? "" : " " + (o.value ?? "V")}`;
  const w = Math.max(...opts.map((o) => label(o).length));
  return opts.map((o) => {
    const extra = [o.env ? `env ${o.env}` : "", o.default !== undefined ? `default ${o.default}` : "", o.repeat ? "repeatable" : ""].filter(Boolean).join("; ");
    return `  ${label(o).padEnd(w)}  ${o.doc}${extra ? ` (${extra})` : ""}`;
  });
}
