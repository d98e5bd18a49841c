import { describe, expect, it } from "vitest";
import { compileDialogExtras, compileRequestExtras, parseExtraSpec, uriParts } from "./extra.js";

describe("extra columns", () => {
  it("parses Kamailio's col=$pv;… specs", () => {
    expect(parseExtraSpec(" src_user=$fU ; src_ip=$si;", "db_extra")).toEqual([
      { column: "src_user", pv: "$fU" },
      { column: "src_ip", pv: "$si" },
    ]);
    expect(parseExtraSpec("", "db_extra")).toEqual([]);
    expect(() => parseExtraSpec("src_user", "db_extra")).toThrow(/db_extra: 'src_user' is not column=\$variable/);
    expect(() => parseExtraSpec("bad-col=$fU", "db_extra")).toThrow(/bad column name/);
    expect(() => parseExtraSpec("a=$fU;a=$fd", "db_extra")).toThrow(/given twice/);
  });

  it("rejects unknown variables at compile time, naming the parameter", () => {
    expect(() => compileRequestExtras("x=$nope", "log_extra")).toThrow(/log_extra: unknown variable \$nope/);
    expect(() => compileRequestExtras("x=$foo(bar)", "db_extra")).toThrow(/db_extra: unknown variable \$foo\(bar\)/);
    expect(() => compileRequestExtras("x=$hdr()", "db_extra")).toThrow(/needs a name/);
    expect(() => compileDialogExtras("x=$ua", "cdr_extra")).toThrow(/cdr_extra: unknown variable \$ua for CDRs/);
    expect(() => compileDialogExtras("x=$dlg(nosuch)", "cdr_extra")).toThrow(/not a call.ended field/);
    expect(compileRequestExtras("a=$hdr(X-Account);b=$avp(acct);c=const", "db_extra").map((e) => e.name)).toEqual(["a", "b", "c"]);
  });

  it("splits URIs into user, host and port", () => {
    expect(uriParts("sip:bob@Example.COM:5080;transport=tcp")).toEqual({ user: "bob", host: "example.com", port: "5080" });
    expect(uriParts("<sips:[2001:db8::1]:5061>")).toEqual({ user: "", host: "2001:db8::1", port: "5061" });
    expect(uriParts("tel:+15551234")).toEqual({ user: "+15551234", host: "", port: "" });
    expect(uriParts("mailto:x")).toEqual({ user: "", host: "", port: "" });
    expect(uriParts(null)).toEqual({ user: "", host: "", port: "" });
  });
});
