import type { EventBus, FailureContext, Logger, ReplyContext, RequestContext, RequestState, StatGroup } from "../../core/api.js";
import type { RtpengineRow } from "../../../tables/rtpengine/rtpengine-table.js";
import { parseFlags } from "./flags.js";
import { NgClient, NgTimeout, parseUrl, pickNode, type NgDict, type RtpNode } from "./nodes.js";
import type { RtpengineParams } from "./params.js";
import { isSdp, receivedFrom } from "./sdp.js";

/** A message the script hands to rtpengine_*: a request (request / failure route) or a reply. */
export type RtpMessage = RequestContext | FailureContext | ReplyContext;

export const STAT_NAMES = ["offers", "answers", "deletes", "queries", "pings", "errors", "timeouts", "failovers", "active_calls"] as const;

const SET_VAR = "rtpengine:set";
const LATE_VAR = "rtpengine:late_offer";
const MAX_STICKY = 200_000;

const isReply = (m: RtpMessage): m is ReplyContext => !("method" in m);

/**
 * The instances, their health and the ng commands of one module instance (Kamailio's rtpengine
 * core: select_rtpp_node, send_rtpp_command, the disable timeout and the sticky call → node map).
 */
export class RtpEngine {
  private paramNodes: RtpNode[];
  nodes: RtpNode[];
  /** Call-ID → instance that holds the call (offer, answer and delete go to the same one). */
  private readonly sticky = new Map<string, RtpNode>();
  private readonly client = new NgClient();
  private pingTimer: NodeJS.Timeout | null = null;

  constructor(
    readonly p: RtpengineParams,
    paramNodes: RtpNode[],
    private readonly stats: StatGroup,
    private readonly events: EventBus,
    private readonly log: Logger,
  ) {
    this.paramNodes = paramNodes;
    this.nodes = [...paramNodes];
  }

  start(): void {
    if (this.p.ping_interval > 0) {
      this.pingTimer = setInterval(() => void this.pingAll(), this.p.ping_interval * 1000);
      this.pingTimer.unref();
    }
  }

  private readonly stoppers: Array<() => void> = [];

  /** Runs `fn` when the module instance stops (event subscriptions). */
  onStop(fn: () => void): void {
    this.stoppers.push(fn);
  }

  stop(): void {
    for (const f of this.stoppers.splice(0)) f();
    if (this.pingTimer) clearInterval(this.pingTimer);
    this.pingTimer = null;
    this.client.close();
  }

  /** New table rows: param instances + rows; health of instances that stay is kept. */
  applyRows(rows: readonly RtpengineRow[]): void {
    const old = new Map(this.nodes.map((n) => [`${n.setid}|${n.url}`, n]));
    const next: RtpNode[] = [...this.paramNodes];
    for (const r of rows) {
      const hp = parseUrl(r.url)!;
      const prev = old.get(`${r.setid}|${r.url}`);
      next.push({ setid: r.setid, url: r.url, ...hp, weight: r.weight, adminDisabled: r.disabled, downUntil: prev?.downUntil ?? 0, origin: "table" });
    }
    this.nodes = next;
    for (const [cid, n] of this.sticky) if (!next.includes(n)) this.sticky.delete(cid);
  }

  get activeCalls(): number {
    return this.sticky.size;
  }

  /** [set_rtpengine_set(setid)] */
  setSet(req: RequestState, setid: number): number {
    if (!this.nodes.some((n) => n.setid === setid)) return -1;
    req.vars.set(SET_VAR, setid);
    return 1;
  }

  private setOf(m: RtpMessage): number {
    const vars = isReply(m) ? m.request?.vars : m.vars;
    const s = vars?.get(SET_VAR);
    return typeof s === "number" ? s : this.p.setid_default;
  }

  /** Sends a command to the call's instance, failing over to the others of its set. */
  async command(setid: number, callId: string, cmd: NgDict): Promise<NgDict | null> {
    const tried = new Set<RtpNode>();
    const set = this.nodes.filter((n) => n.setid === setid);
    let node = this.sticky.get(callId) ?? null;
    if (node && (node.adminDisabled || node.downUntil > Date.now() || !set.includes(node))) node = null;
    for (let i = 0; i < this.p.queried_nodes_limit; i++) {
      node ??= pickNode(set, callId, Date.now(), tried);
      if (!node) break;
      tried.add(node);
      try {
        const r = await this.client.send(node, cmd, this.p.rtpengine_tout_ms, this.p.rtpengine_retr);
        if (cmd.command === "offer" && r.result !== "error") {
          if (this.sticky.size >= MAX_STICKY) this.sticky.delete(this.sticky.keys().next().value!);
          this.sticky.set(callId, node);
        }
        return r;
      } catch (e) {
        if (!(e instanceof NgTimeout)) throw e;
        this.stats.inc("timeouts");
        this.markDown(node);
        if (cmd.command !== "offer" && cmd.command !== "ping") return null; // the call lived there
        this.stats.inc("failovers");
        node = null;
      }
    }
    return null;
  }

  private markDown(node: RtpNode): void {
    const was = node.downUntil > Date.now();
    node.downUntil = Date.now() + Math.max(1, this.p.rtpengine_disable_tout) * 1000;
    if (!was) {
      this.log.warn("rtpengine: instance does not answer, disabled", { url: node.url, setid: node.setid, seconds: this.p.rtpengine_disable_tout });
      this.events.publish("rtpengine.node_down", { url: node.url, setid: node.setid });
    }
  }

