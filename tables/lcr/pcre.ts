/**
 * Translating the PCRE patterns of lcr_rule.from_uri / request_uri (Kamailio compiles them with
 * pcre2, no options) into JavaScript RegExps. Most PCRE syntax means the same in JS; the
 * translator rewrites what has a JS equivalent and rejects, with a reason, what has none, so a
 * rule never silently matches differently than it did under Kamailio.
 *
 * Rewritten: a leading `(?i)`/`(?s)`/`(?m)` (→ RegExp flags), `(?P<n>…)`/`(?P=n)` (named
 * groups), `\Q…\E` (quoted literal), `(?#…)` (comments), `\A` `\z` `\Z`, `\h`, POSIX classes
 * such as `[[:digit:]]`.
 * Rejected: possessive quantifiers (`a*+`), atomic groups `(?>…)`, recursion and subroutine
 * calls (`(?R)`, `(?1)`, `(?&n)`), conditionals `(?(…)…)`, inline flags anywhere but the start,
 * `(?x)`, `\K`, `\G`, `\R`, `\X`, `\p{…}`/`\P{…}`, `\C`, backtracking verbs `(*…)`.
 *
 * @example
 *   pcreToRegExp("(?i)^sip:\\+?49").test("SIP:+4930@x"); // true
 */
export class PcreError extends Error {
  override readonly name = "PcreError";
  constructor(
    readonly pattern: string,
    readonly offset: number,
    reason: string,
  ) {
    super(`${reason} at offset ${offset}`);
  }
}

const POSIX: Record<string, string> = {
  alpha: "a-zA-Z",
  digit: "0-9",
  alnum: "a-zA-Z0-9",
  upper: "A-Z",
  lower: "a-z",
  space: "\\s",
  blank: " \\t",
  punct: "!-\\/:-@\\[-`{-~",
  xdigit: "0-9A-Fa-f",
  word: "\\w",
  cntrl: "\\x00-\\x1f\\x7f",
  print: "\\x20-\\x7e",
  graph: "\\x21-\\x7e",
  ascii: "\\x00-\\x7f",
};

/** Translates a PCRE pattern; throws PcreError for constructs JS cannot express or bad syntax. */
export function pcreToRegExp(pattern: string): RegExp {
  let flags = "";
  let i = 0;
  const lead = /^\(\?([a-zA-Z]+)\)/.exec(pattern);
  if (lead) {
    for (const f of lead[1]!) {
      if (f === "i" || f === "s" || f === "m") {
        if (!flags.includes(f)) flags += f;
      } else {
        throw new PcreError(pattern, 2, `inline option '${f}' has no JavaScript equivalent`);
      }
    }
    i = lead[0].length;
  }
  let out = "";
  let inClass = false;
  let classStart = -1;
  while (i < pattern.length) {
    const c = pattern[i]!;
    if (c === "\\") {
      const n = pattern[i + 1];
      if (n === undefined) throw new PcreError(pattern, i, "pattern ends with a backslash");
      if (n === "Q") {
        const end = pattern.indexOf("\\E", i + 2);
        const lit = pattern.slice(i + 2, end < 0 ? undefined : end);
        out += lit.replace(/[\\^$.*+?()[\]{}|/-]/g, "\\$&");
        i = end < 0 ? pattern.length : end + 2;
        continue;
      }
      if (n === "E") {
        i += 2;
        continue;
      }
      if (!inClass) {
        if (n === "A") {
          out += "^";
          i += 2;
          continue;
        }
        if (n === "z") {
          out += "$";
          i += 2;
          continue;
        }
        if (n === "Z") {
          out += "(?=\\n?$)";
          i += 2;
          continue;
        }
      }
      if (n === "h") {
        out += inClass ? " \\t" : "[ \\t]";
        i += 2;
        continue;
      }
      if ("KGRXCpP".includes(n)) throw new PcreError(pattern, i, `'\\${n}' has no JavaScript equivalent`);
      out += c + n;
      i += 2;
      continue;
    }
    if (inClass) {
      if (c === "[" && pattern[i + 1] === ":") {
        const end = pattern.indexOf(":]", i + 2);
        if (end > 0) {
          let name = pattern.slice(i + 2, end);
          const negated = name.startsWith("^");
          if (negated) name = name.slice(1);
          const js = POSIX[name];
          if (js === undefined) throw new PcreError(pattern, i, `unknown POSIX class '[:${name}:]'`);
          if (negated) throw new PcreError(pattern, i, `negated POSIX class '[:^${name}:]' has no JavaScript equivalent`);
          out += js;
          i = end + 2;
          continue;
        }
      }
      if (c === "]") inClass = false;
      out += c;
      i++;
      continue;
    }
    if (c === "[") {
      inClass = true;
      classStart = i;
      out += c;
      i++;
      // a ']' right after '[' or '[^' is a literal in PCRE
      if (pattern[i] === "^") {
        out += "^";
        i++;
      }
      if (pattern[i] === "]") {
        out += "\\]";
        i++;
      }
      continue;
    }
    if (c === "(") {
      if (pattern[i + 1] === "*") throw new PcreError(pattern, i, "backtracking control verbs have no JavaScript equivalent");
      if (pattern[i + 1] === "?") {
        const rest = pattern.slice(i + 2);
        if (rest.startsWith("#")) {
          const end = pattern.indexOf(")", i);
          if (end < 0) throw new PcreError(pattern, i, "unterminated comment");
          i = end + 1;
          continue;
        }
        if (rest.startsWith("P<")) {
          out += "(?<";
          i += 4;
          continue;
        }
        if (rest.startsWith("P=")) {
          const end = pattern.indexOf(")", i);
          if (end < 0) throw new PcreError(pattern, i, "unterminated back reference");
          out += `\\k<${pattern.slice(i + 4, end)}>`;
          i = end + 1;
          continue;
        }
        if (/^(:|=|!|<=|<!|<[A-Za-z_])/.test(rest)) {
          out += c;
          i++;
          continue;
        }
        if (rest.startsWith(">")) throw new PcreError(pattern, i, "atomic groups have no JavaScript equivalent");
        if (rest.startsWith("(")) throw new PcreError(pattern, i, "conditional groups have no JavaScript equivalent");
        if (/^(R|[+-]?\d|&|P>)/.test(rest)) throw new PcreError(pattern, i, "recursion and subroutine calls have no JavaScript equivalent");
        if (rest.startsWith("|")) throw new PcreError(pattern, i, "branch-reset groups have no JavaScript equivalent");
        throw new PcreError(pattern, i, "inline options are only supported at the start of the pattern");
      }
      out += c;
      i++;
      continue;
    }
    if ((c === "*" || c === "+" || c === "?" || c === "}") && pattern[i + 1] === "+") {
      throw new PcreError(pattern, i + 1, "possessive quantifiers have no JavaScript equivalent");
    }
    out += c;
    i++;
  }
  if (inClass) throw new PcreError(pattern, classStart, "missing terminating ] for character class");
  try {
    return new RegExp(out, flags);
  } catch (e) {
    throw new PcreError(pattern, 0, e instanceof Error ? e.message.replace(/^Invalid regular expression: /, "") : String(e));
  }
}
