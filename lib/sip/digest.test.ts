import { describe, expect, it } from "vitest";
import { ALGORITHMS, algorithmInfo, computeHa1, computeResponse, digestEquals, hashHex } from "./digest.js";

describe("digest computations", () => {
  // RFC 7616 §3.9.1
  const rfc7616 = {
    method: "GET",
    uri: "/dir/index.html",
    nonce: "7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v",
    qop: "auth",
    nc: "00000001",
    cnonce: "f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ",
  };

  it("RFC 7616 §3.9.1 with MD5", () => {
    const ha1 = computeHa1(ALGORITHMS.MD5, "Mufasa", "http-auth@example.org", "Circle of Life");
    expect(computeResponse(ALGORITHMS.MD5, ha1, rfc7616)).toBe("8ca523f5e9506fed4657c9700eebdbec");
  });

  it("RFC 7616 §3.9.1 with SHA-256", () => {
    const alg = ALGORITHMS["SHA-256"];
    const ha1 = computeHa1(alg, "Mufasa", "http-auth@example.org", "Circle of Life");
    expect(computeResponse(alg, ha1, rfc7616)).toBe("753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1");
  });

  it("RFC 2617 §3.5 (MD5, qop=auth)", () => {
    const ha1 = computeHa1(ALGORITHMS.MD5, "Mufasa", "testrealm@host.com", "Circle Of Life");
    const r = computeResponse(ALGORITHMS.MD5, ha1, {
      method: "GET",
      uri: "/dir/index.html",
      nonce: "dcd98b7102dd2f0e8b11d0f600bfb0c093",
      qop: "auth",
      nc: "00000001",
      cnonce: "0a4f113b",
    });
    expect(r).toBe("6629fae49393a05397450978507c4ef1");
  });

  it("SHA-512/256 is the FIPS 180-4 truncated hash (abc test vector)", () => {
    expect(hashHex(ALGORITHMS["SHA-512-256"].hash, "abc")).toBe("53048e2681941ef99b2e29b76b4c7dabe4c2d0c634fc6d46e0e2f13107e7af23");
  });

  it("no-qop (RFC 2069) and auth-int and -sess follow the RFC formulas", () => {
    const md5 = (s: string) => hashHex("md5", s);
    const ha1 = md5("bob:example.com:pw");
    const noQop = computeResponse(ALGORITHMS.MD5, ha1, { method: "REGISTER", uri: "sip:example.com", nonce: "N", qop: null, nc: null, cnonce: null });
    expect(noQop).toBe(md5(`${ha1}:N:${md5("REGISTER:sip:example.com")}`));
    const body = "v=0\r\no=- 1 1 IN IP4 192.0.2.1\r\n";
    const authInt = computeResponse(ALGORITHMS.MD5, ha1, { method: "INVITE", uri: "sip:a@b", nonce: "N", qop: "auth-int", nc: "00000002", cnonce: "C", body });
    expect(authInt).toBe(md5(`${ha1}:N:00000002:C:auth-int:${md5(`INVITE:sip:a@b:${md5(body)}`)}`));
    const sess = computeResponse(ALGORITHMS["MD5-SESS"], ha1, { method: "INVITE", uri: "sip:a@b", nonce: "N", qop: "auth", nc: "00000001", cnonce: "C" });
    const sessKey = md5(`${ha1}:N:C`);
    expect(sess).toBe(md5(`${sessKey}:N:00000001:C:auth:${md5("INVITE:sip:a@b")}`));
  });

  it("algorithm lookup is case-insensitive and rejects unknown tokens", () => {
    expect(algorithmInfo("sha-256")?.token).toBe("SHA-256");
    expect(algorithmInfo("md5-Sess")?.sess).toBe(true);
    expect(algorithmInfo("SHA-1")).toBeNull();
    expect(algorithmInfo("SHA-512")).toBeNull();
  });

  it("digestEquals compares case-insensitively and in constant time for equal lengths", () => {
    expect(digestEquals("ABCDEF", "abcdef")).toBe(true);
    expect(digestEquals("abcdef", "abcdee")).toBe(false);
    expect(digestEquals("abc", "abcd")).toBe(false);
  });
});
