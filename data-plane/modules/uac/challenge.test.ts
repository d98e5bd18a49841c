import { describe, expect, it } from "vitest";
import { answerChallenge, parseChallenge, pickChallenge } from "./challenge.js";

/** Pulls one parameter out of a credentials value. */
function param(v: string, name: string): string | undefined {
  const m = new RegExp(`(?:^|[ ,])${name}=(?:"([^"]*)"|([^,]*))`).exec(v.replace(/^Digest /, " "));
  return m ? (m[1] ?? m[2]) : undefined;
}

describe("uac digest answers", () => {
  it("RFC 2617 §3.5 example: MD5, qop=auth", () => {
    const ch = parseChallenge('Digest realm="testrealm@host.com", qop="auth,auth-int", nonce="dcd98b7102dd2f0e8b11d0f600bfb0c093", opaque="5ccc069c403ebaf9f0171e9517f40e41"')!;
    expect(ch).toMatchObject({ realm: "testrealm@host.com", qop: ["auth", "auth-int"], algorithm: "MD5", opaque: "5ccc069c403ebaf9f0171e9517f40e41" });
    const v = answerChallenge(ch, { username: "Mufasa", password: "Circle Of Life" }, { method: "GET", uri: "/dir/index.html", cnonce: "0a4f113b", nc: 1 })!;
    expect(param(v, "response")).toBe("6629fae49393a05397450978507c4ef1");
    expect(param(v, "nc")).toBe("00000001");
    expect(param(v, "qop")).toBe("auth");
    expect(param(v, "opaque")).toBe("5ccc069c403ebaf9f0171e9517f40e41");
    expect(param(v, "username")).toBe("Mufasa");
  });

  const rfc7616 = (alg: string) =>
    parseChallenge(
      `Digest realm="http-auth@example.org", qop="auth, auth-int", algorithm=${alg}, nonce="7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v", opaque="FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS"`,
    )!;
  const opts = { method: "GET", uri: "/dir/index.html", cnonce: "f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ", nc: 1 };

  it("RFC 7616 §3.9.1 example: MD5", () => {
    const v = answerChallenge(rfc7616("MD5"), { username: "Mufasa", password: "Circle of Life" }, opts)!;
    expect(param(v, "response")).toBe("8ca523f5e9506fed4657c9700eebdbec");
  });

  it("RFC 7616 §3.9.1 example: SHA-256", () => {
    const v = answerChallenge(rfc7616("SHA-256"), { username: "Mufasa", password: "Circle of Life" }, opts)!;
    expect(param(v, "response")).toBe("753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1");
    expect(param(v, "algorithm")).toBe("SHA-256");
  });

  it("answers with a stored H(A1) (uac_auth mode 1) and refuses one of the wrong length", () => {
    // H(A1) = MD5("Mufasa:testrealm@host.com:Circle Of Life")
    const ch = parseChallenge('Digest realm="testrealm@host.com", qop="auth", nonce="dcd98b7102dd2f0e8b11d0f600bfb0c093"')!;
    const v = answerChallenge(ch, { username: "Mufasa", ha1: "939e7578ed9e3c518a452acee763bce9" }, { method: "GET", uri: "/dir/index.html", cnonce: "0a4f113b", nc: 1 })!;
    expect(param(v, "response")).toBe("6629fae49393a05397450978507c4ef1");
    expect(answerChallenge(rfc7616("SHA-256"), { username: "Mufasa", ha1: "939e7578ed9e3c518a452acee763bce9" }, opts)).toBeNull();
  });

  it("RFC 2069 style (no qop): no cnonce/nc; auth-int only and unknown algorithms are refused", () => {
    const ch = parseChallenge('Digest realm="r", nonce="n"')!;
    const v = answerChallenge(ch, { username: "u", password: "p" }, { method: "INVITE", uri: "sip:b@x" })!;
    expect(param(v, "cnonce")).toBeUndefined();
    expect(param(v, "nc")).toBeUndefined();
    expect(answerChallenge(parseChallenge('Digest realm="r", nonce="n", qop="auth-int"')!, { username: "u", password: "p" }, { method: "INVITE", uri: "sip:b@x" })).toBeNull();
    expect(answerChallenge(parseChallenge('Digest realm="r", nonce="n", algorithm=SHA-1')!, { username: "u", password: "p" }, { method: "INVITE", uri: "sip:b@x" })).toBeNull();
  });

  it("bad challenges parse to null and never throw", () => {
    for (const bad of ["Basic realm=\"x\"", 'Digest realm="x"', 'Digest nonce="n"', 'Digest realm="x, nonce="n"', 'Digest realm="a", realm="b", nonce="n"', "Digest", "", "x".repeat(9000)]) {
      expect(parseChallenge(bad)).toBeNull();
    }
  });

  it("picks the strongest algorithm offered that the credentials can hash", () => {
    const md5 = parseChallenge('Digest realm="r", nonce="1", algorithm=MD5, qop="auth"')!;
    const sha = parseChallenge('Digest realm="r", nonce="2", algorithm=SHA-256, qop="auth"')!;
    expect(pickChallenge([md5, sha], () => true)).toBe(sha);
    expect(pickChallenge([md5, sha], (a) => a.hash === "md5")).toBe(md5);
  });
});
