import { describe, expect, it } from "vitest";
import { Worker } from "node:worker_threads";
import { ConnDirectory, parseIpWords } from "./conn-directory.js";

const dir = (slots: number) => new ConnDirectory(new Int32Array(new SharedArrayBuffer(ConnDirectory.cells(slots) * 4)), slots);

describe("ConnDirectory", () => {
  it("finds the owner by proto, address and port; a close by another connection id leaves the entry", () => {
    const d = dir(64);
    expect(d.add("tcp", "10.0.0.7", 40312, 1, 17)).toBe(true);
    expect(d.lookup("tcp", "10.0.0.7", 40312)).toBe(1);
    expect(d.lastConnId).toBe(17);
    expect(d.lookup("tls", "10.0.0.7", 40312)).toBe(-1);
    expect(d.lookup("tcp", "10.0.0.7", 40313)).toBe(-1);
    d.remove("tcp", "10.0.0.7", 40312, 1, 99); // an older connection's close
    expect(d.lookup("tcp", "10.0.0.7", 40312)).toBe(1);
    d.remove("tcp", "10.0.0.7", 40312, 1, 17);
    expect(d.lookup("tcp", "10.0.0.7", 40312)).toBe(-1);
    expect(d.size()).toBe(0);
  });

  it("IPv6 in its spellings is one key; a host name is not kept", () => {
    const d = dir(64);
    expect(d.add("ws", "2001:db8::5", 5060, 0, 3)).toBe(true);
    expect(d.lookup("ws", "[2001:0db8:0:0:0:0:0:5]", 5060)).toBe(0);
    expect(d.add("tcp", "phone.example.com", 5060, 0, 4)).toBe(false);
    const w = new Int32Array(5);
    expect(parseIpWords("::ffff:1.2.3.4", w)).toBe(true);
    const v = new Int32Array(5);
    parseIpWords("1.2.3.4", v);
    expect([...w]).toEqual([...v]);
    expect(parseIpWords("1::2::3", w)).toBe(false);
  });

  it("a nearly full table with churn: every live key stays findable after deletions (backward shift), purgeOwner erases one worker's", () => {
    const slots = 256;
    const d = dir(slots);
    const live = new Map<number, number>();
    let id = 1;
    for (let round = 0; round < 20_000; round++) {
      const port = 1000 + Math.floor(Math.random() * 400);
      if (live.has(port)) {
        d.remove("tcp", "192.0.2.1", port, port % 2, live.get(port)!);
        live.delete(port);
      } else if (live.size < 230) {
        expect(d.add("tcp", "192.0.2.1", port, port % 2, id)).toBe(true);
        live.set(port, id++);
      }
    }
    expect(d.size()).toBe(live.size);
    for (const [port, cid] of live) {
      expect(d.lookup("tcp", "192.0.2.1", port)).toBe(port % 2);
      expect(d.lastConnId).toBe(cid);
    }
    const odd = [...live.keys()].filter((p) => p % 2 === 1).length;
    expect(d.purgeOwner(1)).toBe(odd);
    for (const port of live.keys()) expect(d.lookup("tcp", "192.0.2.1", port)).toBe(port % 2 === 1 ? -1 : 0);
  });

  it("two threads adding and removing at once leave a consistent table (one lock)", async () => {
    const slots = 2200;
    const sab = new SharedArrayBuffer(ConnDirectory.cells(slots) * 4);
    // the class itself (its compiled source) in two threads, each adding and removing 1000 ports 100 times (the table nearly full: long probe runs shared by both)
    const src = `
      const { workerData, parentPort } = require("node:worker_threads");
      const PROTO_CODE = { udp: 1, tcp: 2, tls: 3, ws: 4, wss: 5, sctp: 6 };
      const parseIpWords = (${parseIpWords.toString()});
      const ConnDirectory = (${ConnDirectory.toString()});
      const d = new ConnDirectory(new Int32Array(workerData.sab), ${slots});
      const me = workerData.me;
      for (let r = 0; r < 100; r++) {
        for (let p = 0; p < 1000; p++) d.add("tcp", "10.0.0." + me, p, me, r * 1000 + p + 1);
        for (let p = 0; p < 1000; p += 2) d.remove("tcp", "10.0.0." + me, p, me, r * 1000 + p + 1);
        if (r < 99) for (let p = 1; p < 1000; p += 2) d.remove("tcp", "10.0.0." + me, p, me, r * 1000 + p + 1);
      }
      parentPort.postMessage("done");`;
    const run = (me: number) =>
      new Promise<void>((resolve, reject) => {
        const w = new Worker(src, { eval: true, workerData: { sab, me } });
        w.once("message", () => resolve());
        w.once("error", reject);
      });
    await Promise.all([run(1), run(2)]);
    const d = new ConnDirectory(new Int32Array(sab), slots);
    expect(d.size()).toBe(1000); // 500 odd ports of each thread
    for (const me of [1, 2]) for (let p = 0; p < 1000; p++) expect(d.lookup("tcp", `10.0.0.${me}`, p)).toBe(p % 2 === 1 ? me : -1);
  }, 30_000);
});
