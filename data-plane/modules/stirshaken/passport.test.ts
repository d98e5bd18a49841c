import { generateKeyPairSync, sign } from "node:crypto";
import { describe, expect, it } from "vitest";
import { b64url, canonicalJson, checkShakenClaims, decodePassport, signPassport, verifyEs256 } from "./passport.js";

// RFC 8225 §9 / Appendix A: the header and claims, serialized with sorted keys and no whitespace
const RFC8225_HEADER_B64 = "eyJhbGciOiJFUzI1NiIsInR5cCI6InBhc3Nwb3J0IiwieDV1IjoiaHR0cHM6Ly9jZXJ0LmV4YW1wbGUub3JnL3Bhc3Nwb3J0LmNlciJ9";
const RFC8225_CLAIMS_B64 = "eyJkZXN0Ijp7InVyaSI6WyJzaXA6YWxpY2VAZXhhbXBsZS5jb20iXX0sImlhdCI6MTQ3MTM3NTQxOCwib3JpZyI6eyJ0biI6IjEyMTU1NTUxMjEyIn19";

const claims = (over: Record<string, unknown> = {}) => ({
  attest: "A" as const,
  dest: { tn: ["12155550131"] },
  iat: 1443208345,
  orig: { tn: "12155550121" },
  origid: "123e4567-e89b-12d3-a456-426655440000",
  ...over,
});

describe("canonical JSON (RFC 8225 §9)", () => {
  it("sorts keys at every level and drops whitespace: the RFC 8225 header and claims", () => {
    const header = { x5u: "https://cert.example.org/passport.cer", typ: "passport", alg: "ES256" };
    expect(canonicalJson(header)).toBe('{"alg":"ES256","typ":"passport","x5u":"https://cert.example.org/passport.cer"}');
    expect(b64url(canonicalJson(header))).toBe(RFC8225_HEADER_B64);
    const c = { orig: { tn: "12155551212" }, iat: 1471375418, dest: { uri: ["sip:alice@example.com"] } };
    expect(b64url(canonicalJson(c))).toBe(RFC8225_CLAIMS_B64);
  });

  it("the RFC 8588 §6 SHAKEN claims in their canonical order", () => {
    expect(canonicalJson({ origid: "123e4567-e89b-12d3-a456-426655440000", orig: { tn: "12155550121" }, iat: 1443208345, dest: { tn: ["12155550131"] }, attest: "A" })).toBe(
      '{"attest":"A","dest":{"tn":["12155550131"]},"iat":1443208345,"orig":{"tn":"12155550121"},"origid":"123e4567-e89b-12d3-a456-426655440000"}',
    );
    expect(canonicalJson({ b: [{ z: 1, a: null }], a: "é\"" })).toBe('{"a":"é\\"","b":[{"a":null,"z":1}]}');
  });
});

describe("ES256 PASSporT", () => {
  const { privateKey, publicKey } = generateKeyPairSync("ec", { namedCurve: "P-256" });
  const x5u = "https://cert.example.org/passport.cer";

  it("signs header.claims with a 64-byte r||s signature that verifies; the RFC 8588 header", async () => {
    const jwt = signPassport(privateKey, { x5u }, claims());
    const p = decodePassport(jwt);
    if (typeof p === "string") throw new Error(p);
    expect(p.header).toEqual({ alg: "ES256", ppt: "shaken", typ: "passport", x5u });
    expect(jwt.split(".")[0]).toBe(b64url('{"alg":"ES256","ppt":"shaken","typ":"passport","x5u":"https://cert.example.org/passport.cer"}'));
    expect(p.signature.length).toBe(64);
    expect(await verifyEs256(publicKey, p.signingInput, p.signature)).toBe(true);
  });

  it("a changed claim, a flipped signature bit, another key or a DER signature do not verify", async () => {
    const jwt = signPassport(privateKey, { x5u }, claims());
    const [h, c, s] = jwt.split(".") as [string, string, string];
    const forged = b64url(canonicalJson(claims({ orig: { tn: "19995550000" } })));
    const p1 = decodePassport(`${h}.${forged}.${s}`) as Exclude<ReturnType<typeof decodePassport>, string>;
    expect(await verifyEs256(publicKey, p1.signingInput, p1.signature)).toBe(false);
    const sig = Buffer.from(s, "base64url");
    sig[10]! ^= 1;
    expect(await verifyEs256(publicKey, `${h}.${c}`, sig)).toBe(false);
    const other = generateKeyPairSync("ec", { namedCurve: "P-256" }).publicKey;
    expect(await verifyEs256(other, `${h}.${c}`, Buffer.from(s, "base64url"))).toBe(false);
    const der = sign("sha256", Buffer.from(`${h}.${c}`), privateKey);
    expect(await verifyEs256(publicKey, `${h}.${c}`, der)).toBe(false);
    const rsa = generateKeyPairSync("rsa", { modulusLength: 1024 }).publicKey;
    expect(await verifyEs256(rsa, `${h}.${c}`, Buffer.from(s, "base64url"))).toBe(false);
  });

  it("decode refuses malformed tokens with a reason", () => {
    expect(decodePassport("abc")).toBe("token is not header.claims.signature");
    expect(decodePassport(`${RFC8225_HEADER_B64}..sig`)).toBe("compact form is not supported");
    expect(decodePassport(`${RFC8225_HEADER_B64}.${b64url("[1]")}.sig`)).toBe("claims is not a JSON object");
    expect(decodePassport(`${RFC8225_HEADER_B64}.${b64url("{x")}.sig`)).toBe("claims is not JSON");
    expect(decodePassport(`${b64url("{}")}.${RFC8225_CLAIMS_B64}.sig`)).toBe("header has no alg");
    expect(decodePassport(`${RFC8225_HEADER_B64}.${RFC8225_CLAIMS_B64}.s+g`)).toBe("signature is not base64url");
  });

  it("SHAKEN claim shapes (RFC 8588 §6)", () => {
    expect(checkShakenClaims(claims())).toBeNull();
    expect(checkShakenClaims(claims({ attest: "D" }))).toBe("attest must be A, B or C");
    expect(checkShakenClaims(claims({ iat: "1443208345" }))).toBe("iat must be an integer");
    expect(checkShakenClaims(claims({ origid: "" }))).toBe("origid missing");
    expect(checkShakenClaims(claims({ orig: {} }))).toBe("orig must have tn or uri");
    expect(checkShakenClaims(claims({ dest: { tn: "1215" } }))).toBe("dest must have tn or uri arrays");
  });
});
