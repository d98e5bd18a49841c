/**
 * NAT traversal end to end (default script NATDETECT / REGISTRAR / LOCATION / NATMANAGE / DLGURI
 * with nathelper): a phone behind a simulated NAT — private Contact and Via, sending from another
 * port — is registered with its source address as `received`, reached there by a sipp call whose
 * ACK and BYE follow the `;alias` the proxy put into the phone's 200, and kept open by
 * keep-alives (raw "\0\0\0\0" on schedule; OPTIONS pings, with the binding dropped once the
 * phone stops answering). Ports: a block of 100 from test/kit/ports.ts (freePortBlock).
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import net from "node:net";
import { startProxy } from "./helpers/proxy.js";
import { runSipp } from "./helpers/sipp.js";
import { UdpPeer, headerOf, statusOf } from "./helpers/udp-peer.js";
import type { DataPlane } from "../data-plane/node.js";
import { captureEvents, moduleApi, register, usrlocOf, waitFor } from "./scripts/registrar-helpers.js";
import type { NathelperApi } from "../data-plane/modules/nathelper/index.js";
import { freePortBlock } from "./kit/ports.js";
import { letTimePass } from "./kit/wait.js";

const P = await freePortBlock(100);
const PRIVATE = "192.168.1.20";

/** A phone behind NAT: its messages name 192.168.1.20:5060, they leave from 127.0.0.1:<port>. */
class NatPhone {
  answerOptions = true;
  readonly invites: string[] = [];
  readonly keepalives: Array<{ at: number; from: string; bytes: string }> = [];
  private constructor(readonly peer: UdpPeer) {
    peer.onMessage = (text, r) => this.onMessage(text, r);
  }

  static async open(port: number): Promise<NatPhone> {
    return new NatPhone(await UdpPeer.open(port));
  }

  private reply(text: string, code: number, reason: string, r: { address: string; port: number }, extra: string[] = []): void {
    const lines = text.split("\r\n");
    const keep = lines.filter((l) => /^(Via|From|Call-ID|CSeq|Record-Route):/i.test(l));
    const to = lines.find((l) => /^To:/i.test(l))!;
    const out = [`SIP/2.0 ${code} ${reason}`, ...keep, /;tag=/.test(to) ? to : `${to};tag=nat-phone`, ...extra, "Content-Length: 0", "", ""];
    this.peer.send(out.join("\r\n"), r.port, r.address);
  }

  private onMessage(text: string, r: { address: string; port: number }): void {
    if (text === "\0\0\0\0" || text === "\r\n\r\n") {
      this.keepalives.push({ at: Date.now(), from: `${r.address}:${r.port}`, bytes: text });
      return;
    }
    if (text.startsWith("INVITE")) {
      this.invites.push(text);
      this.reply(text, 200, "OK", r, [`Contact: <sip:natuser@${PRIVATE}:5060>`]);
    } else if (text.startsWith("BYE") || text.startsWith("MESSAGE")) this.reply(text, 200, "OK", r);
    else if (text.startsWith("OPTIONS") && this.answerOptions) this.reply(text, 200, "OK", r);
  }

  async register(proxyPort: number, user: string, callId: string, expires = 600): Promise<string> {
    this.peer.send(register({ user, proxyPort, viaHost: PRIVATE, viaPort: 5060, callId, cseq: 1, contacts: [`<sip:${user}@${PRIVATE}:5060>`], expires }), proxyPort);
    return this.peer.wait((t) => t.startsWith("SIP/2.0 200") && t.includes(`Call-ID: ${callId}\r\n`));
  }

  close(): void {
    this.peer.close();
  }
}

