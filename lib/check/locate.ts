/**
 * Positions in a JSON configuration file for `--check` messages (`file:line:col: message`): finds
 * the key of a dotted path (`modules.dispatcher.ping_interval`) by searching its segments in
 * order, and turns a JSON.parse error offset into line:col. Best effort: null when not found.
 *
 * @example locateKey(text, ["script", "settings", "nextHopp"]) // { line: 5, col: 42 }
 */
export interface TextPosition {
  readonly line: number;
  readonly col: number;
}

export function positionOf(text: string, offset: number): TextPosition {
  let line = 1;
  let last = -1;
  for (let i = 0; i < offset && i < text.length; i++) {
    if (text.charCodeAt(i) === 10) {
      line++;
      last = i;
    }
  }
  return { line, col: offset - last };
}

/** Position of the last segment's `"key"` (segments searched one after the other). */
export function locateKey(text: string, path: readonly string[]): TextPosition | null {
  let from = 0;
  let at = -1;
  for (const seg of path) {
    const i = text.indexOf(JSON.stringify(seg), from);
    if (i < 0) return at < 0 ? null : positionOf(text, at);
    at = i;
    from = i + seg.length + 2;
  }
  return at < 0 ? null : positionOf(text, at);
}

/** line:col of a JSON.parse error message's "position N" (Node's wording), or null. */
export function jsonErrorPosition(text: string, message: string): TextPosition | null {
  const lc = /line (\d+) column (\d+)/.exec(message);
  if (lc) return { line: Number(lc[1]), col: Number(lc[2]) };
  const m = /position (\d+)/.exec(message);
  if (m) return positionOf(text, Number(m[1]));
  // Node 20+: Unexpected token 'u', "…excerpt…" is not valid JSON — find the excerpt, then the token
  const t = /Unexpected token '(.)', ([\s\S]*) is not valid JSON/.exec(message);
  if (t) {
    const excerpt = t[2]!.replace(/^(\.\.\.|")/, "").replace(/(\.\.\."|")$/, "");
    const at = text.indexOf(excerpt);
    const k = at < 0 ? -1 : text.indexOf(t[1]!, at);
    if (k >= 0) return positionOf(text, k);
  }
  return null;
}

/** `file:line:col: message` (or `file: message` without a position). */
export function problemLine(file: string, pos: TextPosition | null, message: string): string {
  return pos ? `${file}:${pos.line}:${pos.col}: ${message}` : `${file}: ${message}`;
}
