import { describe, expect, it } from "vitest";
import { TableError } from "../../../data-plane/core/tables/registry.js";
import { validateAliasDb, validateSpeedDial } from "./routing-misc.js";

/** Runs `fn` and returns the TableError it throws as {table,row,reason}. */
function failure(fn: () => unknown): { table: string; row: string | number | null; reason: string } {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(TableError);
    const t = e as TableError;
    return { table: t.table, row: t.row, reason: t.reason };
  }
  throw new Error("expected a TableError");
}

describe("small kinds", () => {
  it("dbaliases, speed_dial", () => {
    expect(
      failure(() =>
        validateAliasDb({
          dbaliases: [
            { id: 1, alias_username: "100", alias_domain: "a", username: "u", domain: "a" },
            { id: 2, alias_username: "100", alias_domain: "A", username: "v", domain: "a" },
          ],
        }),
      ),
    ).toMatchObject({ table: "dbaliases", row: 2 });
    expect(failure(() => validateSpeedDial({ speed_dial: [{ id: 1, username: "u", sd_username: "11", new_uri: "bob" }] }))).toMatchObject({ row: 1 });
  });
});
