import type { FailureContext, ReplyEditor } from "../../core/api.js";
import { splitUri } from "../../core/kit/index.js";
import type { UacRegTable } from "../../../tables/uacreg/uacreg-table.js";
import { algorithmRank, answerChallenge, parseChallenge, type ClientCredentials, type DigestChallenge } from "./challenge.js";
import type { StaticCredential } from "./params.js";

/**
 * uac_auth(): in a failure route, answer the carrier's 401/407 with credentials and prepare the
 * request for t_relay — Authorization / Proxy-Authorization added, CSeq raised by one per answer
 * (RFC 3261 §22.2 / §8.1.3.5). The caller keeps its own CSeq: replies of this transaction get the
 * original CSeq back, and the offset travels in the Record-Route (`uacs`) for uac.inDialog().
 */

/** Script-given credentials (Kamailio's auth_username_avp / auth_password_avp / auth_realm_avp). */
export interface AuthOptions {
  readonly username?: string;
  readonly password?: string;
  /** Only answer a challenge of this realm ("" / absent = the challenge's realm). */
  readonly realm?: string;
  /** 1: `password` is H(A1) (Kamailio uac_auth mode 1). */
  readonly mode?: 0 | 1;
}

export interface AuthDeps {
  table(): UacRegTable;
  readonly credential: readonly StaticCredential[];
  readonly stats: { inc(name: string): void };
  readonly log: { info(msg: string, data?: Record<string, unknown>): void };
}

/** req.vars keys of the transaction. */
const SHIFT = "uac:cseq-shift";
const OBSERVED = "uac:cseq-observed";
/** Answers per transaction (a stale nonce and a proxy + registrar challenge fit). */
export const MAX_ANSWERS = 3;
export const FTAG_SET = "uac:ftag";

/** Where a credential for a realm comes from: script, uacreg row, then the credential param. */
function findCredentials(f: FailureContext, ch: DigestChallenge, d: AuthDeps, o: AuthOptions): ClientCredentials | null {
  if (o.username !== undefined && o.password !== undefined) {
    if (o.realm && o.realm !== ch.realm) return null;
    return o.mode === 1 ? { username: o.username, ha1: o.password } : { username: o.username, password: o.password };
  }
  const host = (splitUri(f.dst ?? f.ruri)?.host ?? "").toLowerCase();
  const row = d.table().credentialsFor(ch.realm, host || null);
  if (row) return row.auth_ha1 ? { username: row.auth_username, ha1: row.auth_ha1 } : { username: row.auth_username, password: row.auth_password };
  const c = d.credential.find((x) => x.realm === ch.realm);
  return c ? { username: c.username, password: c.password } : null;
}

/** Kamailio's uac_auth return codes: 1 credentials added (relay next), -1 nothing to answer / no credentials. */
export function uacAuth(f: FailureContext, d: AuthDeps, o: AuthOptions = {}): number {
  const reply = f.replyMsg;
  const code = f.replyCode;
  if (!reply || (code !== 401 && code !== 407)) return -1;
  // a carrier that keeps challenging (wrong password) is not answered forever
  if (((f.vars.get(SHIFT) as number | undefined) ?? 0) >= MAX_ANSWERS) return -1;
  const hdr = code === 401 ? "www-authenticate" : "proxy-authenticate";
  const challenges: DigestChallenge[] = [];
  for (const v of reply.headerAll(hdr)) {
    const ch = parseChallenge(v);
    if (ch) challenges.push(ch);
  }
  if (challenges.length === 0) {
    d.log.info("uac_auth: no Digest challenge in the reply", { code, callId: f.msg.callId });
    return -1;
  }
  // the strongest algorithm we hold credentials for (RFC 8760 §2.4)
  let value: string | null = null;
  let rank = 0;
  for (const ch of challenges) {
    const cred = findCredentials(f, ch, d, o);
    if (!cred) continue;
    const v = answerChallenge(ch, cred, { method: f.method, uri: f.ruri });
    const r = algorithmRank(ch.algorithm);
    if (v && r > rank) {
      value = v;
      rank = r;
    }
  }
  if (!value) {
    d.stats.inc("auth_failed");
    d.log.info("uac_auth: no credentials for the challenge", { realm: challenges[0]!.realm, callId: f.msg.callId });
    return -1;
  }
  const orig = f.msg.cseq.seq;
  const shift = ((f.vars.get(SHIFT) as number | undefined) ?? 0) + 1;
  f.vars.set(SHIFT, shift);
  f.setHeader(code === 401 ? "Authorization" : "Proxy-Authorization", value);
  f.setHeader("CSeq", `${orig + shift} ${f.method}`);
  // the offset is for the dialog: later requests of the caller are shifted by uac.inDialog()
  if (f.method === "INVITE" || f.method === "SUBSCRIBE" || f.method === "REFER") {
    if (!f.vars.get(FTAG_SET) && f.msg.fromTag) {
      f.vars.set(FTAG_SET, true);
      f.recordRoute(`uacf=${f.msg.fromTag}`);
    }
    f.recordRoute(`uacs=${shift}`);
  }
  if (!f.vars.get(OBSERVED)) {
    f.vars.set(OBSERVED, true);
    const method = f.method;
    f.observeTransaction({
      replyReceived(r: ReplyEditor) {
        if (r.msg.cseq.seq !== orig) r.setHeader("CSeq", `${orig} ${method}`);
      },
    });
  }
  d.stats.inc("auth_sent");
  return 1;
}
