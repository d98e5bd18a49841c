import { describe, expect, it } from "vitest";
import { parseDialogParams, DEFAULT_DIALOG_PARAMS } from "./params.js";

describe("parseDialogParams", () => {
  it("gives Kamailio's defaults", () => {
    expect(parseDialogParams({})).toEqual(DEFAULT_DIALOG_PARAMS);
    expect(DEFAULT_DIALOG_PARAMS).toMatchObject({ default_timeout: 43200, send_bye: false, dlg_match_mode: 1, rr_param: "did", hash_size: 4096 });
  });

  it("reads Kamailio-style strings and JSON values", () => {
    const p = parseDialogParams({
      default_timeout: "7200",
      send_bye: "1",
      profiles_with_value: "caller; trunk",
      profiles_no_value: ["inbound", "outbound"],
      dlg_extra_hdrs: "X-A: 1\r\nX-B: two",
      hash_size: 256,
    });
    expect(p).toMatchObject({ default_timeout: 7200, send_bye: true, profiles_with_value: ["caller", "trunk"], profiles_no_value: ["inbound", "outbound"], hash_size: 256 });
    expect(p.dlg_extra_hdrs).toEqual({ "X-A": "1", "X-B": "two" });
  });

  it("names the bad parameter", () => {
    expect(() => parseDialogParams({ nope: 1 })).toThrow("unknown parameter 'nope'");
    expect(() => parseDialogParams({ default_timeout: 0 })).toThrow(/default_timeout/);
    expect(() => parseDialogParams({ dlg_match_mode: 3 })).toThrow(/dlg_match_mode/);
    expect(() => parseDialogParams({ hash_size: 100 })).toThrow(/power of two/);
    expect(() => parseDialogParams({ rr_param: "a b" })).toThrow(/rr_param/);
    expect(() => parseDialogParams({ send_bye: "maybe" })).toThrow(/send_bye/);
    expect(() => parseDialogParams({ profiles_with_value: "a", profiles_no_value: "a" })).toThrow(/both/);
    expect(() => parseDialogParams({ profiles_no_value: "bad name" })).toThrow(/bad profile name/);
    expect(() => parseDialogParams({ dlg_extra_hdrs: "no colon" })).toThrow(/dlg_extra_hdrs/);
    expect(() => parseDialogParams({ dlg_extra_hdrs: { "X-A": "a\r\nInjected: 1" } })).toThrow(/line break/);
  });
});