  /** Pings one instance: true when it answered `pong`; a disabled one that answers is enabled again. */
  async ping(node: RtpNode): Promise<boolean> {
    this.stats.inc("pings");
    try {
      const r = await this.client.send(node, { command: "ping" }, this.p.rtpengine_tout_ms, this.p.rtpengine_retr);
      const ok = r.result === "pong";
      if (ok && node.downUntil !== 0) {
        node.downUntil = 0;
        this.events.publish("rtpengine.node_up", { url: node.url, setid: node.setid });
      }
      return ok;
    } catch (e) {
      if (!(e instanceof NgTimeout)) throw e;
      this.markDown(node);
      return false;
    }
  }

  private async pingAll(): Promise<void> {
    const now = Date.now();
    // instances in their disable timeout wait it out (Kamailio's rtpengine_disable_tout)
    await Promise.all(this.nodes.filter((n) => !n.adminDisabled && n.downUntil <= now).map((n) => this.ping(n).catch(() => false)));
  }

  private ids(m: RtpMessage, f: ReturnType<typeof parseFlags>): { callId: string; fromTag: string; toTag: string | null } | null {
    const fromTag = f.fromTag ?? m.msg.fromTag;
    if (!fromTag) return null;
    return { callId: f.callId ?? m.msg.callId, fromTag, toTag: f.toTag ?? m.msg.toTag };
  }

  private viaBranch(m: RtpMessage, which: string | null): string | undefined {
    if (which !== "1" && which !== "2") return undefined;
    const v = m.msg.vias[which === "1" ? 0 : 1];
    return v?.branch ?? undefined;
  }

  /** offer / answer: the body goes to rtpengine, its SDP replaces the body. 1 done, -1 not. */
  async sdpCommand(m: RtpMessage, command: "offer" | "answer", flags?: string): Promise<number> {
    const ct = m.msg.contentType;
    const body = m.msg.body;
    if (!isSdp(ct, body)) return -1;
    const f = parseFlags(flags);
    const id = this.ids(m, f);
    if (!id || (command === "answer" && !id.toTag)) return -1;
    const cmd: NgDict = { ...f.dict, command, "call-id": id.callId, "from-tag": id.fromTag, sdp: body };
    if (id.toTag) cmd["to-tag"] = id.toTag;
    if (!cmd["received-from"]) cmd["received-from"] = receivedFrom(m.source.address);
    const vb = this.viaBranch(m, f.viaBranch);
    if (vb) cmd["via-branch"] = vb;
    this.stats.inc(command === "offer" ? "offers" : "answers");
    const r = await this.command(this.setOf(m), id.callId, cmd);
    if (!r || r.result === "error" || typeof r.sdp !== "string") {
      this.stats.inc("errors");
      if (r) this.log.info(`rtpengine: ${command} refused`, { callId: id.callId, reason: String(r["error-reason"] ?? r.result) });
      return -1;
    }
    m.setBody(r.sdp, ct!.trim());
    return 1;
  }

  /** delete: ends the call's media session. 1 done, -1 error (no instance, unknown call). */
  async delete(m: RtpMessage, flags?: string): Promise<number> {
    const f = parseFlags(flags);
    const id = this.ids(m, f);
    if (!id) return -1;
    return this.deleteCall(this.setOf(m), id.callId, id.fromTag, f.dict);
  }

  async deleteCall(setid: number, callId: string, fromTag: string | null, extra: NgDict = {}): Promise<number> {
    const cmd: NgDict = { ...extra, command: "delete", "call-id": callId };
    if (fromTag) cmd["from-tag"] = fromTag;
    this.stats.inc("deletes");
    const r = await this.command(setid, callId, cmd);
    this.sticky.delete(callId);
    if (!r || r.result === "error") {
      this.stats.inc("errors");
      return -1;
    }
    return 1;
  }

  /** Whether rtpengine still has state for the call (calls that ended by BYE / timeout are gone). */
  hasCall(callId: string): boolean {
    return this.sticky.has(callId);
  }

  /** query: rtpengine's view of the call (null when unknown or unreachable). */
  async query(callId: string, fromTag?: string, setid = this.p.setid_default): Promise<NgDict | null> {
    const cmd: NgDict = { command: "query", "call-id": callId };
    if (fromTag) cmd["from-tag"] = fromTag;
    this.stats.inc("queries");
    const r = await this.command(setid, callId, cmd);
    if (!r || r.result === "error") return null;
    return r;
  }

  /**
   * [rtpengine_manage(flags)] Kamailio's decision table: INVITE/UPDATE with SDP → offer (an ACK
   * with SDP, or a 1xx/2xx with SDP after an offer-less INVITE → answer / offer the other way round);
   * 1xx/2xx with SDP → answer; BYE, CANCEL, a failure route or a negative reply → delete.
   */
  manage(m: RtpMessage, flags?: string): Promise<number> | number {
    if (isReply(m)) {
      const method = m.msg.cseq.method;
      if (method !== "INVITE" && method !== "UPDATE" && method !== "PRACK") return -1;
      if (m.status >= 300) return method === "INVITE" && m.status !== 401 && m.status !== 407 ? this.delete(m, flags) : -1;
      if (!isSdp(m.msg.contentType, m.msg.body)) return -1;
      const late = m.request?.vars.get(LATE_VAR) === true;
      return this.sdpCommand(m, late ? "offer" : "answer", flags);
    }
    if (m.route === "failure") return this.delete(m, flags);
    const method = m.method;
    if (method === "BYE" || method === "CANCEL") return this.delete(m, flags);
    const sdp = isSdp(m.msg.contentType, m.msg.body);
    if (method === "INVITE" || method === "UPDATE") {
      if (!sdp) {
        if (method === "INVITE") m.vars.set(LATE_VAR, true);
        return -1;
      }
      return this.sdpCommand(m, "offer", flags);
    }
    if ((method === "ACK" || method === "PRACK") && sdp) return this.sdpCommand(m, "answer", flags);
    return -1;
  }
}
