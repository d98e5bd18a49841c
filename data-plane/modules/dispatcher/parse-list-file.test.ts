import { describe, expect, it } from "vitest";
import { TableError } from "../../core/api.js";
import { formatListFile, parseListFile } from "./parse-list-file.js";
import { compileDispatcherTables } from "../../../tables/dispatcher/table.js";

describe("parseListFile", () => {
  it("reads Kamailio's format: setid uri [flags [priority [attrs]]], comments, blank lines, hex flags", () => {
    const text = [
      "# dispatcher.list",
      "",
      "1 sip:10.0.0.1:5080 8 10 duid=gw1;maxload=20;weight=50",
      "  1\tsip:10.0.0.2:5080   0x8  5   # second gateway",
      "2 sip:pbx.example.com",
      "2 sip:10.0.0.3;transport=tcp 0 0 # no attrs",
      "   # indented comment",
      "3 sips:[2001:db8::1]:5061 0x20",
    ].join("\r\n");
    const set = parseListFile(text);
    expect(set.dispatcher).toEqual([
      { id: 3, setid: 1, destination: "sip:10.0.0.1:5080", flags: 8, priority: 10, attrs: "duid=gw1;maxload=20;weight=50" },
      { id: 4, setid: 1, destination: "sip:10.0.0.2:5080", flags: 8, priority: 5, attrs: "" },
      { id: 5, setid: 2, destination: "sip:pbx.example.com", flags: 0, priority: 0, attrs: "" },
      { id: 6, setid: 2, destination: "sip:10.0.0.3;transport=tcp", flags: 0, priority: 0, attrs: "" },
      { id: 8, setid: 3, destination: "sips:[2001:db8::1]:5061", flags: 32, priority: 0, attrs: "" },
    ]);
    // the rows compile through the same loader a pushed table uses
    const c = compileDispatcherTables(set);
    expect(c.setIds).toEqual([1, 2, 3]);
    expect(c.sets.get(1)!.dests.map((d) => d.id)).toEqual([3, 4]);
  });

  it("an empty file or only comments gives no rows", () => {
    expect(parseListFile("")).toEqual({ dispatcher: [] });
    expect(parseListFile("# nothing\n\n   \n")).toEqual({ dispatcher: [] });
  });

  it.each([
    ["1\n", 1, "expected 'setid uri"],
    ["# ok\nx sip:a.example.com\n", 2, "setid 'x' is not a number"],
    ["1 sip:a 8 10 duid=a\n1 sip:b zz\n", 2, "flags 'zz' is not a number"],
    ["\n\n1 sip:a 0 high\n", 3, "priority 'high' is not a number"],
    ["1 sip:a 0 0 duid=a extra\n", 1, "too many fields"],
  ])("names the bad line: %j", (text, line, reason) => {
    let err: unknown;
    try {
      parseListFile(text);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(TableError);
    const te = err as TableError;
    expect(te.table).toBe("dispatcher");
    expect(te.row).toBe(line);
    expect(te.message).toContain(`line ${line}`);
    expect(te.message).toContain(reason);
  });

  it("compile errors on file rows name the line too", () => {
    const set = parseListFile("1 sip:10.0.0.1\n\n1 sip:10.0.0.2 0 0 weight=500\n");
    expect(() => compileDispatcherTables(set)).toThrowError(/dispatcher row 3: attrs: weight=500 out of range 1\.\.100/);
  });

  it("formatListFile writes rows that parse back to the same rows", () => {
    const rows = parseListFile("1 sip:a.example.com 8 10 duid=x\n2 sip:b.example.com\n").dispatcher;
    const again = parseListFile(formatListFile(rows)).dispatcher;
    expect(again.map(({ id: _id, ...r }) => r)).toEqual(rows.map(({ id: _id, ...r }) => r));
  });
});
