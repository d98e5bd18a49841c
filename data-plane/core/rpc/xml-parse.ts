/**
 * A small, strict, non-validating XML parser for XML-RPC bodies. It is deliberately closed:
 * no DOCTYPE/DTD (so no entity declarations, no external entities, no "billion laughs"), only
 * the five predefined entities plus numeric character references, and hard limits on input size,
 * nesting depth and node count. Whitespace-only text between elements is kept; callers ignore it.
 *
 * @example
 *   const root = parseXml("<methodCall><methodName>core.uptime</methodName></methodCall>");
 *   root.name; // "methodCall"
 */
export interface XmlElement {
  readonly name: string;
  readonly attrs: Readonly<Record<string, string>>;
  readonly children: XmlNode[];
}
export type XmlNode = XmlElement | string;

/** Malformed or disallowed XML; `offset` is the character position where parsing stopped. */
export class XmlParseError extends Error {
  override readonly name = "XmlParseError";
  constructor(
    message: string,
    readonly offset: number,
  ) {
    super(message);
  }
}

export interface XmlLimits {
  /** Maximum input length in characters (default 1 MiB). */
  readonly maxChars?: number;
  /** Maximum element nesting depth (default 64). */
  readonly maxDepth?: number;
  /** Maximum number of elements plus text nodes (default 200 000). */
  readonly maxNodes?: number;
}

const PREDEFINED: Readonly<Record<string, string>> = { lt: "<", gt: ">", amp: "&", quot: '"', apos: "'" };
const NAME_RE = /[A-Za-z_:][A-Za-z0-9_:.-]*/y;
const WS_RE = /[ \t\r\n]*/y;

/** Parses a complete document and returns its root element; throws XmlParseError. */
export function parseXml(text: string, limits: XmlLimits = {}): XmlElement {
  const maxChars = limits.maxChars ?? 1 << 20;
  if (text.length > maxChars) throw new XmlParseError(`document exceeds ${maxChars} characters`, 0);
  return new Parser(text, limits.maxDepth ?? 64, limits.maxNodes ?? 200_000).document();
}

/** Decodes entity and character references in text or attribute values. */
export function decodeXmlText(s: string, at = 0): string {
  if (s.indexOf("&") < 0) return s;
  let out = "";
  let i = 0;
  for (;;) {
    const amp = s.indexOf("&", i);
    if (amp < 0) return out + s.slice(i);
    out += s.slice(i, amp);
    const semi = s.indexOf(";", amp);
    if (semi < 0 || semi - amp > 12) throw new XmlParseError("bare '&' (use &amp;)", at + amp);
    const ref = s.slice(amp + 1, semi);
    if (ref.startsWith("#")) {
      const cp = ref[1] === "x" || ref[1] === "X" ? parseInt(ref.slice(2), 16) : parseInt(ref.slice(1), 10);
      const digits = ref[1] === "x" || ref[1] === "X" ? /^#[xX][0-9a-fA-F]+$/ : /^#[0-9]+$/;
      if (!digits.test(ref) || !isXmlChar(cp)) throw new XmlParseError(`bad character reference &${ref};`, at + amp);
      out += String.fromCodePoint(cp);
    } else {
      const v = PREDEFINED[ref];
      if (v === undefined) throw new XmlParseError(`undefined entity &${ref}; (only the 5 predefined are allowed)`, at + amp);
      out += v;
    }
    i = semi + 1;
  }
}

