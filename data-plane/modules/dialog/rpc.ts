import { RpcCode, RpcError, type RpcMethod, defineRpc } from "../../core/api.js";
import { DlgState, type Dialog, type DialogLeg } from "./dialog.js";
import type { DialogManager } from "./manager.js";

/** Seconds since the epoch of a ms time (0 stays 0), as Kamailio prints *_ts. */
function secs(ms: number): number {
  return ms ? Math.floor(ms / 1000) : 0;
}

function leg(l: DialogLeg): Record<string, unknown> {
  return { tag: l.tag, contact: l.contact, cseq: String(l.cseq), route_set: l.routeSet.join(","), socket: l.socket };
}

/**
 * One dialog as Kamailio's dlg.list prints it (dialog.c internal_rpc_print_dlg): times in
 * seconds, duration from answer, `timeout` the absolute expiry time, legs, profiles, variables.
 * `ref` counts what holds the dialog: the table, its timer, its INVITE transaction.
 */
export function dialogInfo(m: DialogManager, d: Dialog, withContext: boolean, nowMs = Date.now()): Record<string, unknown> {
  const duration = d.endTs ? secs(d.endTs) - secs(d.startTs) : d.startTs ? secs(nowMs) - secs(d.startTs) : 0;
  const live = d.state < DlgState.DELETED;
  const out: Record<string, unknown> = {
    h_entry: d.hEntry,
    h_id: d.hId,
    ref: (live ? 1 : 0) + (d.timer ? 1 : 0) + (d.txnAlive ? 1 : 0),
    "call-id": d.callId,
    from_uri: d.fromUri,
    to_uri: d.toUri,
    state: d.state,
    start_ts: secs(d.startTs),
    init_ts: secs(d.initTs),
    end_ts: secs(d.endTs),
    duration: d.startTs ? Math.max(0, duration) : 0,
    timeout: secs(d.timeoutAt),
    lifetime: d.lifetime,
    dflags: d.dflags,
    sflags: d.sflags,
    iflags: d.iflags,
    caller: leg(d.caller),
    callee: leg(d.callee),
    profiles: live ? d.profiles.map((p) => (m.profiles.hasValue(p.profile) ? { [p.profile]: p.value } : p.profile)) : [],
    variables: live && d.vars ? [...d.vars].map(([k, v]) => ({ [k]: v })) : [],
  };
  if (withContext) {
    const g = d.gateway;
    out.context = {
      node: m.node,
      req_uri: d.reqUri,
      src: `${d.source.proto}:${d.source.address}:${d.source.port}`,
      gateway: g ? g.dstUri ?? g.uri : null,
      gateway_addr: g ? `${g.dst.proto}:${g.dst.address}:${g.dst.port}` : null,
      code: d.code,
    };
  }
  return out;
}

function findByTags(m: DialogManager, callId: string, fromTag: string, toTag: string): Dialog | undefined {
  for (const d of m.table.byCall(callId)) {
    if ((d.caller.tag === fromTag && d.callee.tag === toTag) || (d.caller.tag === toTag && d.callee.tag === fromTag)) return d;
  }
  return undefined;
}

function requireProfile(m: DialogManager, profile: string): void {
  if (!m.profiles.has(profile)) throw new RpcError(RpcCode.NotFound, `Profile not found: ${profile}`, { param: "profile" });
}

const MATCH_KEYS = ["ruri", "furi", "turi", "callid", "start_ts"] as const;
const MATCH_OPS = ["eq", "re", "sw", "gt", "lt"] as const;

function matchValue(d: Dialog, key: string): string | number {
  switch (key) {
    case "ruri":
      return d.reqUri;
    case "furi":
      return d.fromUri;
    case "turi":
      return d.toUri;
    case "callid":
      return d.callId;
    default:
      return secs(d.startTs);
  }
}

