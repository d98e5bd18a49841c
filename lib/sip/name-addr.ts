/**
 * Header-value helpers for modules that read name-addr lists as text (Contact, Path, Route,
 * Record-Route): split a list, take the URI out of a name-addr.
 */

/**
 * Splits a header value list on commas outside quotes and angle brackets
 * (`<sip:a;lr>, <sip:b;lr>` → two entries), trimming each.
 */
export function splitHeaderList(v: string): string[] {
  const out: string[] = [];
  let q = false;
  let a = false;
  let start = 0;
  for (let i = 0; i < v.length; i++) {
    const c = v[i];
    if (q) {
      if (c === "\\") i++;
      else if (c === '"') q = false;
    } else if (c === '"') q = true;
    else if (c === "<") a = true;
    else if (c === ">") a = false;
    else if (c === "," && !a) {
      out.push(v.slice(start, i).trim());
      start = i + 1;
    }
  }
  out.push(v.slice(start).trim());
  return out.filter((x) => x !== "");
}

/** The URI inside `<...>` of a name-addr exactly as written (or the whole addr-spec up to `;`, trimmed). */
export function nameAddrUri(v: string): string {
  const lt = v.indexOf("<");
  if (lt >= 0) {
    const gt = v.indexOf(">", lt);
    return gt > lt ? v.slice(lt + 1, gt) : v.slice(lt + 1);
  }
  const semi = v.indexOf(";");
  return (semi >= 0 ? v.slice(0, semi) : v).trim();
}

/** The URI of a name-addr, trimmed: `"Bob" <sip:b@x>;tag=1` → `sip:b@x`. */
export function uriOfNameAddr(v: string): string {
  return nameAddrUri(v).trim();
}
