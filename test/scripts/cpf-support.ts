/**
 * Helpers of test/control-plane-features.test.ts (not a routing script): the MariaDB test
 * database (olelo_test_feat*), a registered SIP phone that records the INVITEs it gets and
 * answers each with 486 (so a call ends at once and the test sees which phone it reached), and a
 * caller that sends one INVITE and returns the final status code (ACKing a non-2xx, RFC 3261
 * §17.1.1.3).
 *
 * @example
 *   const bob = await Phone.open(26020, "bob"); await bob.register(dpPort);
 *   const caller = await Caller.open(26030);
 *   const r = await caller.call(dpPort, "bob", "alice"); // { code: 486, callId }
 *   bob.got(r.callId); // true
 */
import mysql from "mysql2/promise";
import { UdpPeer, headerOf, statusOf } from "../helpers/udp-peer.js";

/** Creates (dropping first) the MariaDB database `olelo_test_feat*`; returns a root connection using it. */
export async function freshFeatDatabase(name: string): Promise<mysql.Connection> {
  if (!/^olelo_test_feat\w*$/.test(name)) throw new Error(`refusing to recreate '${name}'`);
  const admin = await mysql.createConnection({ host: "127.0.0.1", port: 3306, user: "root" });
  await admin.query(`DROP DATABASE IF EXISTS \`${name}\``);
  await admin.query(`CREATE DATABASE \`${name}\` CHARACTER SET utf8mb4`);
  await admin.query(`USE \`${name}\``);
  return admin;
}

/** Drops a database `olelo_test_feat*`. */
export async function dropFeatDatabase(admin: mysql.Connection | undefined, name: string): Promise<void> {
  if (!/^olelo_test_feat\w*$/.test(name)) throw new Error(`refusing to drop '${name}'`);
  await admin?.query(`DROP DATABASE IF EXISTS \`${name}\``);
}

let seq = 0;
const rand = () => Math.random().toString(36).slice(2, 10);

/** The Call-ID of a SIP message ("" when absent). */
function callIdOf(text: string): string {
  return (headerOf(text, "Call-ID")[0] ?? headerOf(text, "i")[0] ?? "").trim();
}

/** A header's values under its full or compact name (RFC 3261 §7.3.3). */
function values(text: string, name: string, compact: string): string[] {
  const full = headerOf(text, name);
  return full.length ? full : headerOf(text, compact);
}

/** A phone registered as `user` that answers every INVITE with 486 and remembers it. */
export class Phone {
  /** Call-ID → R-URI of each INVITE received. */
  readonly invites = new Map<string, string>();

  private constructor(
    readonly peer: UdpPeer,
    readonly user: string,
  ) {
    peer.onMessage = (text, r) => {
      if (!text.startsWith("INVITE ")) return;
      const callId = callIdOf(text);
      if (!this.invites.has(callId)) this.invites.set(callId, text.slice(7, text.indexOf(" SIP/2.0")));
      const to = values(text, "To", "t")[0] ?? "";
      const reply = [
        "SIP/2.0 486 Busy Here",
        ...values(text, "Via", "v").map((v) => `Via: ${v}`),
        `From: ${values(text, "From", "f")[0] ?? ""}`,
        `To: ${to}${/;tag=/i.test(to) ? "" : `;tag=ph-${user}`}`,
        `Call-ID: ${callId}`,
        `CSeq: ${headerOf(text, "CSeq")[0] ?? ""}`,
        "Content-Length: 0",
        "",
        "",
      ].join("\r\n");
      peer.send(reply, r.port, r.address);
    };
  }

  static async open(port: number, user: string): Promise<Phone> {
    return new Phone(await UdpPeer.open(port), user);
  }

  /** REGISTERs `user` at the proxy with this phone's address as Contact; resolves on 200. */
  async register(proxyPort: number, expires = 3600): Promise<void> {
    const n = ++seq;
    const callId = `cpf-reg-${this.user}-${n}-${rand()}`;
    this.peer.send(
      [
        `REGISTER sip:127.0.0.1:${proxyPort} SIP/2.0`,
        `Via: SIP/2.0/UDP 127.0.0.1:${this.peer.port};branch=z9hG4bK-cpfreg${n}${rand()};rport`,
        `From: <sip:${this.user}@127.0.0.1>;tag=reg${n}`,
        `To: <sip:${this.user}@127.0.0.1>`,
        `Call-ID: ${callId}`,
        `CSeq: ${n} REGISTER`,
        `Contact: <sip:${this.user}@127.0.0.1:${this.peer.port}>`,
        `Expires: ${expires}`,
        "Max-Forwards: 70",
        "Content-Length: 0",
        "",
        "",
      ].join("\r\n"),
      proxyPort,
    );
    const res = await this.peer.wait((t) => t.startsWith("SIP/2.0 ") && callIdOf(t) === callId && statusOf(t) >= 200, 5000);
    if (statusOf(res) !== 200) throw new Error(`REGISTER ${this.user}: ${res.split("\r\n")[0]}`);
  }

  /** Whether the INVITE of this call reached the phone. */
  got(callId: string): boolean {
    return this.invites.has(callId);
  }

  close(): void {
    this.peer.close();
  }
}

/** Result of one call attempt. */
export interface CallResult {
  readonly code: number;
  readonly reason: string;
  readonly callId: string;
}

/** A UA that places single INVITEs and waits for their final answer. */
export class Caller {
  private constructor(readonly peer: UdpPeer) {}

  static async open(port: number): Promise<Caller> {
    return new Caller(await UdpPeer.open(port));
  }

  /**
   * INVITE sip:<user>@127.0.0.1:<proxyPort> from sip:<fromUser>@127.0.0.1; resolves with the
   * final status (a non-2xx is ACKed). Rejects when no final answer comes within `timeoutMs`.
   */
  async call(proxyPort: number, user: string, fromUser: string, timeoutMs = 4000): Promise<CallResult> {
    const n = ++seq;
    const ruri = `sip:${user}@127.0.0.1:${proxyPort}`;
    const callId = `cpf-${n}-${rand()}@127.0.0.1`;
    const via = `Via: SIP/2.0/UDP 127.0.0.1:${this.peer.port};branch=z9hG4bK-cpf${n}${rand()};rport`;
    const from = `From: <sip:${fromUser}@127.0.0.1>;tag=cpf${n}`;
    const common = (method: string, to: string) =>
      [`${method} ${ruri} SIP/2.0`, via, from, `To: ${to}`, `Call-ID: ${callId}`, `CSeq: 1 ${method}`, "Max-Forwards: 70"];
    this.peer.send([...common("INVITE", `<${ruri}>`), `Contact: <sip:${fromUser}@127.0.0.1:${this.peer.port}>`, "Content-Length: 0", "", ""].join("\r\n"), proxyPort);
    const res = await this.peer.wait((t) => t.startsWith("SIP/2.0 ") && callIdOf(t) === callId && statusOf(t) >= 200, timeoutMs);
    const code = statusOf(res);
    if (code >= 300) this.peer.send([...common("ACK", values(res, "To", "t")[0] ?? `<${ruri}>`), "Content-Length: 0", "", ""].join("\r\n"), proxyPort);
    const first = res.slice(0, res.indexOf("\r\n"));
    return { code, reason: first.split(" ").slice(2).join(" "), callId };
  }

  close(): void {
    this.peer.close();
  }
}