describe("a phone behind NAT", () => {
  let dp: DataPlane;
  let phone: NatPhone;
  beforeAll(async () => {
    dp = await startProxy({
      listen: [`udp:127.0.0.1:${P}`],
      modules: { usrloc: { nat_bflag: 6 }, registrar: {}, nathelper: { natping_interval: 1, ping_nated_only: 1 } },
    });
    phone = await NatPhone.open(P + 1);
  });
  afterAll(async () => {
    phone?.close();
    await dp?.stop();
  });

  it("is registered with its source address as received and the NAT branch flag", async () => {
    const ok = await phone.register(P, "natuser", "nat-reg-1");
    expect(headerOf(ok, "Contact")).toEqual([`<sip:natuser@${PRIVATE}:5060>;expires=600;received="sip:127.0.0.1:${P + 1}"`]);
    const b = usrlocOf(dp).table("location").valid("natuser")[0]!;
    expect(b.received).toBe(`sip:127.0.0.1:${P + 1}`);
    expect(b.cflags & (1 << 6)).not.toBe(0);
    expect(b.socket).toBe(`udp:127.0.0.1:${P}`);
  });

  it("is reached at its source address; ACK and BYE follow the alias added to its 200", async () => {
    const r = await runSipp({ scenario: "uac_rr.xml", port: P + 2, remote: `127.0.0.1:${P}`, calls: 3, rate: 3, service: "natuser" });
    expect(r.failed, r.errors + r.stderr).toBe(0);
    expect(r.successful).toBe(3);
    expect(phone.invites.length).toBe(3);
    // the INVITE still names the private contact; only the transport address was the NAT's
    expect(phone.invites[0]!.split("\r\n")[0]).toBe(`INVITE sip:natuser@${PRIVATE}:5060 SIP/2.0`);
    const byes = phone.peer.received.filter((m) => m.text.startsWith("BYE"));
    expect(byes.length).toBe(3);
    // the alias was consumed by handle_ruri_alias: the BYE's R-URI is the plain contact again
    expect(byes[0]!.text.split("\r\n")[0]).toBe(`BYE sip:natuser@${PRIVATE}:5060 SIP/2.0`);
    expect(byes[0]!.from).toBe(`127.0.0.1:${P}`);
  });

  it("hands the SDP of calls to a NATed phone to the media relay hook (sync and async relays)", async () => {
    const nat = moduleApi<NathelperApi>(dp, "nathelper");
    const seen: string[] = [];
    nat.setMediaRelay(({ sdp }) => {
      seen.push(sdp);
      return sdp.replace(/c=IN IP4 [^\r\n]+/g, "c=IN IP4 198.51.100.99");
    });
    let r = await runSipp({ scenario: "uac_rr.xml", port: P + 3, remote: `127.0.0.1:${P}`, calls: 1, service: "natuser" });
    expect(r.failed, r.errors + r.stderr).toBe(0);
    let inv = phone.invites.at(-1)!;
    let body = inv.slice(inv.indexOf("\r\n\r\n") + 4);
    expect(seen.length).toBe(1);
    expect(body).toContain("c=IN IP4 198.51.100.99");
    expect(Number(headerOf(inv, "Content-Length")[0])).toBe(Buffer.byteLength(body, "latin1"));
    nat.setMediaRelay(async ({ sdp }) => {
      await letTimePass(50, "a slow media relay");
      return sdp.replace(/m=audio \d+/, "m=audio 40000");
    });
    r = await runSipp({ scenario: "uac_rr.xml", port: P + 4, remote: `127.0.0.1:${P}`, calls: 1, service: "natuser" });
    expect(r.failed, r.errors + r.stderr).toBe(0);
    inv = phone.invites.at(-1)!;
    body = inv.slice(inv.indexOf("\r\n\r\n") + 4);
    expect(body).toContain("m=audio 40000 RTP/AVP 0");
    nat.setMediaRelay(null);
  });

  it("gets a keep-alive every second from the socket it registered through", async () => {
    phone.keepalives.length = 0;
    await letTimePass(3300, "three keep-alive periods of 1 s");
    const k = phone.keepalives;
    // one per second; a loaded machine may delay a tick, never add one
    expect(k.length).toBeGreaterThanOrEqual(2);
    expect(k.length).toBeLessThanOrEqual(5);
    expect(new Set(k.map((x) => x.from))).toEqual(new Set([`127.0.0.1:${P}`]));
    expect(k[0]!.bytes).toBe("\0\0\0\0");
    for (let i = 1; i < k.length; i++) {
      const gap = k[i]!.at - k[i - 1]!.at;
      expect(gap).toBeGreaterThan(600);
      expect(gap).toBeLessThan(2500);
    }
    expect(dp.stats.select("nathelper:natpings_sent")[0]![1]).toBeGreaterThanOrEqual(2);
  });

  it("stops the keep-alives with nathelper.enable_ping 0", async () => {
    await dp.rpc.call("nathelper.enable_ping", [0], { transport: "internal" });
    await letTimePass(300, "a keep-alive already under way is sent");
    phone.keepalives.length = 0;
    await letTimePass(1600, "a keep-alive would be sent within this");
    expect(phone.keepalives.length).toBe(0);
    await dp.rpc.call("nathelper.enable_ping", { enable: 1 }, { transport: "internal" });
    await expect(dp.rpc.call("nathelper.enable_ping", [2], { transport: "internal" })).rejects.toThrow(/'enable'/);
  });
});

