import { describe, expect, it } from "vitest";
import { parseCredentials, type CredentialsParse } from "./credentials.js";

const R32 = "0123456789abcdef0123456789abcdef";
const R64 = R32 + R32;
const GOOD = `Digest username="alice", realm="example.com", nonce="abc", uri="sip:example.com", response="${R32}", algorithm=MD5, cnonce="xyz", qop=auth, nc=00000001, opaque="op"`;

function digest(p: CredentialsParse) {
  if (p.kind !== "digest") throw new Error(`expected digest, got ${JSON.stringify(p)}`);
  return p.cred;
}

describe("parseCredentials: accepted forms", () => {
  it("parses a typical header", () => {
    expect(digest(parseCredentials(GOOD))).toEqual({
      username: "alice",
      user: "alice",
      userDomain: null,
      realm: "example.com",
      nonce: "abc",
      uri: "sip:example.com",
      response: R32,
      algorithm: "MD5",
      cnonce: "xyz",
      opaque: "op",
      qop: "auth",
      nc: "00000001",
      userhash: false,
    });
  });

  it("accepts case-insensitive scheme and names, odd whitespace, folded lines and extra commas", () => {
    const c = digest(
      parseCredentials(`  digest  USERNAME = "bob" ,,REALM="r"\r\n\t, Nonce="n",uri="sip:r" ,response="${R32.toUpperCase()}",`),
    );
    expect(c.username).toBe("bob");
    expect(c.response).toBe(R32);
    expect(c.algorithm).toBe("MD5");
    expect(c.qop).toBeNull();
  });

  it("unescapes quoted-pairs and keeps commas and '=' inside quotes", () => {
    const c = digest(
      parseCredentials(`Digest username="a\\"b\\\\c", realm="x, y = z", nonce="n", uri="sip:u@h;p=1,2", response="${R32}"`),
    );
    expect(c.username).toBe('a"b\\c');
    expect(c.realm).toBe("x, y = z");
    expect(c.uri).toBe("sip:u@h;p=1,2");
  });

  it("splits user@domain usernames (ha1b) and decodes username* (RFC 7616 §3.4.4)", () => {
    const c = digest(parseCredentials(`Digest username="alice@example.org", realm="r", nonce="n", uri="sip:r", response="${R32}"`));
    expect([c.user, c.userDomain]).toEqual(["alice", "example.org"]);
    const u = digest(parseCredentials(`Digest username*=UTF-8''J%C3%A4s%C3%B8n%20Doe, realm="r", nonce="n", uri="sip:r", response="${R32}"`));
    expect(u.username).toBe("Jäsøn Doe");
  });

  it("accepts SHA-256 responses, auth-int, userhash and ignores unknown parameters", () => {
    const c = digest(
      parseCredentials(`Digest username="u", realm="r", nonce="n", uri="sip:r", response="${R64}", algorithm=SHA-256, qop="auth-int", nc=0000000a, cnonce="c", userhash=true, charset=UTF-8, foo="bar"`),
    );
    expect(c.qop).toBe("auth-int");
    expect(c.nc).toBe("0000000a");
    expect(c.userhash).toBe(true);
  });

  it("keeps unknown algorithms for the caller to reject (code -1) but validates the rest", () => {
    expect(digest(parseCredentials(`Digest username="u", realm="r", nonce="n", uri="sip:r", response="${R32}", algorithm=SHA-1`)).algorithm).toBe("SHA-1");
  });

  it("reports other schemes as such", () => {
    expect(parseCredentials("Basic YWxhZGRpbjpvcGVuc2VzYW1l")).toEqual({ kind: "other", scheme: "Basic" });
    expect(parseCredentials("Bearer abc.def")).toEqual({ kind: "other", scheme: "Bearer" });
  });
});

