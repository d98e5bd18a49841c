import { randomBytes } from "node:crypto";
import { gunzipSync } from "node:zlib";
import { describe, expect, it } from "vitest";
import { gzipSetJson } from "./snapshot-store.js";

describe("gzipSetJson", () => {
  it("gives JSON.stringify(set), gzipped, in slices", async () => {
    const set = { subscriber: Array.from({ length: 12_000 }, (_, i) => ({ id: i + 1, username: `u${i}`, domain: "d.test" })), other: [] };
    const gz = await gzipSetJson(set, 5000);
    expect(JSON.parse(gunzipSync(gz!).toString("utf8"))).toEqual(set);
  });

  it("stops and gives null once the compressed output passes maxBytes (hashes do not compress)", async () => {
    const set = { subscriber: Array.from({ length: 50_000 }, (_, i) => ({ id: i + 1, ha1: randomBytes(16).toString("hex"), ha1b: randomBytes(16).toString("hex") })) };
    expect(await gzipSetJson(set, 5000, 64 * 1024)).toBeNull();
    expect((await gzipSetJson(set, 5000, 64 * 1024 * 1024))!.length).toBeGreaterThan(64 * 1024);
  });
});