describe("SIP pings and dropping silent contacts", () => {
  let dp: DataPlane;
  let phone: NatPhone;
  beforeAll(async () => {
    dp = await startProxy({
      listen: [`udp:127.0.0.1:${P + 10}`],
      modules: {
        usrloc: { nat_bflag: 6 },
        registrar: {},
        nathelper: { natping_interval: 1, ping_nated_only: 1, sipping_bflag: 7, keepalive_timeout: 2, sipping_timeout: 400, sipping_from: "sip:pinger@olelo.test" },
      },
      script: { settings: { natSipPing: true } },
    });
    phone = await NatPhone.open(P + 11);
  });
  afterAll(async () => {
    phone?.close();
    await dp?.stop();
  });

  it("pings with OPTIONS, records the answer, and removes the contact once it stays silent", async () => {
    const ok = await phone.register(P + 10, "pinged", "ping-reg-1");
    expect(statusOf(ok)).toBe(200);
    const b = usrlocOf(dp).table("location").valid("pinged")[0]!;
    expect(b.cflags & (1 << 7)).not.toBe(0);
    const opt = await phone.peer.wait((t) => t.startsWith("OPTIONS"), 3000);
    expect(opt.split("\r\n")[0]).toBe(`OPTIONS sip:pinged@${PRIVATE}:5060 SIP/2.0`);
    expect(headerOf(opt, "From")[0]).toMatch(/^<sip:pinger@olelo\.test>;tag=/);
    await waitFor(() => b.lastKeepalive > 0, 3000);
    expect(b.lastKeepalive).toBeGreaterThan(0);
    const ev = captureEvents(dp, ["registration.removed"]);
    phone.answerOptions = false;
    const t0 = Date.now();
    const gone = await waitFor(() => !usrlocOf(dp).table("location").has("pinged"), 8000, 50);
    ev.stop();
    expect(gone).toBe(true);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(1000);
    expect(ev.events[0]!.data).toMatchObject({ aor: "pinged", source: "keepalive" });
    expect(dp.stats.select("nathelper:keepalive_removed")[0]![1]).toBe(1);
    expect(dp.stats.select("nathelper:sipping_replies")[0]![1]).toBeGreaterThanOrEqual(1);
  });
});

