/**
 * prefix_route and mtree end to end over real sockets: sipp callers and gateways, tables from
 * JSON table files.
 * - prefix_route: the longest prefix names a route of the script (test/scripts/routing-prefix-route.ts),
 *   which tries its destinations in order;
 * - mtree: the DID's longest prefix in tree "did" gives the customer, whose destinations take the
 *   call (test/scripts/routing-mtree.ts).
 * A 503 or a silent destination moves the call to the next one. Ports: a block of 100 from test/kit/ports.ts (freePortBlock).
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { join } from "node:path";
import type { DataPlane } from "../data-plane/node.js";
import { TEST_SCRIPTS, startProxy } from "./helpers/proxy.js";
import { UdpPeer, firstLine, request, statusOf } from "./helpers/udp-peer.js";
import { rpc, runCalls, startGateway, tableDir, tally, writeTableFile, type Gateway } from "./scripts/routing-support.js";
import { freePortBlock } from "./kit/ports.js";

const BASE = await freePortBlock(100); // this file's ports: BASE … BASE + 99

describe("prefix_route → named route, mtree DID → customer", () => {
  const PR_PROXY = BASE;
  const PR_CONTROL = BASE + 1;
  const MT_PROXY = BASE + 2;
  const MT_CONTROL = BASE + 3;
  const [A, B, C, D, E] = [BASE + 10, BASE + 11, BASE + 12, BASE + 13, BASE + 14];
  const uri = (p: number) => `sip:127.0.0.1:${p}`;
  let pr: DataPlane;
  let mt: DataPlane;
  const gws = new Map<number, Gateway>();
  let silent: UdpPeer;

  beforeAll(async () => {
    for (const p of [A, B, E]) gws.set(p, await startGateway(p));
    gws.set(C, await startGateway(C, "rt_uas_503.xml"));
    silent = await UdpPeer.open(D);
    const dir = tableDir("pr-mt");
    writeTableFile(join(dir, "prefix_route.json"), {
      prefix_route: [
        { prefix: "49", route: "GERMANY", comment: "" },
        { prefix: "4930", route: "BERLIN", comment: "" },
        { prefix: "44", route: "UK", comment: "" },
        { prefix: "33", route: "FRANCE", comment: "" },
      ],
    });
    writeTableFile(join(dir, "mtree.json"), {
      mtrees: [
        { id: 1, tname: "did", tprefix: "4961", tvalue: "acme" },
        { id: 2, tname: "did", tprefix: "496110", tvalue: "globex" },
        { id: 3, tname: "did", tprefix: "4962", tvalue: "initech" },
      ],
    });
    const core = { tm: { frTimer: 1000, frInvTimer: 5000 } };
    pr = await startProxy({
      listen: [`udp:127.0.0.1:${PR_PROXY}`],
      control: { listen: `127.0.0.1:${PR_CONTROL}` },
      script: {
        file: join(TEST_SCRIPTS, "routing-prefix-route.ts"),
        settings: { destinations: { GERMANY: [uri(A)], BERLIN: [uri(B), uri(A)], UK: [uri(C), uri(E)], FRANCE: [uri(D), uri(E)] } },
      },
      modules: { prefix_route: { routes: ["GERMANY", "BERLIN", "UK", "FRANCE"] } },
      tables: { prefix_route: join(dir, "prefix_route.json") },
      core,
    });
    mt = await startProxy({
      listen: [`udp:127.0.0.1:${MT_PROXY}`],
      control: { listen: `127.0.0.1:${MT_CONTROL}` },
      script: {
        file: join(TEST_SCRIPTS, "routing-mtree.ts"),
        settings: { customers: { acme: [uri(A)], globex: [uri(C), uri(B)], initech: [uri(D), uri(E)] } },
      },
      modules: { mtree: {} },
      tables: { mtree: join(dir, "mtree.json") },
      core,
    });
  }, 30_000);

  afterAll(async () => {
    await pr?.stop();
    await mt?.stop();
    silent?.close();
    for (const g of gws.values()) await g.stop();
  });

  it("sends each number to the destinations of its route / customer, failing over; 0 failed", async () => {
    const prCalls: string[] = [];
    const mtCalls: string[] = [];
    for (let i = 0; i < 3; i++) {
      prCalls.push(`4912${i}`, `49301${i}`, `4477${i}`);
      mtCalls.push(`49612${i}`, `496110${i}`);
    }
    prCalls.push("33120", "33121");
    mtCalls.push("496250", "496251");
    const [r1, r2] = await Promise.all([
      runCalls({ port: BASE + 20, proxy: PR_PROXY, calls: prCalls, rate: 20 }),
      runCalls({ port: BASE + 21, proxy: MT_PROXY, calls: mtCalls, rate: 20 }),
    ]);
    expect(r1.failed, r1.errors + r1.stderr).toBe(0);
    expect(r1.successful).toBe(prCalls.length);
    expect(r2.failed, r2.errors + r2.stderr).toBe(0);
    expect(r2.successful).toBe(mtCalls.length);

    const users = (p: number) => Object.keys(tally(gws.get(p)!.invitedUsers())).sort();
    // prefix_route: 49 → GERMANY (A), 4930 → BERLIN (B first); mtree: 4961 → acme (A), 496110 → globex (C, then B)
    expect(users(A)).toEqual(["49120", "49121", "49122", "496120", "496121", "496122"]);
    expect(users(B)).toEqual(["493010", "493011", "493012", "4961100", "4961101", "4961102"]);
    // C answers 503: UK moves on to E, globex to B
    expect(users(C)).toEqual(["44770", "44771", "44772", "4961100", "4961101", "4961102"]);
    // D is silent: FRANCE and initech move on to E
    const atD = new Set(silent.received.filter((m) => m.text.startsWith("INVITE ")).map((m) => /^INVITE sip:(\d+)@/.exec(m.text)![1]!));
    expect([...atD].sort()).toEqual(["33120", "33121", "496250", "496251"]);
    expect(users(E)).toEqual(["33120", "33121", "44770", "44771", "44772", "496250", "496251"]);
    for (const p of [A, B, E]) expect(gws.get(p)!.invitedUsers().length, `one INVITE per call at ${p}`).toBe(users(p).length);

    const st = (await rpc(PR_CONTROL, "stats.get_statistics", ["prefix_route:"])).result as string[];
    expect(st).toContain(`prefix_route:matched = ${prCalls.length}`);
    const m = (await rpc(MT_CONTROL, "mtree.match", ["did", "49611055", 0])).result;
    expect(m).toEqual(["did", { PREFIX: "496110", TVALUE: "globex" }]);
  }, 60_000);

  it("answers 404 for a number without a route and an unknown DID", async () => {
    const peer = await UdpPeer.open(BASE + 22);
    try {
      peer.send(request("INVITE", `sip:5555@127.0.0.1:${PR_PROXY}`, { port: BASE + 22, callId: "pr-none" }), PR_PROXY);
      expect(firstLine(await peer.wait((t) => t.includes("pr-none") && statusOf(t) >= 200))).toBe("SIP/2.0 404 No route");
      peer.send(request("INVITE", `sip:4963000@127.0.0.1:${MT_PROXY}`, { port: BASE + 22, callId: "mt-none" }), MT_PROXY);
      expect(firstLine(await peer.wait((t) => t.includes("mt-none") && statusOf(t) >= 200))).toBe("SIP/2.0 404 Unknown DID");
    } finally {
      peer.close();
    }
  });
});
