/**
 * Character classes of the SIP grammar (RFC 3261 §25.1), as 128-entry lookup tables so the
 * parsers test a character with one array read.
 */
function table(chars: string, ranges: Array<[string, string]> = []): Uint8Array {
  const t = new Uint8Array(256);
  for (const c of chars) t[c.charCodeAt(0)] = 1;
  for (const [a, b] of ranges) for (let i = a.charCodeAt(0); i <= b.charCodeAt(0); i++) t[i] = 1;
  return t;
}
const ALNUM: Array<[string, string]> = [
  ["a", "z"],
  ["A", "Z"],
  ["0", "9"],
];

/** token = 1*(alphanum / "-" / "." / "!" / "%" / "*" / "_" / "+" / "`" / "'" / "~") */
export const TOKEN = table("-.!%*_+`'~", ALNUM);
/** unreserved / escaped "%" / user-unreserved, for the user part of a SIP URI */
export const USER = table("-_.!~*'()%&=+$,;?/", ALNUM);
/** password = *( unreserved / escaped / "&" / "=" / "+" / "$" / "," ) */
export const PASSWORD = table("-_.!~*'()%&=+$,", ALNUM);
/** hostname characters (alphanum, "-", "."), plus "_" seen in the wild */
export const HOST = table("-._", ALNUM);
/** paramchar = param-unreserved / unreserved / escaped */
export const PARAM = table("[]/:&+$-_.!~*'()%", ALNUM);
/** hnv-unreserved / unreserved / escaped (URI headers) */
export const HNV = table("[]/?:+$-_.!~*'()%=&", ALNUM);
/** word (Call-ID) = 1*(alphanum / "-" / "." / "!" / "%" / "*" / "_" / "+" / "`" / "'" / "~" / "(" / ")" / "<" / ">" / ":" / "\" / DQUOTE / "/" / "[" / "]" / "?" / "{" / "}" ) */
export const WORD = table("-.!%*_+`'~()<>:\\\"/[]?{}", ALNUM);
export const DIGIT = table("", [["0", "9"]]);
export const HEX = table("", [
  ["0", "9"],
  ["a", "f"],
  ["A", "F"],
]);

export function isToken(s: string): boolean {
  if (s.length === 0) return false;
  for (let i = 0; i < s.length; i++) if (TOKEN[s.charCodeAt(i)] !== 1) return false;
  return true;
}

export function allIn(t: Uint8Array, s: string, from = 0, to = s.length): boolean {
  for (let i = from; i < to; i++) if (t[s.charCodeAt(i)] !== 1) return false;
  return true;
}

/** Checks %HH escapes are well-formed in s[from, to). */
export function escapesOk(s: string, from = 0, to = s.length): boolean {
  for (let i = s.indexOf("%", from); i >= 0 && i < to; i = s.indexOf("%", i + 1)) {
    if (i + 2 >= to) return false;
    if (HEX[s.charCodeAt(i + 1)] !== 1 || HEX[s.charCodeAt(i + 2)] !== 1) return false;
  }
  return true;
}

/** Decodes %HH escapes (latin1 bytes), leaving the rest untouched. */
export function unescape(s: string): string {
  if (s.indexOf("%") < 0) return s;
  return s.replace(/%([0-9a-fA-F]{2})/g, (_, h: string) => String.fromCharCode(parseInt(h, 16)));
}

export const SP = 32;
export const HT = 9;
export const CR = 13;
export const LF = 10;

export function isWs(c: number): boolean {
  return c === SP || c === HT || c === CR || c === LF;
}

/** Trims SP/HT/CR/LF from both ends. */
export function trimLws(s: string): string {
  let a = 0;
  let b = s.length;
  while (a < b && isWs(s.charCodeAt(a))) a++;
  while (b > a && isWs(s.charCodeAt(b - 1))) b--;
  return a === 0 && b === s.length ? s : s.slice(a, b);
}