describe("parseCredentials: malformed headers", () => {
  const base = { username: '"alice"', realm: '"r"', nonce: '"n"', uri: '"sip:r"', response: `"${R32}"` } as Record<string, string>;
  const build = (over: Record<string, string | null>, extra = "") =>
    "Digest " +
    Object.entries({ ...base, ...over })
      .filter(([, v]) => v !== null)
      .map(([k, v]) => `${k}=${v}`)
      .join(", ") +
    extra;

  const cases: Array<[string, RegExp]> = [
    ["", /missing auth scheme/],
    ["   ", /missing auth scheme/],
    ["Digest", /missing parameter/],
    ["Digest ", /missing parameter/],
    ['Digest username="a"', /missing parameter realm/],
    [build({ username: null }), /missing parameter username/],
    [build({ realm: null }), /missing parameter realm/],
    [build({ nonce: null }), /missing parameter nonce/],
    [build({ uri: null }), /missing parameter uri/],
    [build({ response: null }), /missing parameter response/],
    [build({ username: '""' }), /empty username/],
    [build({ nonce: '""' }), /empty nonce/],
    [build({ uri: '""' }), /empty uri/],
    [build({}, ', realm="other"'), /duplicate parameter realm/],
    [build({}, ', REALM="other"'), /duplicate parameter realm/],
    [build({}, ', username*=UTF-8\'\'x'), /both username and username\*/],
    [build({ username: null }, ", username*=latin1''x"), /bad username\* encoding/],
    [build({ username: null }, ", username*=UTF-8''%E0%A4"), /bad username\* encoding/],
    [build({ username: '"alice' }), /expected ','/], // the quote runs to the next '"'
    [build({ response: `"${R32}` }), /unterminated quoted string/],
    [build({ realm: '"r\\' }), /expected ','/],
    ['Digest username="alice', /unterminated quoted string in parameter username/],
    ['Digest username="alice\\"', /unterminated quoted string in parameter username/],
    [build({ realm: '"a\r\nb"' }), /control character/],
    [build({ realm: "" }), /empty or bad value/],
    [build({ response: '"xyz"' }), /response is not hex/],
    [build({ response: `"${R32}0"` }), /response length 33 does not fit MD5/],
    [build({ response: `"${R32}"` }, ", algorithm=SHA-256"), /response length 32 does not fit SHA-256/],
    [build({}, ", qop=auth"), /qop without nc/],
    [build({}, ", qop=auth, nc=00000001"), /qop without cnonce/],
    [build({}, ', qop=auth, nc=00000001, cnonce=""'), /qop without cnonce/],
    [build({}, ', qop=auth, nc=1, cnonce="c"'), /nc is not 8 hex digits/],
    [build({}, ', qop=auth, nc=0000000g, cnonce="c"'), /nc is not 8 hex digits/],
    [build({}, ', qop=auth-conf, nc=00000001, cnonce="c"'), /unsupported qop/],
    [build({}, ", nc=00000001"), /nc without qop/],
    [build({}, ", userhash=maybe"), /userhash is not true\/false/],
    [build({}, ", realm2"), /parameter realm2 has no value/],
    [build({}, " realm2"), /expected ','/],
    [build({}, ', x="1" y="2"'), /expected ','/],
    ['Digest username="a" realm="r"', /expected ','/],
    ["Digest =x", /bad character/],
    ['Digest username=="a"', /empty or bad value/],
    ['Digest@ username="a"', /bad character after auth scheme/],
    ["Digest " + "a".repeat(9000), /too long/],
  ];
  for (const [header, re] of cases) {
    it(`rejects ${JSON.stringify(header.length > 120 ? header.slice(0, 120) + "…" : header)}`, () => {
      const p = parseCredentials(header);
      expect(p.kind).toBe("malformed");
      if (p.kind === "malformed") expect(p.reason).toMatch(re);
    });
  }
});

describe("parseCredentials: fuzz", () => {
  // deterministic PRNG so failures reproduce
  let seed = 0x5eed1234;
  const rnd = () => {
    seed ^= seed << 13;
    seed ^= seed >>> 17;
    seed ^= seed << 5;
    return (seed >>> 0) / 0x100000000;
  };
  const alphabet = ['"', "\\", ",", "=", " ", "\t", "\r", "\n", "\0", "a", "Z", "0", "9", "*", "'", "%", "@", ":", ";", "é", "\u2028", "\ud800"];
  const mutate = (s: string): string => {
    const ops = 1 + Math.floor(rnd() * 6);
    let out = s;
    for (let k = 0; k < ops; k++) {
      const pos = Math.floor(rnd() * (out.length + 1));
      const r = rnd();
      if (r < 0.3) out = out.slice(0, pos) + out.slice(pos + 1 + Math.floor(rnd() * 8)); // delete
      else if (r < 0.6) out = out.slice(0, pos) + alphabet[Math.floor(rnd() * alphabet.length)] + out.slice(pos); // insert
      else if (r < 0.8) out = out.slice(0, pos) + out.slice(Math.floor(rnd() * out.length)); // splice/duplicate
      else out = out.slice(0, pos) + out.slice(0, Math.floor(rnd() * out.length)) + out.slice(pos); // repeat a prefix
    }
    return out;
  };

  it("never throws on 5000 random mutations and always returns a well-formed outcome", () => {
    const kinds = { digest: 0, other: 0, malformed: 0 };
    for (let i = 0; i < 5000; i++) {
      const h = mutate(GOOD);
      let p: CredentialsParse;
      try {
        p = parseCredentials(h);
      } catch (e) {
        throw new Error(`threw on ${JSON.stringify(h)}: ${(e as Error).message}`);
      }
      kinds[p.kind]++;
      if (p.kind === "digest") {
        expect(p.cred.username.length).toBeGreaterThan(0);
        expect(p.cred.response).toMatch(/^[0-9a-f]+$/);
      } else if (p.kind === "malformed") {
        expect(typeof p.reason).toBe("string");
      }
    }
    // the mutations must exercise both paths
    expect(kinds.malformed).toBeGreaterThan(1000);
    expect(kinds.digest).toBeGreaterThan(100);
  });

  it("never throws on random byte strings", () => {
    for (let i = 0; i < 2000; i++) {
      const len = Math.floor(rnd() * 200);
      let s = rnd() < 0.5 ? "Digest " : "";
      for (let k = 0; k < len; k++) s += String.fromCharCode(Math.floor(rnd() * 256));
      expect(() => parseCredentials(s)).not.toThrow();
    }
  });
});
