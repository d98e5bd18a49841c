import { Counter, type StatGroup, type StatsRegistry } from "../stats/counters.js";
import type { Histogram } from "../stats/families.js";
import type { Endpoint } from "../../../lib/sip/types.js";
import { CORE_STATS, SL_STATS, TMX_STATS } from "./stat-names.js";
import type { ServerTxn } from "./transaction.js";
import type { KeyTable } from "../../../lib/runtime/key-table.js";

/**
 * The transaction layer's statistics (Kamailio core, tmx and sl groups): the groups, and the hot
 * counters the receive, forward and reply paths increment inline.
 */
export class TmCounters {
  readonly core: StatGroup;
  readonly tmx: StatGroup;
  readonly sl: StatGroup;
  /** hot counters, incremented inline */
  readonly k: Record<string, Counter>;
  readonly rcvReplyClass: Counter[];
  readonly txnClass: Counter[];
  readonly methodCounter = new Map<string, Counter>();
  /**
   * Health counters outside Kamailio's statistic names (not in any group): 408 finals of server
   * transactions and INVITE transactions that failed (408 or >= 500). The sync client reports
   * them to the control plane (StatsReport) for canary soaks.
   */
  readonly health = { uas408: new Counter(), failedInvites: new Counter() };
  /** Server transaction time: request received → first final reply sent upstream, per method. */
  readonly txnTime: Histogram;
  /** Per destination (proto:address:port of the branch): request sent → first reply of any kind. */
  readonly firstReply: Histogram;
  /** Per destination: request sent → final reply received, or fr_timer fired (outcome="timeout"). */
  readonly branchTime: Histogram;

  constructor(stats: StatsRegistry, serverTxns: KeyTable<ServerTxn>) {
    this.core = stats.group("core", CORE_STATS);
    this.tmx = stats.group("tmx", TMX_STATS);
    this.sl = stats.group("sl", SL_STATS);
    this.tmx.gauge("inuse_transactions", () => serverTxns.size);
    this.tmx.gauge("active_transactions", () => {
      let n = 0;
      for (const t of serverTxns.values()) if (!t.finalSent) n++;
      return n;
    });
    const c = this.core;
    const t = this.tmx;
    this.k = {
      rcv_requests: c.counter("rcv_requests"),
      rcv_replies: c.counter("rcv_replies"),
      fwd_requests: c.counter("fwd_requests"),
      fwd_replies: c.counter("fwd_replies"),
      rcv_replies_18x: c.counter("rcv_replies_18x"),
      rpl_received: t.counter("rpl_received"),
      rpl_sent: t.counter("rpl_sent"),
      rpl_relayed: t.counter("rpl_relayed"),
      rpl_generated: t.counter("rpl_generated"),
      rpl_absorbed: t.counter("rpl_absorbed"),
      UAS_transactions: t.counter("UAS_transactions"),
      UAC_transactions: t.counter("UAC_transactions"),
    };
    this.rcvReplyClass = [0, 1, 2, 3, 4, 5, 6].map((n) => c.counter(`rcv_replies_${n}xx`));
    this.txnClass = [0, 1, 2, 3, 4, 5, 6].map((n) => t.counter(`${n}xx_transactions`));
    for (const [m, name] of Object.entries(METHOD_STAT)) this.methodCounter.set(m, c.counter(name));
    const f = stats.families;
    this.txnTime = f.histogram("olelo_tm_transaction_duration_seconds", "Server transaction time from the request received to the first final reply sent upstream", ["method"]);
    this.firstReply = f.histogram("olelo_tm_first_reply_seconds", "Time from a request relayed to a destination (proto:address:port) to its first reply (provisional or final)", ["destination"]);
    this.branchTime = f.histogram("olelo_tm_branch_duration_seconds", "Time from a request relayed to a destination to its final reply (outcome=reply) or its fr_timer expiry (outcome=timeout)", ["destination", "outcome"]);
  }