describe("socket and transport of NATed phones", () => {
  let dp: DataPlane;
  let phone: NatPhone;
  let caller: UdpPeer;
  beforeAll(async () => {
    dp = await startProxy({
      listen: [`udp:127.0.0.1:${P + 20}`, `udp:127.0.0.1:${P + 21}`, `tcp:127.0.0.1:${P + 20}`],
      modules: { usrloc: { nat_bflag: 6 }, registrar: {}, nathelper: {} },
    });
    phone = await NatPhone.open(P + 22);
    caller = await UdpPeer.open(P + 23);
  });
  afterAll(async () => {
    phone?.close();
    caller?.close();
    await dp?.stop();
  });

  const message = (user: string, callId: string) => {
    caller.send(
      [
        `MESSAGE sip:${user}@127.0.0.1:${P + 20} SIP/2.0`,
        `Via: SIP/2.0/UDP 127.0.0.1:${P + 23};branch=z9hG4bK-${callId};rport`,
        `From: <sip:caller@127.0.0.1>;tag=c1`,
        `To: <sip:${user}@127.0.0.1>`,
        `Call-ID: ${callId}`,
        `CSeq: 1 MESSAGE`,
        `Max-Forwards: 70`,
        `Content-Length: 0`,
        ``,
        ``,
      ].join("\r\n"),
      P + 20,
    );
    return caller.wait((t) => t.startsWith("SIP/2.0 2") && t.includes(`Call-ID: ${callId}\r\n`));
  };

  it("sends to the phone from the socket it registered through, whichever socket the request came in on", async () => {
    await phone.register(P + 21, "twosock", "two-reg-1");
    expect(usrlocOf(dp).table("location").valid("twosock")[0]!.socket).toBe(`udp:127.0.0.1:${P + 21}`);
    phone.peer.received.length = 0;
    await message("twosock", "two-m1");
    const got = phone.peer.received.find((m) => m.text.startsWith("MESSAGE"))!;
    expect(got.from).toBe(`127.0.0.1:${P + 21}`);
  });

  it("reaches a TCP phone behind NAT over the connection it registered on", async () => {
    const sock = net.connect(P + 20, "127.0.0.1");
    await new Promise<void>((r) => sock.once("connect", () => r()));
    let buf = "";
    const msgs: string[] = [];
    sock.on("data", (d) => {
      buf += d.toString("latin1");
      for (let end = buf.indexOf("\r\n\r\n"); end >= 0; end = buf.indexOf("\r\n\r\n")) {
        const head = buf.slice(0, end + 4);
        const len = Number(/\r\nContent-Length: *(\d+)/i.exec(head)?.[1] ?? 0);
        if (buf.length < end + 4 + len) break;
        msgs.push(buf.slice(0, end + 4 + len));
        buf = buf.slice(end + 4 + len);
        const m = msgs[msgs.length - 1]!;
        if (m.startsWith("MESSAGE")) {
          const keep = m.split("\r\n").filter((l) => /^(Via|From|Call-ID|CSeq):/i.test(l));
          const to = m.split("\r\n").find((l) => /^To:/i.test(l))!;
          sock.write(["SIP/2.0 200 OK", ...keep, `${to};tag=tcp-phone`, "Content-Length: 0", "", ""].join("\r\n"));
        }
      }
    });
    const local = sock.localPort!;
    sock.write(
      register({ user: "tcpnat", proxyPort: P + 20, viaHost: PRIVATE, viaPort: 5060, callId: "tcp-reg-1", cseq: 1, contacts: [`<sip:tcpnat@${PRIVATE}:5060;transport=tcp>`], expires: 600 }).replace(
        "SIP/2.0/UDP",
        "SIP/2.0/TCP",
      ),
    );
    expect(await waitFor(() => msgs.some((m) => m.startsWith("SIP/2.0 200")), 3000)).toBe(true);
    const b = usrlocOf(dp).table("location").valid("tcpnat")[0]!;
    expect(b.received).toBe(`sip:127.0.0.1:${local};transport=tcp`);
    expect(b.socket).toBe(`tcp:127.0.0.1:${P + 20}`);
    const ok = await message("tcpnat", "tcp-m1");
    expect(statusOf(ok)).toBe(200);
    expect(msgs.find((m) => m.startsWith("MESSAGE"))!.split("\r\n")[0]).toBe(`MESSAGE sip:tcpnat@${PRIVATE}:5060;transport=tcp SIP/2.0`);
    sock.destroy();
  });
});
