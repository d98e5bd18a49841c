import { RE2JS } from "re2js";
import { TableError, type TableSet } from "../rows.js";
import { readInt, readStr, rowIdOf, tableRows } from "../kit/row-values.js";

/**
 * Kamailio's `dialplan` table compiled for translation:
 *
 *   dialplan(id, dpid, pr, match_op, match_exp, match_len, subst_exp, repl_exp, attrs)
 *
 * `match_op` 0 equal (the whole input, case-sensitive), 1 regex (PCRE syntax that RE2 accepts,
 * searched anywhere in the input unless anchored), 2 fnmatch (shell glob, flags 0). Rules of one
 * dpid are tried by `pr` ascending (then by row order); the rules whose `match_len` equals the
 * input's length come first, then the rules with `match_len` 0 (any length), as Kamailio's index.
 * The output is `repl_exp` with `\1`..`\9` (`\0` the whole match) taken from `subst_exp`'s match;
 * with no `subst_exp` it is `repl_exp` as it is; with an empty `repl_exp` the input is kept.
 *
 * Every regex (match_exp with match_op 1, subst_exp always) and every glob is compiled with
 * RE2JS (linear-time RE2 port): no backtracking, so no input makes matching run away. A pattern
 * RE2 does not accept (syntax error, back-references, look-around) refuses its row.
 *
 * @example
 *   const t = compileDialplan({ dialplan: [{ id: 1, dpid: 1, pr: 1, match_op: 1, match_exp: "^0[1-9]", match_len: 0, subst_exp: "^0(.*)$", repl_exp: "+49\\1", attrs: "de" }] });
 *   t.translate(1, "03012345"); // { output: "+493012345", attrs: "de", id: 1 }
 */

/** The longest input matched (longer inputs are not translated: -1). */
export const DP_MAX_INPUT = 256;
/** Kamailio's output buffer (MAX_PHONE_NB_DIGITS): a longer output fails the translation. */
export const DP_MAX_OUTPUT = 127;

export const DP_EQUAL = 0;
export const DP_REGEX = 1;
export const DP_FNMATCH = 2;

/** One piece of a compiled replacement: literal text or a capture group number. */
type ReplPart = string | number;

/** One compiled rule. */
export interface DialplanRule {
  readonly id: string | number;
  readonly dpid: number;
  readonly pr: number;
  readonly matchOp: number;
  readonly matchExp: string;
  readonly matchLen: number;
  readonly substExp: string;
  readonly replExp: string;
  readonly attrs: string;
  /** Row order (ties of pr). */
  readonly seq: number;
  readonly match: (input: string) => boolean;
  readonly subst: RE2JS | null;
  readonly repl: readonly ReplPart[];
}

/** A translation: the output, the rule's attrs and the rule's id. */
export interface DialplanResult {
  readonly output: string;
  readonly attrs: string;
  readonly id: string | number;
}

interface DpidRules {
  /** match_len → rules (pr order); 0 = any length. */
  readonly byLen: Map<number, DialplanRule[]>;
  readonly all: DialplanRule[];
}

export class DialplanTable {
  constructor(
    readonly rows: number,
    private readonly byDpid: ReadonlyMap<number, DpidRules>,
  ) {}

  static empty(): DialplanTable {
    return new DialplanTable(0, new Map());
  }

  /** The dpids with rules, ascending. */
  dpids(): number[] {
    return [...this.byDpid.keys()].sort((a, b) => a - b);
  }

  /** The rules of a dpid in match order (pr, then row order). */
  rules(dpid: number): readonly DialplanRule[] {
    return this.byDpid.get(dpid)?.all ?? [];
  }

  /** The rule that matches `input` in `dpid`, or null. */
  match(dpid: number, input: string): DialplanRule | null {
    const d = this.byDpid.get(dpid);
    if (!d || input.length === 0 || input.length > DP_MAX_INPUT) return null;
    const lists = [d.byLen.get(input.length), d.byLen.get(0)];
    for (const list of lists) {
      if (!list) continue;
      for (const r of list) if (r.match(input)) return r;
    }
    return null;
  }

  /** Translates `input` with dpid's rules; null when no rule matches or the substitution fails. */
  translate(dpid: number, input: string): DialplanResult | null {
    const r = this.match(dpid, input);
    if (!r) return null;
    const output = applyRule(r, input);
    return output === null ? null : { output, attrs: r.attrs, id: r.id };
  }
}

/** The output of a matched rule, or null when subst_exp does not match (Kamailio logs it and fails). */
export function applyRule(r: DialplanRule, input: string): string | null {
  if (r.replExp === "") return input;
  if (!r.subst) return r.replExp;
  const m = r.subst.matcher(input);
  if (!m.find()) return null;
  let out = "";
  for (const p of r.repl) out += typeof p === "number" ? (m.group(p) ?? "") : p;
  return out.length > DP_MAX_OUTPUT ? null : out;
}

/** Compiles a regex with RE2 or throws TableError naming the row and column. */
function re2(table: string, id: string | number, column: string, pattern: string): RE2JS {
  try {
    return RE2JS.compile(pattern);
  } catch (e) {
    const why = e instanceof Error ? e.message.replace(/^error parsing regexp: /, "") : String(e);
    throw new TableError(table, id, `${column} '${pattern}' is not a valid regular expression: ${why}`);
  }
}

