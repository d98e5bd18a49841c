import { randomBytes } from "node:crypto";
import type { SipUac, SipMessageView, UacResult } from "../../../core/api.js";
import { UACREG_DISABLED, type UacRegRow } from "../../../../tables/uacreg/uacreg-table.js";
import { answerChallenge, algorithmRank, parseChallenge } from "../challenge.js";

/**
 * One remote registration (Kamailio uac_reg): REGISTER to the carrier, answer its 401/407 with
 * the row's credentials, refresh before the granted lifetime ends, and retry failures with an
 * exponential back-off. The state flags are Kamailio's (uac.reg_info): 1 disabled, 2 ongoing,
 * 4 online, 8 authentication sent, 16 initialised.
 */

export const REG_DISABLED = 1;
export const REG_ONGOING = 2;
export const REG_ONLINE = 4;
export const REG_AUTHSENT = 8;
export const REG_INIT = 16;

export interface RegSettings {
  readonly timerInterval: number;
  readonly retryInterval: number;
  readonly retryMax: number;
  readonly randomDelay: number;
  readonly contactAddr: string;
  readonly keepCallId: boolean;
  readonly defaultSocket: string;
  readonly timeoutMs: number;
}

export interface RegEvents {
  readonly sip: SipUac;
  readonly settings: RegSettings;
  /** Whether registrations are sent at all (reg_active). */
  active(): boolean;
  count(name: "registered" | "refreshed" | "failed" | "auth_sent"): void;
  readonly log: { info(msg: string, data?: Record<string, unknown>): void };
}

const token = () => randomBytes(8).toString("hex");

export class Registration {
  flags = 0;
  callId = token();
  cseq = 0;
  fromTag = token();
  /** Epoch ms at which the current registration runs out (0 = none). */
  expiresAt = 0;
  /** Lifetime the registrar granted last (seconds). */
  granted = 0;
  /** Epoch ms of the next REGISTER (0 = none scheduled). */
  nextAt = 0;
  failures = 0;
  lastCode = 0;
  lastReason = "";
  lastRegistered = 0;
  registrations = 0;
  private timer: NodeJS.Timeout | null = null;
  private stopped = false;

  constructor(
    public row: UacRegRow,
    private readonly ev: RegEvents,
  ) {
    if (row.flags & UACREG_DISABLED) this.flags |= REG_DISABLED;
  }

  get registers(): boolean {
    return this.row.expires > 0;
  }

  get online(): boolean {
    return (this.flags & REG_ONLINE) !== 0 && this.expiresAt > Date.now();
  }

  /** Kamailio's uac_reg_status: 1 registered, -2 ongoing, -3 disabled, -99 waiting for the next attempt. */
  status(): number {
    if (this.flags & REG_DISABLED) return -3;
    if (this.online) return 1;
    if (this.flags & REG_ONGOING) return -2;
    return -99;
  }

  /** Schedules the first REGISTER after reg_delay (or a random delay). */
  start(): void {
    this.flags |= REG_INIT;
    if (!this.registers || this.flags & REG_DISABLED) return;
    let delay = this.row.reg_delay;
    if (delay === 0 && this.ev.settings.randomDelay > 0) delay = Math.floor(Math.random() * (this.ev.settings.randomDelay + 1));
    this.schedule(delay * 1000);
  }

  stop(): void {
    this.stopped = true;
    this.clear();
  }

  enable(): void {
    this.flags &= ~REG_DISABLED;
    this.failures = 0;
    if (this.registers && !(this.flags & REG_ONGOING)) this.schedule(0);
  }

  disable(): void {
    this.flags |= REG_DISABLED;
    this.flags &= ~REG_ONLINE;
    this.expiresAt = 0;
    this.clear();
  }

  /** Sends a REGISTER now (uac.reg_refresh / reg_enable); false when one is under way or the row does not register. */
  refreshNow(): boolean {
    if (!this.registers || this.flags & (REG_ONGOING | REG_DISABLED)) return false;
    this.schedule(0);
    return true;
  }

  private clear(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.nextAt = 0;
  }

  private schedule(ms: number): void {
    this.clear();
    if (this.stopped) return;
    this.nextAt = Date.now() + ms;
    this.timer = setTimeout(() => {
      this.timer = null;
      this.nextAt = 0;
      void this.register();
    }, ms);
    this.timer.unref?.();
  }

  private request(auth: [string, string] | null): Promise<UacResult> {
    const r = this.row;
    const s = this.ev.settings;
    this.cseq++;
    const aor = `sip:${r.r_username}@${r.r_domain}`;
    const contactHost = r.contact_addr || s.contactAddr || undefined;
    const socket = r.socket || s.defaultSocket || undefined;
    return this.ev.sip.request({
      method: "REGISTER",
      uri: `sip:${r.r_domain}`,
      destination: r.auth_proxy || undefined,
      from: aor,
      to: aor,
      callId: this.callId,
      cseq: this.cseq,
      fromTag: this.fromTag,
      contactUser: r.l_uuid,
      contactHost,
      socket,
      timeoutMs: s.timeoutMs,
      headers: auth ? { Expires: String(r.expires), [auth[0]]: auth[1] } : { Expires: String(r.expires) },
    });
  }

