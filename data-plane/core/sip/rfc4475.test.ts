import { readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { parseMessage } from "./parse.js";
import { validateRequest, validateResponse } from "./validate.js";

const DIR = join(import.meta.dirname, "../../../test/fixtures/rfc4475");

/**
 * RFC 4475 expectations for a proxy: "ok" = processed (parses and validates), a number = the
 * status the message must be rejected with, "parse" = the parser itself refuses it (a 400 is built
 * from the raw lines when possible), "drop" = a response that must not be forwarded.
 */
const EXPECT: Record<string, "ok" | "parse" | number> = {
  // 3.1.1 valid
  wsinv: "ok",
  intmeth: "ok",
  esc01: "ok",
  escnull: "ok",
  esc02: "ok",
  lwsdisp: "ok",
  longreq: "ok",
  dblreq: "ok",
  semiuri: "ok",
  transports: "ok",
  mpart01: "ok",
  unreason: "ok",
  noreason: "ok",
  // 3.1.2 invalid
  badinv01: 400,
  clerr: "parse",
  ncl: "parse",
  scalar02: 400,
  scalarlg: 400,
  quotbal: 400,
  ltgtruri: 400,
  lwsruri: "parse",
  lwsstart: "parse",
  trws: "parse",
  escruri: 400,
  baddate: 400,
  regbadct: 400,
  badaspec: 400,
  baddn: "parse",
  badvers: 505,
  mismatch01: 400,
  mismatch02: 400,
  bigcode: "parse",
  // 3.2 transaction layer
  badbranch: "ok",
  // 3.3 application layer
  insuf: 400,
  unkscm: 416,
  novelsc: 416,
  unksm2: "ok",
  bext01: "ok", // parses; the proxy answers 420 (Proxy-Require), tested end to end
  invut: "ok",
  regaut01: "ok",
  multi01: 400,
  mcl01: 400,
  bcast: "ok", // a well-formed response; the proxy drops it (not its Via), tested end to end
  zeromf: "ok", // parses; the proxy answers 483, tested end to end
  cparam01: "ok",
  cparam02: "ok",
  regescrt: "ok",
  sdp01: "ok",
  // 3.4
  inv2543: "ok",
};

describe("RFC 4475 torture messages", () => {
  const files = readdirSync(DIR).filter((f) => f.endsWith(".dat"));
  it("has all 49 messages", () => {
    expect(files.length).toBe(49);
    for (const f of files) expect(EXPECT[f.replace(".dat", "")], f).toBeDefined();
  });
  for (const f of files) {
    const name = f.replace(".dat", "");
    it(`${name} → ${EXPECT[name]}`, () => {
      const buf = readFileSync(join(DIR, f));
      const r = parseMessage(buf);
      const want = EXPECT[name]!;
      if (want === "parse") {
        expect(r.ok, `${name} should fail to parse`).toBe(false);
        return;
      }
      expect(r.ok, r.ok ? "" : `${name}: ${r.reason}`).toBe(true);
      if (!r.ok) return;
      const rej = r.msg.isRequest ? validateRequest(r.msg) : validateResponse(r.msg);
      if (want === "ok") expect(rej, `${name}: ${rej?.reason}`).toBeNull();
      else expect(rej?.status, `${name}: ${rej?.reason ?? "accepted"}`).toBe(want);
    });
  }
});
