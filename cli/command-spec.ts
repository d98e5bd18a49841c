import type { RpcClient } from "./rpc-client.js";

/**
 * The shape of olectl's single command-definition table (commands.ts). One table drives argument
 * parsing (parse-args.ts), `--help` (help.ts), the bash completion script (completion.ts) and the
 * command list in cli/README.md — so they cannot disagree.
 *
 * @example
 *   { path: ["dispatcher", "list"], summary: "Show destination sets", target: "data",
 *     rpc: ["dispatcher.list"], run: async (ctx) => ({ data: await ctx.dp.call("dispatcher.list") }) }
 */
export interface ArgSpec {
  readonly name: string;
  readonly doc: string;
  readonly optional?: boolean;
  /** Takes every remaining positional value (must be last). */
  readonly variadic?: boolean;
  /** Allowed values (also offered by completion). */
  readonly choices?: readonly string[];
  /** Dynamic completion source. */
  readonly complete?: "methods";
}

export interface OptSpec {
  readonly name: string;
  readonly doc: string;
  readonly type: "flag" | "string" | "int";
  /** May be given several times (values collected in an array). */
  readonly repeat?: boolean;
  /** Placeholder shown in help, e.g. "N" or "K=V". */
  readonly value?: string;
  /** Environment variable supplying the default (global options). */
  readonly env?: string;
  readonly default?: string;
}

export interface GroupSpec {
  readonly path: readonly string[];
  readonly summary: string;
}

export type ArgValues = Record<string, string | string[] | undefined>;
export type OptValues = Record<string, string | number | boolean | string[] | undefined>;

export interface Invocation {
  readonly args: ArgValues;
  readonly opts: OptValues;
}

/**
 * What a command produced: `data` is printed as JSON with --json, else `human` (or a generic
 * rendering). `warning` is printed to stderr after the output (exit 0); `failure` too, but the
 * exit code becomes 1 (a push whose kinds did not all compile still shows what it did).
 */
export interface Output {
  readonly data: unknown;
  readonly human?: string;
  readonly warning?: string;
  readonly failure?: string;
}

export interface Globals {
  readonly url: string;
  readonly cpUrl: string;
  readonly token?: string;
  readonly cpToken?: string;
  /** --ca FILE, read. */
  readonly ca?: Buffer;
  readonly json: boolean;
  readonly timeoutMs: number;
}

export interface RunContext {
  readonly dp: RpcClient;
  readonly cp: RpcClient;
  readonly globals: Globals;
  readonly stdout: (line: string) => void;
  readonly stderr: (line: string) => void;
  /** Registers a handler for Ctrl-C (streaming commands). */
  readonly onInterrupt: (fn: () => void) => void;
}

export interface CommandSpec {
  readonly path: readonly string[];
  readonly summary: string;
  readonly description?: string;
  readonly args?: readonly ArgSpec[];
  readonly options?: readonly OptSpec[];
  readonly examples?: readonly string[];
  /** Which API the command talks to. */
  readonly target: "data" | "control" | "local";
  /** Set when an option switches the command to the other plane (`rpc --cp`). */
  readonly alsoControl?: boolean;
  /** RPC methods it calls (documentation). */
  readonly rpc?: readonly string[];
  /** Returns the output, or nothing when the command printed by itself (streams). */
  run(ctx: RunContext, inv: Invocation): Promise<Output | void>;
}
