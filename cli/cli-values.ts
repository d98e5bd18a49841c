import { CliError } from "./rpc-client.js";

/**
 * Small converters from command-line words to RPC values, shared by the command table.
 *
 * @example
 *   cliValue("12");            // 12
 *   cliValue("sip:a");         // "sip:a"
 *   userDomain("alice@example.com", "user@domain"); // { username: "alice", domain: "example.com" }
 */
export function cliValue(s: string): unknown {
  try {
    return JSON.parse(s);
  } catch {
    return s;
  }
}

/** Splits USER@DOMAIN; a usage error (exit 2) names the argument otherwise. */
export function userDomain(s: string, arg: string): { username: string; domain: string } {
  const m = /^([^@\s]+)@([^@\s]+)$/.exec(s);
  if (!m) throw new CliError(`${arg} must look like USER@DOMAIN, got '${s}'`, 2);
  return { username: m[1]!, domain: m[2]! };
}

/** A parsed positional, typed as the string it is. */
export function str(v: unknown): string {
  return v as string;
}
