import { afterEach, describe, expect, it } from "vitest";
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { encodeResponseFrame } from "../../tables/wire/response-frame.js";
import { encodeTableChunks } from "../../tables/wire/table-chunks.js";
import { cacheFileOf, listCachedKinds, readCachedKind, writeCachedKind } from "./table-cache.js";
import { dispatcherRows } from "../../tables/testing/sample-rows.js";

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});
const tmp = () => {
  const d = mkdtempSync(join(tmpdir(), "olelo-cache-"));
  dirs.push(d);
  return d;
};

function framesFor(version: string, n: number, chunkBytes = 1024): Buffer[] {
  const enc = encodeTableChunks("dispatcher", { dispatcher: dispatcherRows(n) }, { chunkBytes });
  return enc.chunks.map((c, i) =>
    encodeResponseFrame({ kind: "dispatcher", version, nonce: "n", chunkIndex: i, chunkCount: enc.chunks.length, totalRows: enc.totalRows, compiledAt: "t" }, c),
  );
}

describe("table cache", () => {
  it("writes atomically and reads back the same rows and version", async () => {
    const dir = join(tmp(), "nested", "cache");
    const frames = framesFor("v1", 200);
    expect(frames.length).toBeGreaterThan(3);
    await writeCachedKind(dir, "dispatcher", frames);
    const got = await readCachedKind(dir, "dispatcher");
    expect(got).toMatchObject({ kind: "dispatcher", version: "v1", rows: 200, compiledAt: "t" });
    expect(got!.set.dispatcher).toEqual(dispatcherRows(200));
    await writeCachedKind(dir, "dispatcher", framesFor("v2", 3));
    expect((await readCachedKind(dir, "dispatcher"))!.version).toBe("v2");
    expect(readdirSync(dir)).toEqual(["dispatcher.tables"]);
    expect(await listCachedKinds(dir)).toEqual(["dispatcher"]);
  });

  it("returns null when there is no file and rejects damaged ones with a reason", async () => {
    const dir = tmp();
    expect(await readCachedKind(dir, "dispatcher")).toBeNull();
    await writeCachedKind(dir, "dispatcher", framesFor("v1", 200));
    const file = cacheFileOf(dir, "dispatcher");
    const good = readFileSync(file);
    writeFileSync(file, good.subarray(0, good.length - 10));
    await expect(readCachedKind(dir, "dispatcher")).rejects.toThrow(/truncated/);
    writeFileSync(file, Buffer.concat([Buffer.from("NOTCACHE"), good.subarray(8)]));
    await expect(readCachedKind(dir, "dispatcher")).rejects.toThrow(/not an Olelo table cache/);
    // All chunks but the last: incomplete version.
    await writeCachedKind(dir, "dispatcher", framesFor("v1", 200).slice(0, -1));
    await expect(readCachedKind(dir, "dispatcher")).rejects.toThrow(/ends before the last chunk/);
    // A file holding another kind's frames.
    await writeCachedKind(dir, "lcr", framesFor("v1", 2));
    await expect(readCachedKind(dir, "lcr")).rejects.toThrow(/holds kind dispatcher/);
  });

  it("refuses kind names that could leave the directory", () => {
    expect(() => cacheFileOf("/tmp", "../etc/passwd")).toThrow(/bad table kind/);
  });
});
