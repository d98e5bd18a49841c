import { TableError, type TableSet } from "../rows.js";
import { readInt, readStr, rowIdOf, tableRows } from "../kit/row-values.js";

/** Kinds of forwarding (the `cf_type` column of olelo_callfwd). */
export const CF_TYPES = ["unconditional", "busy", "noanswer", "unavailable"] as const;
/** One of the forwarding kinds of the cf_type column. */
export type CfType = (typeof CF_TYPES)[number];

/** One forwarding rule of a user. */
export interface Forwarding {
  readonly type: CfType;
  readonly target: string;
  /** noanswer: seconds to ring before forwarding (0 = the module's default). */
  readonly timeout: number;
}

/** A caller pattern of a deny/allow list. */
export interface CallerPattern {
  /** Compared with the caller's "user@domain" or "user" (lower-cased). */
  readonly value: string;
  /** `value` is a prefix (the row ended in `*`). */
  readonly prefix: boolean;
}

/** A user's caller deny and allow lists. */
export interface UserLists {
  readonly deny: readonly CallerPattern[];
  readonly allow: readonly CallerPattern[];
}

/**
 * The callfwd tables compiled by user key (username, or username@domain with use_domain; a row
 * with an empty domain applies to the user in every domain):
 *
 *   olelo_callfwd(id, username, domain, cf_type, target, timeout, enabled, description)
 *   olelo_callblock(id, username, domain, list_type, caller, description)
 *
 * `cf_type`: unconditional | busy | noanswer | unavailable; `list_type`: deny | allow;
 * `caller`: "user", "user@domain", a prefix ending in "*" ("+4930*"), or "*" (anyone).
 */
export class CallFwdTable {
  constructor(
    readonly rows: number,
    private readonly fwd: ReadonlyMap<string, ReadonlyMap<CfType, Forwarding>>,
    private readonly byUser: ReadonlyMap<string, UserLists>,
  ) {}

  static empty(): CallFwdTable {
    return new CallFwdTable(0, new Map(), new Map());
  }

  /** The forwarding of `type` for a user (user@domain first, then user in any domain). */
  forwarding(user: string, domain: string, type: CfType): Forwarding | null {
    const u = user.toLowerCase();
    return this.fwd.get(`${u}@${domain.toLowerCase()}`)?.get(type) ?? this.fwd.get(u)?.get(type) ?? null;
  }

  lists(user: string, domain: string): UserLists | null {
    const u = user.toLowerCase();
    return this.byUser.get(`${u}@${domain.toLowerCase()}`) ?? this.byUser.get(u) ?? null;
  }
}

/** Whether a caller ("user@domain", lower-cased) matches a pattern. */
export function callerMatches(p: CallerPattern, callerUser: string, callerFull: string): boolean {
  if (p.value === "") return p.prefix; // "*"
  const subject = p.value.includes("@") ? callerFull : callerUser;
  return p.prefix ? subject.startsWith(p.value) : subject === p.value;
}

function keyOf(username: string, domain: string): string {
  const u = username.toLowerCase();
  return domain ? `${u}@${domain.toLowerCase()}` : u;
}

/** Validates and compiles both tables; throws TableError naming the table and row. */
export function compileCallFwd(set: TableSet): CallFwdTable {
  const fwd = new Map<string, Map<CfType, Forwarding>>();
  const lists = new Map<string, { deny: CallerPattern[]; allow: CallerPattern[] }>();
  const T1 = "olelo_callfwd";
  const fRows = tableRows(set, T1);
  fRows.forEach((row, i) => {
    const id = rowIdOf(row, "id", i);
    const username = readStr(row, T1, id, "username", { nonEmpty: true, maxLength: 64 });
    const domain = readStr(row, T1, id, "domain", { maxLength: 64 });
    const type = readStr(row, T1, id, "cf_type", { nonEmpty: true }).toLowerCase();
    if (!(CF_TYPES as readonly string[]).includes(type)) throw new TableError(T1, id, `cf_type must be one of ${CF_TYPES.join(", ")}, got '${type}'`);
    const target = readStr(row, T1, id, "target", { nonEmpty: true, maxLength: 255 }).trim();
    if (!/^(sips?:[^\s]+|tel:[^\s]+)$/i.test(target)) throw new TableError(T1, id, `target '${target}' is not a SIP or TEL URI`);
    const timeout = readInt(row, T1, id, "timeout", { min: 0, max: 3600, def: 0 });
    const enabled = readInt(row, T1, id, "enabled", { min: 0, max: 1, def: 1 });
    if (!enabled) return;
    const k = keyOf(username, domain);
    let m = fwd.get(k);
    if (!m) fwd.set(k, (m = new Map()));
    if (m.has(type as CfType)) throw new TableError(T1, id, `a second ${type} forwarding for ${k}`);
    m.set(type as CfType, { type: type as CfType, target, timeout });
  });
  const T2 = "olelo_callblock";
  const bRows = tableRows(set, T2);
  bRows.forEach((row, i) => {
    const id = rowIdOf(row, "id", i);
    const username = readStr(row, T2, id, "username", { nonEmpty: true, maxLength: 64 });
    const domain = readStr(row, T2, id, "domain", { maxLength: 64 });
    const lt = readStr(row, T2, id, "list_type", { nonEmpty: true }).toLowerCase();
    if (lt !== "deny" && lt !== "allow") throw new TableError(T2, id, `list_type must be deny or allow, got '${lt}'`);
    let caller = readStr(row, T2, id, "caller", { nonEmpty: true, maxLength: 128 }).trim().toLowerCase();
    if (/\s/.test(caller)) throw new TableError(T2, id, `caller '${caller}' contains whitespace`);
    caller = caller.replace(/^sips?:/, "");
    const prefix = caller.endsWith("*");
    if (prefix) caller = caller.slice(0, -1);
    if (caller.includes("*")) throw new TableError(T2, id, "caller may only end in '*'");
    const k = keyOf(username, domain);
    let l = lists.get(k);
    if (!l) lists.set(k, (l = { deny: [], allow: [] }));
    l[lt].push({ value: caller, prefix });
  });
  return new CallFwdTable(fRows.length + bRows.length, fwd, lists);
}