/** A shell glob (fnmatch, flags 0) as an anchored RE2 pattern; null when the glob is malformed. */
export function globToRe2(glob: string): string | null {
  let out = "^";
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i]!;
    if (c === "*") out += "(?s:.*)";
    else if (c === "?") out += "(?s:.)";
    else if (c === "\\") {
      const n = glob[++i];
      if (n === undefined) return null;
      out += RE2JS.quote(n);
    } else if (c === "[") {
      const end = glob.indexOf("]", i + (glob[i + 1] === "!" || glob[i + 1] === "^" ? 3 : 2));
      if (end < 0) {
        out += "\\[";
        continue;
      }
      let body = glob.slice(i + 1, end);
      const neg = body.startsWith("!") || body.startsWith("^");
      if (neg) body = body.slice(1);
      out += `[${neg ? "^" : ""}${body.replace(/[\\\]^]/g, (x) => `\\${x}`)}]`;
      i = end;
    } else out += RE2JS.quote(c);
  }
  return `${out}$`;
}

/** Parses repl_exp: literal text and `\0`..`\9`; `\\` is a backslash. Returns the parts and the highest group used. */
function parseRepl(table: string, id: string | number, repl: string): { parts: ReplPart[]; maxGroup: number } {
  const parts: ReplPart[] = [];
  let lit = "";
  let maxGroup = -1;
  for (let i = 0; i < repl.length; i++) {
    const c = repl[i]!;
    if (c !== "\\") {
      lit += c;
      continue;
    }
    const n = repl[++i];
    if (n === undefined) throw new TableError(table, id, `repl_exp '${repl}' ends in a lone backslash`);
    if (n >= "0" && n <= "9") {
      if (lit) parts.push(lit);
      lit = "";
      parts.push(Number(n));
      maxGroup = Math.max(maxGroup, Number(n));
    } else if (n === "\\") lit += "\\";
    else throw new TableError(table, id, `repl_exp '${repl}' has an unsupported escape '\\${n}' (only \\0..\\9 and \\\\)`);
  }
  if (lit) parts.push(lit);
  return { parts, maxGroup };
}

/** Validates and compiles the dialplan table; throws TableError naming the table and row. */
export function compileDialplan(set: TableSet, table = "dialplan"): DialplanTable {
  const T = table;
  const rows = tableRows(set, T);
  const byDpid = new Map<number, DpidRules>();
  rows.forEach((row, i) => {
    const id = rowIdOf(row, "id", i);
    const dpid = readInt(row, T, id, "dpid", { min: -2147483648, max: 2147483647 });
    const pr = readInt(row, T, id, "pr", { min: -2147483648, max: 2147483647 });
    const matchOp = readInt(row, T, id, "match_op", { min: 0, max: 2 });
    const matchExp = readStr(row, T, id, "match_exp", { maxLength: 64 });
    const matchLen = readInt(row, T, id, "match_len", { min: 0, max: DP_MAX_INPUT, def: 0 });
    const substExp = readStr(row, T, id, "subst_exp", { maxLength: 64 });
    const replExp = readStr(row, T, id, "repl_exp", { maxLength: 256 });
    const attrs = readStr(row, T, id, "attrs", { maxLength: 64 });
    let match: (s: string) => boolean;
    if (matchOp === DP_EQUAL) {
      match = (s) => s === matchExp;
    } else if (matchOp === DP_REGEX) {
      if (matchExp === "") throw new TableError(T, id, "match_exp must not be empty for match_op 1 (regex)");
      const re = re2(T, id, "match_exp", matchExp);
      match = (s) => re.test(s);
    } else {
      const g = globToRe2(matchExp);
      if (g === null) throw new TableError(T, id, `match_exp '${matchExp}' is not a valid fnmatch pattern (trailing backslash)`);
      const re = re2(T, id, "match_exp", g);
      match = (s) => re.testExact(s);
    }
    const subst = substExp === "" ? null : re2(T, id, "subst_exp", substExp);
    const { parts, maxGroup } = parseRepl(T, id, replExp);
    if (maxGroup > 0 && !subst) throw new TableError(T, id, `repl_exp '${replExp}' uses \\${maxGroup} but subst_exp is empty`);
    if (subst && maxGroup > subst.groupCount()) {
      throw new TableError(T, id, `repl_exp '${replExp}' uses \\${maxGroup} but subst_exp '${substExp}' has ${subst.groupCount()} group(s)`);
    }
    const rule: DialplanRule = { id, dpid, pr, matchOp, matchExp, matchLen, substExp, replExp, attrs, seq: i, match, subst, repl: parts };
    let d = byDpid.get(dpid);
    if (!d) byDpid.set(dpid, (d = { byLen: new Map(), all: [] }));
    d.all.push(rule);
    let l = d.byLen.get(matchLen);
    if (!l) d.byLen.set(matchLen, (l = []));
    l.push(rule);
  });
  const order = (a: DialplanRule, b: DialplanRule) => a.pr - b.pr || a.seq - b.seq;
  for (const d of byDpid.values()) {
    d.all.sort(order);
    for (const l of d.byLen.values()) l.sort(order);
  }
  return new DialplanTable(rows.length, byDpid);
}
