import { describe, expect, it } from "vitest";
import { JsonFramer } from "./json-frame.js";
import { XmlParseError, parseXml } from "./xml-parse.js";
import { decodeMethodCall, decodeMethodResponse, encodeFault, encodeMethodCall, encodeMethodResponse, encodeValue } from "./xml-rpc.js";

describe("parseXml", () => {
  it("parses elements, attributes, text, CDATA, comments and the 5 predefined entities", () => {
    const root = parseXml(`\ufeff<?xml version="1.0"?><!-- c --><a x='1' y="&lt;&amp;"><b/>t&#65;&#x42;&quot;&apos;<![CDATA[<raw&>]]><!-- i --></a>`);
    expect(root).toEqual({ name: "a", attrs: { x: "1", y: "<&" }, children: [{ name: "b", attrs: {}, children: [] }, "tAB\"'<raw&>"] });
  });

  it("rejects DTDs, unknown entities and malformed documents with an offset", () => {
    const bad = [
      '<!DOCTYPE a [<!ENTITY e SYSTEM "file:///etc/passwd">]><a>&e;</a>',
      "<a>&e;</a>",
      "<a>&#0;</a>",
      "<a>& b</a>",
      "<a><b></a>",
      "<a>",
      "<a></a><b/>",
      "text",
      "<a x=1/>",
      '<a x="1" x="2"/>',
      "<a><!DOCTYPE x></a>",
    ];
    for (const s of bad) expect(() => parseXml(s), s).toThrow(XmlParseError);
  });

  it("enforces size, depth and node limits", () => {
    expect(() => parseXml("<a/>".padEnd(100), { maxChars: 50 })).toThrow(/exceeds 50 characters/);
    expect(() => parseXml("<a>".repeat(10) + "</a>".repeat(10), { maxDepth: 5 })).toThrow(/nesting deeper than 5/);
    expect(() => parseXml("<a>" + "<b/>".repeat(20) + "</a>", { maxNodes: 10 })).toThrow(/more than 10 nodes/);
  });
});

describe("XML-RPC codec", () => {
  it("decodes every value type", () => {
    const xml = `<methodCall><methodName>m.x</methodName><params>
      <param><value><i4>-5</i4></value></param>
      <param><value><int>7</int></value></param>
      <param><value><i8>9007199254740991</i8></value></param>
      <param><value><boolean>1</boolean></value></param>
      <param><value>plain</value></param>
      <param><value><string> spaced </string></value></param>
      <param><value><double>-1.5e2</double></value></param>
      <param><value><dateTime.iso8601>19980717T14:08:55</dateTime.iso8601></value></param>
      <param><value><dateTime.iso8601>1998-07-17T14:08:55+02:00</dateTime.iso8601></value></param>
      <param><value><base64>AAH/</base64></value></param>
      <param><value><array><data><value><int>1</int></value><value>a</value></data></array></value></param>
      <param><value><struct><member><name>__proto__</name><value><int>1</int></value></member><member><name>k</name><value><nil/></value></member></struct></value></param>
      <param><value></value></param>
    </params></methodCall>`;
    const { method, params } = decodeMethodCall(xml);
    expect(method).toBe("m.x");
    expect(params.slice(0, 7)).toEqual([-5, 7, 9007199254740991, true, "plain", " spaced ", -150]);
    expect(params[7]).toEqual(new Date(Date.UTC(1998, 6, 17, 14, 8, 55)));
    expect(params[8]).toEqual(new Date(Date.UTC(1998, 6, 17, 12, 8, 55)));
    expect(params[9]).toEqual(Buffer.from([0, 1, 255]));
    expect(params[10]).toEqual([1, "a"]);
    const st = params[11] as Record<string, unknown>;
    expect(Object.getPrototypeOf(st)).toBe(Object.prototype);
    expect(Object.keys(st)).toEqual(["__proto__", "k"]);
    expect(st.k).toBeNull();
    expect(params[12]).toBe("");
  });

  it("rejects out-of-range and malformed values with -32600", () => {
    const call = (v: string) => decodeMethodCall(`<methodCall><methodName>m</methodName><params><param><value>${v}</value></param></params></methodCall>`);
    for (const v of ["<int>2147483648</int>", "<boolean>2</boolean>", "<double>1,5</double>", "<dateTime.iso8601>1998-13-01T00:00:00</dateTime.iso8601>", "<base64>@@</base64>", "<foo/>", "<int>1</int><int>2</int>"]) {
      expect(() => call(v), v).toThrow(expect.objectContaining({ code: -32600 }));
    }
    expect(() => decodeMethodCall("<methodCall><methodName>bad name!</methodName></methodCall>")).toThrow(/bad methodName/);
  });

  it("encodes results and faults that decode back", () => {
    const v = { a: [1, 2 ** 33, 0.25, "x&y", false, null], d: new Date(Date.UTC(2020, 1, 3, 4, 5, 6)), b: Buffer.from("hi") };
    expect(decodeMethodResponse(encodeMethodResponse(v))).toEqual(v);
    expect(encodeValue(2 ** 33)).toBe("<value><i8>8589934592</i8></value>");
    expect(encodeValue(new Date(Date.UTC(2020, 1, 3, 4, 5, 6)))).toBe("<value><dateTime.iso8601>20200203T04:05:06</dateTime.iso8601></value>");
    expect(() => decodeMethodResponse(encodeFault(404, "Not <found>"))).toThrow(expect.objectContaining({ code: 404, message: "Not <found>" }));
    expect(decodeMethodCall(encodeMethodCall("a.b", ["x", 1]))).toEqual({ method: "a.b", params: ["x", 1] });
  });
});

describe("JsonFramer (FIFO request framing)", () => {
  it("splits concatenated, multi-line and chunked documents; strings may hold braces", () => {
    const f = new JsonFramer(1000);
    expect(f.push('{"a":1}{"b":"}{\\""}\n[1,\n2]')).toEqual([{ text: '{"a":1}' }, { text: '{"b":"}{\\""}' }, { text: "[1,\n2]" }]);
    expect(f.push('{"c":')).toEqual([]);
    expect(f.pending).toBe(5);
    expect(f.push(' {"d": 2}}\n')).toEqual([{ text: '{"c": {"d": 2}}' }]);
  });

  it("skips oversize documents and garbage lines without buffering them", () => {
    const f = new JsonFramer(10);
    expect(f.push('{"a":"0123456789"}{"b":1}')).toEqual([{ error: "request larger than 10 characters skipped" }, { text: '{"b":1}' }]);
    expect(f.push("junk here\n{}")).toEqual([{ error: "unexpected text outside a JSON document" }, { text: "{}" }]);
    expect(f.pending).toBe(0);
  });
});