  /** One registration attempt, with at most one answered challenge (a second one is a failure). */
  async register(): Promise<void> {
    if (this.stopped || this.flags & (REG_ONGOING | REG_DISABLED)) return;
    if (!this.ev.active()) {
      this.schedule(this.ev.settings.timerInterval * 1000);
      return;
    }
    this.flags |= REG_ONGOING;
    this.flags &= ~REG_AUTHSENT;
    const wasOnline = this.online;
    if (!this.ev.settings.keepCallId || this.failures > 0) {
      this.callId = token();
      this.fromTag = token();
    }
    try {
      let res = await this.request(null);
      if ((res.code === 401 || res.code === 407) && res.reply && !this.stopped) {
        const auth = this.answer(res.code, res.reply);
        if (auth) {
          this.flags |= REG_AUTHSENT;
          this.ev.count("auth_sent");
          res = await this.request(auth);
        }
      }
      if (this.stopped) return;
      this.lastCode = res.code;
      this.lastReason = res.reason;
      if (res.code >= 200 && res.code < 300) this.succeeded(res.reply ?? null, wasOnline);
      else this.failed(res.code, res.reason);
    } finally {
      this.flags &= ~REG_ONGOING;
    }
  }

  private answer(code: number, reply: SipMessageView): [string, string] | null {
    const r = this.row;
    if (!r.auth_username || (!r.auth_password && !r.auth_ha1)) return null;
    let best: string | null = null;
    let rank = 0;
    for (const v of reply.headerAll(code === 401 ? "www-authenticate" : "proxy-authenticate")) {
      const ch = parseChallenge(v);
      if (!ch || (r.realm && r.realm !== ch.realm)) continue;
      const cred = r.auth_ha1 ? { username: r.auth_username, ha1: r.auth_ha1 } : { username: r.auth_username, password: r.auth_password };
      const value = answerChallenge(ch, cred, { method: "REGISTER", uri: `sip:${r.r_domain}` });
      const k = algorithmRank(ch.algorithm);
      if (value && k > rank) {
        best = value;
        rank = k;
      }
    }
    return best ? [code === 401 ? "Authorization" : "Proxy-Authorization", best] : null;
  }

  private succeeded(reply: SipMessageView | null, wasOnline: boolean): void {
    const granted = reply ? grantedExpires(reply, this.row.l_uuid, this.row.expires) : this.row.expires;
    if (granted <= 0) {
      // the registrar removed our binding (or lists none): try again as after a failure
      this.failed(200, "no binding in the reply");
      return;
    }
    this.failures = 0;
    this.granted = granted;
    this.flags |= REG_ONLINE;
    this.lastRegistered = Date.now();
    this.expiresAt = this.lastRegistered + granted * 1000;
    this.registrations++;
    this.ev.count(wasOnline ? "refreshed" : "registered");
    // refresh reg_timer_interval before the end, and never later than half-way
    const before = Math.min(this.ev.settings.timerInterval, granted / 2);
    this.schedule(Math.max(500, (granted - before) * 1000));
  }

  private failed(code: number, reason: string): void {
    this.failures++;
    this.ev.count("failed");
    if (this.expiresAt <= Date.now()) this.flags &= ~REG_ONLINE;
    this.ev.log.info("uac: registration failed", { l_uuid: this.row.l_uuid, code, reason, failures: this.failures });
    const s = this.ev.settings;
    if (s.retryInterval === 0) return;
    const delay = Math.min(s.retryMax, s.retryInterval * 2 ** Math.min(this.failures - 1, 20));
    this.schedule(delay * 1000);
  }

  /** The row as uac.reg_dump / uac.reg_info show it (Kamailio's fields plus Olelo's state). */
  describe(): Record<string, string | number> {
    const r = this.row;
    const now = Date.now();
    return {
      l_uuid: r.l_uuid,
      l_username: r.l_username,
      l_domain: r.l_domain,
      r_username: r.r_username,
      r_domain: r.r_domain,
      realm: r.realm,
      auth_username: r.auth_username,
      auth_password: r.auth_password ? "********" : "",
      auth_ha1: r.auth_ha1 ? "********" : "",
      auth_proxy: r.auth_proxy,
      expires: r.expires,
      flags: this.flags,
      diff_expires: this.expiresAt > now ? Math.round((this.expiresAt - now) / 1000) : 0,
      timer_expires: Math.round(this.expiresAt / 1000),
      reg_init: this.flags & REG_INIT ? 1 : 0,
      reg_delay: r.reg_delay,
      contact_addr: r.contact_addr,
      socket: r.socket,
      state: this.flags & REG_DISABLED ? "disabled" : this.online ? "registered" : this.flags & REG_ONGOING ? "registering" : this.registers ? "unregistered" : "credentials",
      last_code: this.lastCode,
      last_reason: this.lastReason,
      failures: this.failures,
      registrations: this.registrations,
      granted: this.granted,
      next_register_in: this.nextAt > now ? Math.round((this.nextAt - now) / 1000) : 0,
      call_id: this.callId,
    };
  }
}

/**
 * The lifetime the registrar granted our binding (RFC 3261 §10.2.4): the expires parameter of our
 * Contact in the 2xx, else the Expires header, else what we asked for; 0 when the 2xx lists
 * bindings but not ours.
 */
export function grantedExpires(reply: SipMessageView, user: string, asked: number): number {
  let contacts: ReturnType<SipMessageView["contacts"]>;
  try {
    contacts = reply.contacts();
  } catch {
    contacts = [];
  }
  const header = reply.header("expires");
  const fallback = header !== null && /^\d+$/.test(header.trim()) ? Number(header.trim()) : asked;
  if (contacts === "*" || contacts.length === 0) return fallback;
  for (const c of contacts) {
    const uri = c.uriText;
    if (!new RegExp(`^sips?:${escapeRe(user)}@`, "i").test(uri)) continue;
    const e = c.params.get("expires");
    if (e !== undefined && /^\d+$/.test(e)) return Number(e);
    return fallback;
  }
  return 0;
}

function escapeRe(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}
