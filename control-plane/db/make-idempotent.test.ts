import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { makeIdempotent, migrationFiles, UnsafeMigrationError } from "./make-idempotent.js";

const B = "--> statement-breakpoint";

describe("makeIdempotent", () => {
  const generated = [
    "CREATE TABLE `lcr_gw` (\n\t`id` int unsigned AUTO_INCREMENT NOT NULL,\n\t`lcr_id` smallint unsigned NOT NULL,\n\tCONSTRAINT `lcr_gw_id` PRIMARY KEY(`id`)\n);\n",
    "CREATE TABLE `olelo_audit` (\n\t`id` bigint NOT NULL\n);\n",
    "CREATE INDEX `lcr_id_idx` ON `lcr_gw` (`lcr_id`);",
    "CREATE UNIQUE INDEX `u` ON `olelo_audit` (`id`);",
  ].join(`${B}\n`);

  it("turns CREATE TABLE into IF NOT EXISTS and folds indexes into the table they belong to", () => {
    const out = makeIdempotent(generated);
    expect(out).toContain("CREATE TABLE IF NOT EXISTS `lcr_gw`");
    expect(out).toContain("CREATE TABLE IF NOT EXISTS `olelo_audit`");
    expect(out).toContain("CONSTRAINT `lcr_gw_id` PRIMARY KEY(`id`),\n\tINDEX `lcr_id_idx` (`lcr_id`)\n);");
    expect(out).toContain("UNIQUE INDEX `u` (`id`)");
    expect(out).not.toMatch(/CREATE (UNIQUE )?INDEX/);
    expect(out.split(B)).toHaveLength(2);
  });

  it("is a fixed point: running it on its own output changes nothing", () => {
    const once = makeIdempotent(generated);
    expect(makeIdempotent(once)).toBe(once);
  });

  it("refuses statements that would change an existing Kamailio table", () => {
    expect(() => makeIdempotent("ALTER TABLE `dispatcher` ADD `x` int;")).toThrow(UnsafeMigrationError);
    expect(() => makeIdempotent("DROP TABLE `subscriber`;")).toThrow(/would change a Kamailio table/);
    expect(() => makeIdempotent("CREATE INDEX `i` ON `location` (`ruid`);")).toThrow(/existing table `location`/);
    expect(() => makeIdempotent("INSERT INTO `version` (`table_name`) VALUES ('x');")).toThrow(/INSERT IGNORE/);
    expect(() => makeIdempotent("CREATE TRIGGER t AFTER INSERT ON dispatcher FOR EACH ROW SET @x = 1;")).toThrow(/unexpected statement/);
  });

  it("allows changes to Olelo's own tables and INSERT IGNORE", () => {
    expect(makeIdempotent("ALTER TABLE `olelo_audit` ADD `x` int;")).toContain("ALTER TABLE `olelo_audit`");
    expect(makeIdempotent("CREATE INDEX `i` ON `olelo_snapshots` (`kind`);")).toContain("CREATE INDEX IF NOT EXISTS `i` ON `olelo_snapshots`");
    expect(makeIdempotent("INSERT IGNORE INTO `version` (`table_name`, `table_version`) VALUES ('x', 1);")).toContain("INSERT IGNORE");
  });

  it("every shipped migration file is already in its safe form", () => {
    const files = migrationFiles();
    expect(files.length).toBeGreaterThanOrEqual(2);
    for (const f of files) {
      const text = readFileSync(f, "utf8");
      expect(makeIdempotent(text, f), f).toBe(text);
    }
  });
});
