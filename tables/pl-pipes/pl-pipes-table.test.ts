import { describe, expect, it } from "vitest";
import { compilePlPipes } from "./pl-pipes-table.js";

describe("pl_pipes compile", () => {
  it("compiles Kamailio's rows, templates included", () => {
    const defs = compilePlPipes({
      pl_pipes: [
        { id: 1, pipeid: "inv", algorithm: "TAILDROP", plimit: 100 },
        { id: 2, pipeid: "src:*", algorithm: "RED", plimit: "20" },
        { id: 3, pipeid: "cpu", algorithm: "FEEDBACK", plimit: 80 },
      ],
    });
    expect(defs).toEqual([
      { pipeid: "inv", algorithm: "TAILDROP", limit: 100 },
      { pipeid: "src:*", algorithm: "RED", limit: 20 },
      { pipeid: "cpu", algorithm: "FEEDBACK", limit: 80 },
    ]);
  });

  it("names a bad row with table, key and reason", () => {
    expect(() => compilePlPipes({ pl_pipes: [{ id: 7, pipeid: "x", algorithm: "taildrop", plimit: 1 }] })).toThrow(/pl_pipes row 7: algorithm: unknown algorithm 'taildrop'/);
    expect(() => compilePlPipes({ pl_pipes: [{ id: 8, pipeid: "x", algorithm: "RED", plimit: -1 }] })).toThrow(/pl_pipes row 8: plimit/);
    expect(() => compilePlPipes({ pl_pipes: [{ id: 9, pipeid: "", algorithm: "RED", plimit: 1 }] })).toThrow(/pl_pipes row 9: pipeid/);
    expect(() => compilePlPipes({ pl_pipes: [{ id: 1, pipeid: "a", algorithm: "RED", plimit: 1 }, { id: 2, pipeid: "a", algorithm: "RED", plimit: 2 }] })).toThrow(/row 2: pipeid: duplicate/);
    expect(() => compilePlPipes({ pl_pipes: [{ id: 1, pipeid: "a", algorithm: "FEEDBACK", plimit: 80 }, { id: 2, pipeid: "b", algorithm: "FEEDBACK", plimit: 70 }] })).toThrow(/row 2: plimit: FEEDBACK limits must be equal/);
    expect(() => compilePlPipes({ pl_pipes: [{ id: 3, pipeid: "a", algorithm: "FEEDBACK", plimit: 101 }] })).toThrow(/row 3: plimit/);
  });
});
