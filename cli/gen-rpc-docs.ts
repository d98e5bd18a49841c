#!/usr/bin/env -S npx tsx
import { readFileSync, realpathSync, writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { EventBus } from "../data-plane/core/events/bus.js";
import { registerCoreMethods } from "../data-plane/core/rpc/core-methods.js";
import { RpcRegistry, type RpcParam } from "../lib/rpc/registry.js";
import { StatsRegistry } from "../data-plane/core/stats/counters.js";
import { TableRegistry } from "../data-plane/core/tables/registry.js";
import { COMMANDS } from "./commands.js";
import { olectlControlPlaneMethods } from "./control-plane-api.js";
import { usage } from "./parse-args.js";
import { RpcClient } from "./rpc-client.js";

/**
 * Prints markdown reference tables generated from the descriptors, so the READMEs cannot drift:
 *   (default)        the data-plane core RPC methods (built locally from registerCoreMethods)
 *   --url URL        every method of a running node (system.describeMethods; includes modules)
 *   --cp-api         the control-plane management methods olectl calls, from control-plane/api itself
 *   --olectl         olectl's command reference
 *   --write FILE     replace the matching `<!-- BEGIN GENERATED: name -->` block in FILE instead
 *
 * @example
 *   npx tsx cli/gen-rpc-docs.ts --write data-plane/core/rpc/README.md
 */
export interface MethodDoc {
  readonly name: string;
  readonly doc: string;
  readonly params: ReadonlyArray<Pick<RpcParam, "name" | "type" | "optional" | "rest">>;
  readonly returns?: string | null;
}

const cell = (s: string) => s.replace(/\|/g, "\\|").replace(/\n/g, " ");

export function methodsMarkdown(methods: readonly MethodDoc[]): string {
  const rows = [...methods]
    .sort((a, b) => a.name.localeCompare(b.name))
    .map((m) => {
      const ps = m.params.map((p) => {
        const s = `${p.name}:${p.type}${p.rest ? "..." : ""}`;
        return p.optional || p.rest ? `[${s}]` : s;
      });
      return `| \`${m.name}\` | ${cell(ps.join(", ") || "–")} | ${cell(m.returns ?? "")} | ${cell(m.doc)} |`;
    });
  return ["| Method | Params | Returns | Description |", "|---|---|---|---|", ...rows].join("\n");
}

export function olectlMarkdown(): string {
  const rows = COMMANDS.map((c) => {
    const plane = c.target === "data" ? (c.alsoControl ? "data plane (--cp: control plane)" : "data plane") : c.target === "control" ? "control plane" : "local";
    return `| \`${cell(usage(c).replace(/^olectl /, ""))}\` | ${cell(c.summary)} | ${plane} | ${cell((c.rpc ?? []).join(", ") || "–")} |`;
  });
  return ["| Command | What it does | Talks to | RPC |", "|---|---|---|---|", ...rows].join("\n");
}

/** The core methods as registered on a node with no modules. */
export function localCoreMethods(): MethodDoc[] {
  const registry = new RpcRegistry();
  registerCoreMethods(registry, {
    startTime: new Date(),
    version: "0",
    node: "docs",
    stats: new StatsRegistry(),
    tables: new TableRegistry(),
    events: new EventBus("docs", 1),
    shmemStats: false,
  });
  return registry.list();
}

/** Replaces the block between the BEGIN/END markers named `name`. */
export function replaceGenerated(text: string, name: string, body: string): string {
  const begin = `<!-- BEGIN GENERATED: ${name} -->`;
  const end = `<!-- END GENERATED: ${name} -->`;
  const i = text.indexOf(begin);
  const j = text.indexOf(end);
  if (i < 0 || j < i) throw new Error(`markers for '${name}' not found`);
  return `${text.slice(0, i + begin.length)}\n${body}\n${text.slice(j)}`;
}

async function cli(argv: string[]): Promise<void> {
  const flag = (f: string) => argv.includes(f);
  const val = (f: string) => {
    const i = argv.indexOf(f);
    return i >= 0 ? argv[i + 1] : undefined;
  };
  let name = "rpc-methods";
  let body: string;
  const url = val("--url");
  if (url) {
    const client = new RpcClient(url, { token: val("--token") ?? process.env.OLELO_TOKEN, timeoutMs: 10_000, label: "data plane" });
    body = methodsMarkdown((await client.call("system.describeMethods")) as MethodDoc[]);
  } else if (flag("--cp-api")) {
    name = "control-plane-api";
    body = methodsMarkdown(olectlControlPlaneMethods());
  } else if (flag("--olectl")) {
    name = "olectl-commands";
    body = olectlMarkdown();
  } else {
    body = methodsMarkdown(localCoreMethods());
  }
  const file = val("--write");
  if (file) writeFileSync(file, replaceGenerated(readFileSync(file, "utf8"), name, body));
  else process.stdout.write(body + "\n");
}

const entry = process.argv[1] && realpathSync(process.argv[1]) === realpathSync(fileURLToPath(import.meta.url));
if (entry) {
  cli(process.argv.slice(2)).catch((e) => {
    process.stderr.write(`gen-rpc-docs: ${e instanceof Error ? e.message : String(e)}\n`);
    process.exitCode = 1;
  });
}