/** Kamailio's dlg.* RPC methods, same names, parameters and output shapes (dialog.c). */
export function dialogRpcMethods(m: DialogManager): RpcMethod[] {
  const all = () => [...m.table.all()];
  return [
    defineRpc({
      name: "dlg.list",
      doc: "Print all dialogs",
      params: [],
      returns: "[{h_entry, h_id, ref, call-id, from_uri, to_uri, state, start_ts, init_ts, end_ts, duration, timeout, lifetime, dflags, sflags, iflags, caller{tag, contact, cseq, route_set, socket}, callee{…}, profiles, variables}]",
      handler: () => all().map((d) => dialogInfo(m, d, false)),
    }),
    defineRpc({
      name: "dlg.list_ctx",
      doc: "Print all dialogs with associated context",
      params: [],
      returns: "[{…dlg.list fields, context{node, req_uri, src, gateway, gateway_addr, code}}]",
      handler: () => all().map((d) => dialogInfo(m, d, true)),
    }),
    defineRpc({
      name: "dlg.dlg_list",
      doc: "Print dialog based on callid and optionally fromtag",
      params: [
        { name: "callid", type: "string" },
        { name: "from_tag", type: "string", optional: true },
      ],
      returns: "[{…dlg.list fields}]",
      handler: ({ callid, from_tag }) =>
        m.table
          .byCall(callid)
          .filter((d) => from_tag === undefined || d.caller.tag === from_tag)
          .map((d) => dialogInfo(m, d, false)),
    }),
    defineRpc({
      name: "dlg.dlg_list_ctx",
      doc: "Print dialog with associated context based on callid and optionally fromtag",
      params: [
        { name: "callid", type: "string" },
        { name: "from_tag", type: "string", optional: true },
      ],
      returns: "[{…dlg.list_ctx fields}]",
      handler: ({ callid, from_tag }) =>
        m.table
          .byCall(callid)
          .filter((d) => from_tag === undefined || d.caller.tag === from_tag)
          .map((d) => dialogInfo(m, d, true)),
    }),
    defineRpc({
      name: "dlg.list_match",
      doc: "Print matching dialogs: key ruri|furi|turi|callid|start_ts, operator eq|re|sw|gt|lt, value, optional limit",
      params: [
        { name: "mkey", type: "string", enum: MATCH_KEYS },
        { name: "mop", type: "string", enum: MATCH_OPS },
        { name: "mval", type: "string" },
        { name: "limit", type: "int", optional: true },
      ],
      returns: "[{…dlg.list fields}]",
      handler: ({ mkey, mop, mval, limit }) => {
        const key = mkey;
        const op = mop;
        const val = mval;
        if ((op === "gt" || op === "lt") && key !== "start_ts") throw RpcError.invalidParam("mop", `'${op}' works only with start_ts`);
        if (key === "start_ts" && !/^\d+$/.test(val)) throw RpcError.invalidParam("mval", "start_ts needs an integer");
        let re: RegExp | null = null;
        if (op === "re") {
          try {
            re = new RegExp(val);
          } catch (e) {
            throw RpcError.invalidParam("mval", `bad regular expression: ${(e as Error).message}`);
          }
        }
        const max = limit === undefined ? Infinity : limit;
        const out: Record<string, unknown>[] = [];
        for (const d of m.table.all()) {
          if (out.length >= max) break;
          const v = matchValue(d, key);
          let ok: boolean;
          if (op === "eq") ok = String(v) === val;
          else if (op === "sw") ok = String(v).startsWith(val);
          else if (op === "re") ok = re!.test(String(v));
          else if (op === "gt") ok = (v as number) > Number(val);
          else ok = (v as number) < Number(val);
          if (ok) out.push(dialogInfo(m, d, false));
        }
        return out;
      },
    }),
    defineRpc({
      name: "dlg.end_dlg",
      doc: "End a given dialog based on [h_entry] [h_id]: BYE to both sides (confirmed dialogs only)",
      params: [
        { name: "h_entry", type: "int" },
        { name: "h_id", type: "int" },
        { name: "extra_hdrs", type: "string", optional: true, doc: "header lines added to both BYEs" },
      ],
      handler: ({ h_entry, h_id, extra_hdrs }) => {
        const d = m.table.lookup(h_entry, h_id);
        if (!d) throw new RpcError(RpcCode.NotFound, "Dialog not found");
        const extra = extra_hdrs === undefined ? undefined : parseHeaderLines(extra_hdrs);
        if (!m.bye(d, "all", "rpc", extra)) throw new RpcError(RpcCode.ServerError, "Dialog not in confirmed state");
        return null;
      },
    }),
    defineRpc({
      name: "dlg.terminate_dlg",
      doc: "End a given dialog based on callid, from tag and to tag: BYE to both sides",
      params: [
        { name: "callid", type: "string" },
        { name: "from_tag", type: "string" },
        { name: "to_tag", type: "string" },
      ],
      handler: ({ callid, from_tag, to_tag }) => {
        const d = findByTags(m, callid, from_tag, to_tag);
        if (!d) throw new RpcError(RpcCode.ServerError, "Couldnt find callid in dialog");
        if (!m.bye(d, "all", "rpc")) throw new RpcError(RpcCode.ServerError, "Dialog not in confirmed state");
        return null;
      },
    }),
    defineRpc({
      name: "dlg.is_alive",
      doc: "Check whether dialog is alive or not (confirmed)",
      params: [
        { name: "callid", type: "string" },
        { name: "from_tag", type: "string" },
        { name: "to_tag", type: "string" },
      ],
      returns: '"Alive"',
      handler: ({ callid, from_tag, to_tag }) => {
        const d = findByTags(m, callid, from_tag, to_tag);
        if (!d) throw new RpcError(RpcCode.NotFound, "Dialog not found");
        if (d.state !== DlgState.CONFIRMED) throw new RpcError(RpcCode.ServerError, "Dialog not in confirmed state");
        return "Alive";
      },
    }),
    defineRpc({
      name: "dlg.profile_get_size",
      doc: "Returns the number of dialogs belonging to a profile (with one value, or all values)",
      params: [
        { name: "profile", type: "string" },
        { name: "value", type: "string", optional: true },
      ],
      returns: "3",
      handler: ({ profile, value }) => {
        requireProfile(m, profile);
        return m.profiles.size(profile, value);
      },
    }),
    defineRpc({
      name: "dlg.profile_list",
      doc: "Lists all the dialogs belonging to a profile (with one value, or all values)",
      params: [
        { name: "profile", type: "string" },
        { name: "value", type: "string", optional: true },
      ],
      returns: "[{…dlg.list fields}]",
      handler: ({ profile, value }) => {
        requireProfile(m, profile);
        return m.profiles.members(profile, value).map((d) => dialogInfo(m, d, false));
      },
    }),
    defineRpc({
      name: "dlg.stats_active",
      doc: "Get stats about active dialogs: starting (1), connecting (2), answering (3), ongoing (4), all",
      params: [{ name: "local_only", type: "int", optional: true, doc: "accepted for compatibility; every dialog here is local" }],
      returns: "{starting, connecting, answering, ongoing, all}",
      handler: () => {
        let starting = 0;
        let connecting = 0;
        let answering = 0;
        let ongoing = 0;
        for (const d of m.table.all()) {
          if (d.state === DlgState.UNCONFIRMED) starting++;
          else if (d.state === DlgState.EARLY) connecting++;
          else if (d.state === DlgState.CONFIRMED_NA) answering++;
          else if (d.state === DlgState.CONFIRMED) ongoing++;
        }
        return { starting, connecting, answering, ongoing, all: starting + connecting + answering + ongoing };
      },
    }),
    defineRpc({
      name: "dlg.briefing",
      doc: "List the summary of dialog records in memory; fmt letters: f from_uri, t to_uri, c call-id, F from_tag, T to_tag, I init_ts, S start_ts, E end_ts, s state (default ftcFT)",
      params: [{ name: "fmt", type: "string", optional: true }],
      returns: "[{h_entry, h_id, from_uri, to_uri, call-id, from_tag, to_tag}]",
      handler: ({ fmt }) => {
        const f = fmt ?? "ftcFT";
        const bad = /[^ftcFTISEs]/.exec(f);
        if (bad) throw RpcError.invalidParam("fmt", `unknown field letter '${bad[0]}' (use f t c F T I S E s)`);
        return all().map((d) => {
          const o: Record<string, unknown> = { h_entry: d.hEntry, h_id: d.hId };
          for (const ch of f) {
            if (ch === "f") o.from_uri = d.fromUri;
            else if (ch === "t") o.to_uri = d.toUri;
            else if (ch === "c") o["call-id"] = d.callId;
            else if (ch === "F") o.from_tag = d.caller.tag;
            else if (ch === "T") o.to_tag = d.callee.tag;
            else if (ch === "I") o.init_ts = secs(d.initTs);
            else if (ch === "S") o.start_ts = secs(d.startTs);
            else if (ch === "E") o.end_ts = secs(d.endTs);
            else o.state = d.state;
          }
          return o;
        });
      },
    }),
  ];
}

/** "X-A: 1\r\nX-B: 2" → { "X-A": "1", … }; a line without a colon is an invalid parameter. */
function parseHeaderLines(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of text.split(/\r?\n/)) {
    if (line.trim() === "") continue;
    const c = line.indexOf(":");
    if (c <= 0 || !/^[A-Za-z0-9!#$%&'*+.^_`|~-]+$/.test(line.slice(0, c).trim())) {
      throw RpcError.invalidParam("extra_hdrs", `'${line}' is not a "Name: value" header line`);
    }
    out[line.slice(0, c).trim()] = line.slice(c + 1).trim();
  }
  return out;
}
