/**
 * Table kind stir_attest end to end with real processes and a real MariaDB: a control plane
 * (database olelo_test_feat_stir, change check off: the management API's own push delivers a
 * change) and a data plane (`data-plane/main.ts`) with the stirshaken module and
 * test/scripts/stirshaken-interop.ts (a request without Identity is signed and sent to a raw UDP
 * callee that answers 486). An `olelo_stir_attest` row written through the management API decides
 * whether and with which attestation the next call is signed; a row the kind refuses is a 422
 * naming table, key and reason, and the data plane keeps signing as before.
 *
 * Ports: a block of 20 from test/kit/ports.ts (freePortBlock).
 */
import type mysql from "mysql2/promise";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ROOT, jsonRpc, rpcResult, startControlPlaneProcess, startDataPlaneProcess, stopAllProcesses, waitUntil, type ControlPlaneProcess, type DataPlaneProcess } from "./helpers/processes.js";
import { UdpPeer } from "./helpers/udp-peer.js";
import { Caller, dropFeatDatabase, freshFeatDatabase } from "./scripts/cpf-support.js";
import { freePortBlock } from "./kit/ports.js";
import { makeStirPki } from "./kit/stir-pki.js";

const DB = "olelo_test_feat_stir";
const BASE = await freePortBlock(20);
const CP_API = BASE + 1;
const CP_GRPC = BASE + 2;
const DP_SIP = BASE + 10;
const DP_CTL = BASE + 11;
const CALLEE = BASE + 12;
const CALLER = BASE + 13;
const ACCOUNT = "12155550188";

let admin: mysql.Connection | undefined;
let cp: ControlPlaneProcess;
let dp: DataPlaneProcess;
let callee: UdpPeer;
let caller: Caller;
/** Identity header (or null) of each INVITE the callee got, by Call-ID. */
const seen = new Map<string, string | null>();

const claimsOf = (identity: string) => JSON.parse(Buffer.from(identity.split(".")[1]!, "base64url").toString()) as { attest: string; orig: { tn: string } };

beforeAll(async () => {
  const pki = makeStirPki();
  admin = await freshFeatDatabase(DB);
  cp = await startControlPlaneProcess({ db: DB, apiPort: CP_API, grpcPort: CP_GRPC, pollMs: 0 });
  callee = await UdpPeer.open(CALLEE);
  callee.onMessage = (text, r) => {
    if (!text.startsWith("INVITE ")) return;
    const head = text.split("\r\n\r\n")[0]!.split("\r\n");
    const id = head.find((l) => /^identity:/i.test(l));
    seen.set(head.find((l) => /^call-id:/i.test(l))!.replace(/^call-id:\s*/i, ""), id ? id.replace(/^identity:\s*/i, "") : null);
    const keep = head.filter((l) => /^(via|from|to|call-id|cseq):/i.test(l)).map((l) => (/^to:/i.test(l) ? `${l};tag=callee` : l));
    callee.sock.send(Buffer.from(["SIP/2.0 486 Busy Here", ...keep, "Content-Length: 0", "", ""].join("\r\n"), "latin1"), r.port, r.address);
  };
  dp = await startDataPlaneProcess({
    node: "stir-a",
    sipPort: DP_SIP,
    controlPort: DP_CTL,
    controlPlane: cp.grpcUrl,
    script: `${ROOT}/test/scripts/stirshaken-interop.ts`,
    modules: { stirshaken: { key_file: pki.leafKey, x5u: "https://cert.example.org/sp.pem", ca_file: pki.caPem } },
    settings: { signedNextHop: `sip:127.0.0.1:${CALLEE}`, verifiedNextHop: `sip:127.0.0.1:${CALLEE}` },
  });
  await waitUntil("the data plane to run the control plane's stir_attest version", async () => {
    const st = await rpcResult(cp.rpcUrl, "status");
    const v = st.kinds.find((k: { kind: string }) => k.kind === "stir_attest")?.version;
    return !!v && (await dp.version("stir_attest")) === v;
  }, 30_000, [cp, dp]);
  caller = await Caller.open(CALLER);
}, 120_000);

afterAll(async () => {
  await stopAllProcesses();
  callee?.close();
  caller?.close();
  await dropFeatDatabase(admin, DB);
  await admin?.end();
}, 40_000);

describe("stir_attest from the management API to a running data plane (real processes, MariaDB)", () => {
  it("a new account row makes the account's calls signed with its attestation; a changed row changes it", async () => {
    const before = await caller.call(DP_SIP, "12155550131", ACCOUNT);
    expect(before.code).toBe(486);
    expect(seen.get(before.callId)).toBeNull(); // no row, default_attest '' → not signed

    const res = await rpcResult(cp.rpcUrl, "olelo_stir_attest.create", { match_type: "account", match_value: ACCOUNT, attest: "B", description: "partial" });
    expect(res).toMatchObject({ kind: "stir_attest", row: { match_type: "account", match_value: ACCOUNT, attest: "B", origid: "", credential: "" } });
    let id: string | null = null;
    await waitUntil("the account's calls to be signed", async () => {
      const c = await caller.call(DP_SIP, "12155550131", ACCOUNT);
      id = seen.get(c.callId) ?? null;
      return id !== null;
    }, 10_000, [cp, dp]);
    expect(id!).toMatch(/;info=<https:\/\/cert\.example\.org\/sp\.pem>;alg=ES256;ppt=shaken$/);
    expect(claimsOf(id!)).toMatchObject({ attest: "B", orig: { tn: ACCOUNT } });

    await rpcResult(cp.rpcUrl, "olelo_stir_attest.update", { id: res.row.id, attest: "A" });
    await waitUntil("the attestation to become A", async () => {
      const c = await caller.call(DP_SIP, "12155550131", ACCOUNT);
      const v = seen.get(c.callId);
      return !!v && claimsOf(v).attest === "A";
    }, 10_000, [cp, dp]);
  }, 60_000);

  it("a row the kind refuses is a 422 naming table, key and reason, and signing goes on as before", async () => {
    const version = await dp.version("stir_attest");
    const bad = await jsonRpc(cp.rpcUrl, "olelo_stir_attest.create", { match_type: "account", match_value: "12155550999", attest: "D" });
    expect(bad.error).toMatchObject({ code: 422, data: { kind: "stir_attest", table: "olelo_stir_attest", row: expect.any(Number), reason: "attest must be A, B or C, got 'D'" } });
    expect(bad.error?.message).toContain("olelo_stir_attest row");
    const bad2 = await jsonRpc(cp.rpcUrl, "olelo_stir_attest.create", { match_type: "source", match_value: "10.0.0.0/99", attest: "C" });
    expect(bad2.error?.message).toMatch(/bad prefix length/);
    expect(await dp.version("stir_attest")).toBe(version);
    const c = await caller.call(DP_SIP, "12155550131", ACCOUNT);
    expect(claimsOf(seen.get(c.callId)!).attest).toBe("A");
  }, 30_000);
});
