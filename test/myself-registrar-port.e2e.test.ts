/**
 * The edge-registrar example on a port other than 5060, started as users start it (`npm start --
 * --config etc/examples/edge-registrar.json --listen ...`): a phone registering to the port-less
 * alias sip.example.com with a correct digest gets 200, not "403 Not relaying" (issue 20 §3).
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createHash } from "node:crypto";
import { spawnCommand, waitUntil, type TestProcess } from "./helpers/processes.js";
import { UdpPeer, headerOf, statusOf } from "./helpers/udp-peer.js";
import { freePortBlock } from "./kit/ports.js";

const md5 = (s: string): string => createHash("md5").update(s).digest("hex");

describe("edge-registrar example on a non-5060 port", () => {
  let sip = 0;
  let proc: TestProcess;
  let peer: UdpPeer;
  beforeAll(async () => {
    sip = await freePortBlock(1); // below the ephemeral range: the child process binds it later
    proc = spawnCommand("npm start", "npm", ["start", "--", "--config", "etc/examples/edge-registrar.json", "--listen", `udp:127.0.0.1:${sip}`, "--control", "off"]);
    peer = await UdpPeer.open(0);
    await waitUntil("npm start", () => proc.log().includes("olelo data plane running"), 30_000, [proc]);
  }, 60_000);
  afterAll(async () => {
    peer?.close();
    await proc?.stop();
  });

  const register = (cseq: number, callId: string, auth?: string): string =>
    [
      `REGISTER sip:sip.example.com SIP/2.0`,
      `Via: SIP/2.0/UDP 127.0.0.1:${peer.port};rport;branch=z9hG4bK-my-${cseq}-${process.pid}`,
      `Max-Forwards: 70`,
      `From: <sip:alice@sip.example.com>;tag=my1`,
      `To: <sip:alice@sip.example.com>`,
      `Call-ID: ${callId}`,
      `CSeq: ${cseq} REGISTER`,
      `Contact: <sip:alice@127.0.0.1:${peer.port}>`,
      `Expires: 60`,
      ...(auth ? [`Authorization: ${auth}`] : []),
      `Content-Length: 0`,
      ``,
      ``,
    ].join("\r\n");

  it("answers a correct digest with 200 and the binding", async () => {
    const callId = `myself-${process.pid}@test`;
    peer.send(register(1, callId), sip);
    const challenge = await peer.wait((t) => t.includes(callId) && statusOf(t) === 401, 5000);
    const www = headerOf(challenge, "www-authenticate").find((h) => /algorithm=MD5/i.test(h) || !/algorithm=/i.test(h))!;
    const realm = /realm="([^"]+)"/.exec(www)![1]!;
    const nonce = /nonce="([^"]+)"/.exec(www)![1]!;
    const qop = /qop="([^"]+)"/.exec(www)?.[1];
    const uri = "sip:sip.example.com";
    const ha1 = md5(`alice:${realm}:alice-secret`);
    const ha2 = md5(`REGISTER:${uri}`);
    const cnonce = "0a4f113b";
    const nc = "00000001";
    const response = qop ? md5(`${ha1}:${nonce}:${nc}:${cnonce}:auth:${ha2}`) : md5(`${ha1}:${nonce}:${ha2}`);
    const auth =
      `Digest username="alice", realm="${realm}", nonce="${nonce}", uri="${uri}", response="${response}", algorithm=MD5` +
      (qop ? `, qop=auth, nc=${nc}, cnonce="${cnonce}"` : "");
    peer.send(register(2, callId, auth), sip);
    const ok = await peer.wait((t) => t.includes(callId) && /^SIP\/2\.0 [2-6]/.test(t) && t.includes("CSeq: 2 "), 5000);
    expect(ok.split("\r\n")[0]).toBe("SIP/2.0 200 OK");
    expect(headerOf(ok, "contact").join(",")).toContain(`127.0.0.1:${peer.port}`);
  });
});