/** Escapes text for element content and attribute values. */
export function escapeXml(s: string): string {
  return s.replace(/[<>&"']/g, (c) => `&${c === "<" ? "lt" : c === ">" ? "gt" : c === "&" ? "amp" : c === '"' ? "quot" : "apos"};`);
}

function isXmlChar(cp: number): boolean {
  return (
    cp === 0x9 || cp === 0xa || cp === 0xd || (cp >= 0x20 && cp <= 0xd7ff) || (cp >= 0xe000 && cp <= 0xfffd) || (cp >= 0x10000 && cp <= 0x10ffff)
  );
}

class Parser {
  private pos = 0;
  private nodes = 0;

  constructor(
    private readonly s: string,
    private readonly maxDepth: number,
    private readonly maxNodes: number,
  ) {}

  document(): XmlElement {
    if (this.s.charCodeAt(0) === 0xfeff) this.pos = 1;
    this.misc(true);
    if (this.s[this.pos] !== "<") throw this.err(this.pos >= this.s.length ? "empty document" : "expected '<'");
    const root = this.element(1);
    this.misc(false);
    if (this.pos < this.s.length) throw this.err("content after the root element");
    return root;
  }

  /** Skips whitespace, comments and processing instructions outside the root. */
  private misc(prolog: boolean): void {
    for (;;) {
      this.skipWs();
      if (this.s.startsWith("<?", this.pos)) {
        const end = this.s.indexOf("?>", this.pos + 2);
        if (end < 0) throw this.err("unterminated processing instruction");
        this.pos = end + 2;
      } else if (this.s.startsWith("<!--", this.pos)) {
        this.comment();
      } else if (this.s.startsWith("<!", this.pos)) {
        throw this.err(prolog ? "DOCTYPE/DTD declarations are not allowed" : "unexpected markup declaration");
      } else {
        return;
      }
    }
  }

  private comment(): void {
    const end = this.s.indexOf("-->", this.pos + 4);
    if (end < 0) throw this.err("unterminated comment");
    this.pos = end + 3;
  }

  private element(depth: number): XmlElement {
    if (depth > this.maxDepth) throw this.err(`nesting deeper than ${this.maxDepth}`);
    this.count();
    this.pos++; // '<'
    const name = this.name();
    const attrs: Record<string, string> = Object.create(null);
    for (;;) {
      const before = this.pos;
      this.skipWs();
      const c = this.s[this.pos];
      if (c === "/") {
        if (this.s[this.pos + 1] !== ">") throw this.err("expected '/>'");
        this.pos += 2;
        return { name, attrs, children: [] };
      }
      if (c === ">") {
        this.pos++;
        break;
      }
      if (c === undefined) throw this.err(`unterminated start tag <${name}>`);
      if (this.pos === before) throw this.err("expected whitespace before attribute");
      const an = this.name();
      this.skipWs();
      if (this.s[this.pos] !== "=") throw this.err(`expected '=' after attribute ${an}`);
      this.pos++;
      this.skipWs();
      const q = this.s[this.pos];
      if (q !== '"' && q !== "'") throw this.err(`attribute ${an} value must be quoted`);
      const end = this.s.indexOf(q, this.pos + 1);
      if (end < 0) throw this.err(`unterminated attribute ${an}`);
      const raw = this.s.slice(this.pos + 1, end);
      if (raw.includes("<")) throw this.err(`'<' in attribute ${an}`);
      if (an in attrs) throw this.err(`duplicate attribute ${an}`);
      attrs[an] = decodeXmlText(raw, this.pos + 1);
      this.pos = end + 1;
    }
    const children: XmlNode[] = [];
    let text = "";
    const flush = () => {
      if (text !== "") {
        this.count();
        children.push(text);
        text = "";
      }
    };
    for (;;) {
      const lt = this.s.indexOf("<", this.pos);
      if (lt < 0) throw this.err(`unterminated element <${name}>`);
      if (lt > this.pos) {
        const raw = this.s.slice(this.pos, lt);
        if (raw.includes("]]>")) throw this.err("']]>' in text");
        text += decodeXmlText(raw, this.pos);
        this.pos = lt;
      }
      if (this.s.startsWith("</", this.pos)) {
        this.pos += 2;
        const close = this.name();
        if (close !== name) throw this.err(`mismatched end tag: expected </${name}>, got </${close}>`);
        this.skipWs();
        if (this.s[this.pos] !== ">") throw this.err(`expected '>' to close </${name}`);
        this.pos++;
        flush();
        return { name, attrs, children };
      }
      if (this.s.startsWith("<!--", this.pos)) {
        this.comment();
      } else if (this.s.startsWith("<![CDATA[", this.pos)) {
        const end = this.s.indexOf("]]>", this.pos + 9);
        if (end < 0) throw this.err("unterminated CDATA section");
        text += this.s.slice(this.pos + 9, end);
        this.pos = end + 3;
      } else if (this.s.startsWith("<?", this.pos)) {
        const end = this.s.indexOf("?>", this.pos + 2);
        if (end < 0) throw this.err("unterminated processing instruction");
        this.pos = end + 2;
      } else if (this.s.startsWith("<!", this.pos)) {
        throw this.err("markup declarations are not allowed inside elements");
      } else {
        flush();
        children.push(this.element(depth + 1));
      }
    }
  }

  private name(): string {
    NAME_RE.lastIndex = this.pos;
    const m = NAME_RE.exec(this.s);
    if (!m) throw this.err("expected a name");
    if (m[0].length > 256) throw this.err("name longer than 256 characters");
    this.pos += m[0].length;
    return m[0];
  }

  private skipWs(): void {
    WS_RE.lastIndex = this.pos;
    WS_RE.exec(this.s);
    this.pos = WS_RE.lastIndex;
  }

  private count(): void {
    if (++this.nodes > this.maxNodes) throw this.err(`more than ${this.maxNodes} nodes`);
  }

  private err(msg: string): XmlParseError {
    return new XmlParseError(`${msg} at offset ${this.pos}`, this.pos);
  }
}
