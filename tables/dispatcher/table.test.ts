import { describe, expect, it } from "vitest";
import { TableError } from "../rows.js";
import { compileDispatcherTables } from "./table.js";

function errOf(fn: () => unknown): TableError {
  try {
    fn();
  } catch (e) {
    if (e instanceof TableError) return e;
    throw e;
  }
  throw new Error("expected a TableError");
}

describe("compileDispatcherTables", () => {
  it("coerces CSV strings and MySQL numbers alike", () => {
    const fromCsv = compileDispatcherTables({
      dispatcher: [{ id: "7", setid: "1", destination: "sip:10.0.0.1:5080", flags: "8", priority: "10", attrs: "duid=a;maxload=5", description: "x" }],
    });
    const fromDb = compileDispatcherTables({
      dispatcher: [{ id: 7, setid: 1, destination: "sip:10.0.0.1:5080", flags: 8, priority: 10, attrs: "duid=a;maxload=5", description: null }],
    });
    const a = fromCsv.sets.get(1)!.dests[0]!;
    const b = fromDb.sets.get(1)!.dests[0]!;
    expect(a.id).toBe(7);
    expect([a.flags, a.priority, a.attrs.maxload, a.attrs.duid]).toEqual([8, 10, 5, "a"]);
    expect([b.flags, b.priority, b.attrs.maxload, b.attrs.duid]).toEqual([8, 10, 5, "a"]);
    expect(a.target).toMatchObject({ scheme: "sip", host: "10.0.0.1", port: 5080, transport: "" });
  });

  it("missing optional columns default to 0 / empty; rows without id get their position", () => {
    const c = compileDispatcherTables({ dispatcher: [{ setid: 3, destination: "sip:gw.example.com;transport=tls" }] });
    const d = c.sets.get(3)!.dests[0]!;
    expect([d.id, d.flags, d.priority, d.attrs.body]).toEqual([1, 0, 0, ""]);
    expect(d.target.transport).toBe("tls");
  });

  it("parses attrs: known keys typed, others kept opaque", () => {
    const c = compileDispatcherTables({
      dispatcher: [
        {
          id: 1,
          setid: 1,
          destination: "sip:10.0.0.1",
          attrs: "duid=gw1;maxload=20;weight=50;rweight=40;cc=1;socket=udp:127.0.0.1:5060;sockname=lan;ping_from=sip:lb@example.com;obproxy=sip:10.9.9.9;latency=30;ocmin=5;ocrate=10;region=eu;",
        },
      ],
    });
    const a = c.sets.get(1)!.dests[0]!.attrs;
    expect(a).toMatchObject({
      body: "duid=gw1;maxload=20;weight=50;rweight=40;cc=1;socket=udp:127.0.0.1:5060;sockname=lan;ping_from=sip:lb@example.com;obproxy=sip:10.9.9.9;latency=30;ocmin=5;ocrate=10;region=eu",
      duid: "gw1",
      maxload: 20,
      weight: 50,
      rweight: 40,
      cc: 1,
      socket: "udp:127.0.0.1:5060",
      sockname: "lan",
      pingFrom: "sip:lb@example.com",
      obproxy: "sip:10.9.9.9",
      latency: 30,
      ocmin: 5,
      ocmax: 100,
      ocrate: 10,
      extra: { region: "eu" },
    });
  });

  it.each([
    [{ id: 4, setid: 1, destination: "http://x" }, 4, "unsupported scheme"],
    [{ id: 5, setid: 1, destination: "sip:" }, 5, "missing host"],
    [{ id: 6, setid: 1, destination: "sip:10.0.0.1:99999" }, 6, "port 99999 out of range"],
    [{ id: 7, setid: 1, destination: "sip:10.0.0.1;transport=carrier-pigeon" }, 7, "unknown transport"],
    [{ id: 8, setid: "one", destination: "sip:10.0.0.1" }, 8, "setid 'one' is not an integer"],
    [{ id: 9, setid: -1, destination: "sip:10.0.0.1" }, 9, "setid -1 is below 0"],
    [{ id: 10, setid: 1, destination: "sip:10.0.0.1", flags: 64 }, 10, "unknown bits"],
    [{ id: 11, setid: 1, destination: "sip:10.0.0.1", attrs: "maxload=lots" }, 11, "maxload='lots' is not an integer"],
    [{ id: 12, setid: 1, destination: "sip:10.0.0.1", attrs: "rweight=0" }, 12, "rweight=0 out of range"],
    [{ id: 13, setid: 1, destination: "sip:10.0.0.1", attrs: "socket=10.0.0.1" }, 13, "socket='10.0.0.1' is not proto:ip:port"],
    [{ id: 14, setid: 1, destination: "" }, 14, "destination is empty"],
    [{ id: 15, setid: 1, destination: "sip:10.0.0.1", attrs: "duid=a;duid=b" }, 15, "given twice"],
  ])("rejects a bad row, naming it: %j", (row, id, reason) => {
    const e = errOf(() => compileDispatcherTables({ dispatcher: [{ id: 1, setid: 1, destination: "sip:ok.example.com" }, row] }));
    expect(e.table).toBe("dispatcher");
    expect(e.row).toBe(id);
    expect(e.reason).toContain(reason);
  });

  it("rejects duplicate destinations (case-insensitive) and duplicate duids within a set", () => {
    const dup = errOf(() =>
      compileDispatcherTables({
        dispatcher: [
          { id: 1, setid: 1, destination: "sip:GW.example.com" },
          { id: 2, setid: 1, destination: "sip:gw.example.com" },
        ],
      }),
    );
    expect([dup.row, dup.reason]).toEqual([2, "destination 'sip:gw.example.com' already in set 1 (row 1)"]);
    // same URI in another set is fine
    expect(() =>
      compileDispatcherTables({
        dispatcher: [
          { id: 1, setid: 1, destination: "sip:gw.example.com" },
          { id: 2, setid: 2, destination: "sip:gw.example.com" },
        ],
      }),
    ).not.toThrow();
    const duid = errOf(() =>
      compileDispatcherTables({
        dispatcher: [
          { id: 1, setid: 1, destination: "sip:a.example.com", attrs: "duid=x" },
          { id: 2, setid: 1, destination: "sip:b.example.com", attrs: "duid=X" },
        ],
      }),
    );
    expect(duid.row).toBe(2);
    expect(duid.reason).toContain("duid 'X' already used in set 1");
    expect(errOf(() => compileDispatcherTables({ dispatcher: [{ id: 3, setid: 1, destination: "sip:a" }, { id: 3, setid: 1, destination: "sip:b" }] })).reason).toContain("id 3 used twice");
  });

  it("prefixes sip: to a destination written without scheme, as Kamailio does", () => {
    const c = compileDispatcherTables({ dispatcher: [{ id: 1, setid: 1, destination: "10.0.0.1:5070" }] });
    expect(c.sets.get(1)!.dests[0]!.uri).toBe("sip:10.0.0.1:5070");
  });

  it("sorts by priority, higher first; equal priorities keep Kamailio's order (later row first)", () => {
    const c = compileDispatcherTables({
      dispatcher: [
        { id: 1, setid: 1, destination: "sip:a.example.com", priority: 5 },
        { id: 2, setid: 1, destination: "sip:b.example.com", priority: 10 },
        { id: 3, setid: 1, destination: "sip:c.example.com", priority: 5 },
        { id: 4, setid: 1, destination: "sip:d.example.com", priority: 0 },
      ],
    });
    expect(c.sets.get(1)!.dests.map((d) => d.id)).toEqual([2, 3, 1, 4]);
    expect(c.sets.get(1)!.dests.map((d) => d.index)).toEqual([0, 1, 2, 3]);
    // alg 15 groups, lowest priority first
    expect(c.sets.get(1)!.srvGroups.map((g) => [g.priority, g.members])).toEqual([
      [0, [3]],
      [5, [1, 2]],
      [10, [0]],
    ]);
    expect(c.sets.get(1)!.samePriority).toBe(false);
  });

  it("precomputes alg 9's 100-slot table from weights: shares exact, overflow dropped, shortfall to the last", () => {
    const c = compileDispatcherTables({
      dispatcher: [
        { id: 1, setid: 1, destination: "sip:a.example.com", attrs: "weight=20" },
        { id: 2, setid: 1, destination: "sip:b.example.com", attrs: "weight=50" },
        { id: 3, setid: 1, destination: "sip:c.example.com", attrs: "weight=10" },
      ],
    });
    const s = c.sets.get(1)!;
    // equal priority → reversed row order: c(10) b(50) a(20); 80 slots given, 20 left go to the last (a)
    expect(s.dests.map((d) => d.id)).toEqual([3, 2, 1]);
    const counts = [0, 0, 0];
    for (const i of s.wlist!) counts[i]!++;
    expect(counts).toEqual([10, 50, 40]);
    // shuffled, but deterministically: compiling again gives the same table (pure)
    const again = compileDispatcherTables({
      dispatcher: [
        { id: 1, setid: 1, destination: "sip:a.example.com", attrs: "weight=20" },
        { id: 2, setid: 1, destination: "sip:b.example.com", attrs: "weight=50" },
        { id: 3, setid: 1, destination: "sip:c.example.com", attrs: "weight=10" },
      ],
    });
    expect([...again.sets.get(1)!.wlist!]).toEqual([...s.wlist!]);
    expect([...s.wlist!.slice(0, 50)].every((i) => i === 1)).toBe(false);

    const over = compileDispatcherTables({
      dispatcher: [
        { id: 1, setid: 1, destination: "sip:a.example.com", attrs: "weight=70", priority: 2 },
        { id: 2, setid: 1, destination: "sip:b.example.com", attrs: "weight=70", priority: 1 },
      ],
    });
    const oc = [0, 0];
    for (const i of over.sets.get(1)!.wlist!) oc[i]!++;
    expect(oc).toEqual([70, 30]);

    const none = compileDispatcherTables({ dispatcher: [{ id: 1, setid: 1, destination: "sip:a.example.com" }] });
    expect(none.sets.get(1)!.wlist).toBeNull();
  });

  it("flags alg 14's round-robin case: all priorities equal and > 0", () => {
    const rr = compileDispatcherTables({
      dispatcher: [
        { id: 1, setid: 1, destination: "sip:a.example.com", priority: 3 },
        { id: 2, setid: 1, destination: "sip:b.example.com", priority: 3 },
      ],
    });
    expect(rr.sets.get(1)!.samePriority).toBe(true);
    const zero = compileDispatcherTables({
      dispatcher: [
        { id: 1, setid: 1, destination: "sip:a.example.com" },
        { id: 2, setid: 1, destination: "sip:b.example.com" },
      ],
    });
    expect(zero.sets.get(1)!.samePriority).toBe(false);
  });

  it("rejects a table set without dispatcher rows", () => {
    expect(errOf(() => compileDispatcherTables({})).reason).toContain("no 'dispatcher' rows");
  });
});