  /** The first final reply of a server transaction went upstream. */
  observeTxn(method: string, createdAt: number): void {
    this.txnTime.observe1(METHOD_STAT[method] ? method : "other", (Date.now() - createdAt) / 1000);
  }

  observeFirstReply(dst: Endpoint, sentAt: number): void {
    if (sentAt) this.firstReply.observe1(this.destLabel(dst), (Date.now() - sentAt) / 1000);
  }

  observeBranch(dst: Endpoint, sentAt: number, outcome: "reply" | "timeout"): void {
    if (sentAt) this.branchTime.observe2(this.destLabel(dst), outcome, (Date.now() - sentAt) / 1000);
  }

  /** proto:address:port of a destination, built once per destination (bounded cache). */
  private destLabel(d: Endpoint): string {
    const byAddr = this.labels.get(d.address);
    let l = byAddr?.get(d.port + PROTO_SLOT[d.proto]!);
    if (l === undefined) {
      l = destLabel(d);
      if (this.labels.size >= 1000) this.labels.clear();
      if (byAddr) byAddr.set(d.port + PROTO_SLOT[d.proto]!, l);
      else this.labels.set(d.address, new Map([[d.port + PROTO_SLOT[d.proto]!, l]]));
    }
    return l;
  }
  private readonly labels = new Map<string, Map<number, string>>();

  /** sl statistics of a stateless reply. */
  countSlReply(status: number): void {
    let cs = this.slByStatus[status];
    if (!cs) {
      // the counters one status bumps, looked up once per status
      const sl = this.sl;
      const cls = Math.floor(status / 100);
      const names = ["sent_replies"];
      if (status >= 300) names.push("sent_err_replies");
      const exact = SL_EXACT[status];
      if (exact) names.push(exact);
      names.push(cls >= 1 && cls <= 6 ? `${cls}xx_replies` : "xxx_replies");
      cs = names.map((n) => sl.counter(n));
      if (status >= 100 && status < 700) this.slByStatus[status] = cs;
    }
    for (let i = 0; i < cs.length; i++) cs[i]!.v++;
  }
  private readonly slByStatus: Counter[][] = [];
}

const METHOD_STAT: Record<string, string> = {
  INVITE: "rcv_requests_invite",
  CANCEL: "rcv_requests_cancel",
  ACK: "rcv_requests_ack",
  BYE: "rcv_requests_bye",
  INFO: "rcv_requests_info",
  REGISTER: "rcv_requests_register",
  SUBSCRIBE: "rcv_requests_subscribe",
  NOTIFY: "rcv_requests_notify",
  MESSAGE: "rcv_requests_message",
  OPTIONS: "rcv_requests_options",
  PRACK: "rcv_requests_prack",
  UPDATE: "rcv_requests_update",
  REFER: "rcv_requests_refer",
  PUBLISH: "rcv_requests_publish",
  KDMQ: "rcv_requests_kdmq",
};

export const RCV_EXACT: Record<number, string> = Object.fromEntries(
  [400, 401, 402, 403, 404, 405, 406, 407, 408, 409, 410, 411, 413, 414, 415, 420, 480, 481, 482, 483, 484, 485, 486, 487, 488, 489, 491, 493].map(
    (c) => [c, `rcv_replies_${c}`],
  ),
);

const SL_EXACT: Record<number, string> = Object.fromEntries(
  [200, 202, 300, 301, 302, 400, 401, 403, 404, 407, 408, 483, 500].map((c) => [c, `${c}_replies`]),
);

/** Distinct per-proto offsets above every port, so one number keys proto and port. */
const PROTO_SLOT: Record<string, number> = { udp: 0, tcp: 65536, tls: 131072, ws: 196608, wss: 262144, sctp: 327680 };

function destLabel(d: Endpoint): string {
  return `${d.proto}:${d.address.includes(":") ? `[${d.address}]` : d.address}:${d.port}`;
}
