/**
 * Post-processes drizzle-kit's generated migrations so that they are safe on a database that
 * Kamailio's own scripts already created (control-plane/README.md, "Migrations"):
 *
 * - `CREATE TABLE t` becomes `CREATE TABLE IF NOT EXISTS t`: an existing Kamailio table is kept
 *   exactly as it is, a missing one is created with Kamailio's definition.
 * - `CREATE INDEX i ON t` is folded into t's `CREATE TABLE` when the same migration creates t, so
 *   an index is only ever added together with its table (never to an existing Kamailio table).
 *   On `olelo_*` tables created earlier it becomes `CREATE INDEX IF NOT EXISTS` (MariaDB).
 * - Anything that would change an existing Kamailio table (ALTER/DROP/RENAME/TRUNCATE, a later
 *   CREATE INDEX, a plain INSERT) is refused: such a change needs a hand-written, guarded migration.
 *
 * Run after `npx drizzle-kit generate --config drizzle.config.ts`:
 *   npx tsx control-plane/db/make-idempotent.ts          # rewrite the files in place
 *   npx tsx control-plane/db/make-idempotent.ts --check  # exit 1 if a file is not already safe
 * Running it twice changes nothing.
 */
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const BREAK = "--> statement-breakpoint";

/** Tables Olelo owns; every other table may belong to Kamailio and is never altered. */
export function isOleloTable(name: string): boolean {
  return name.startsWith("olelo_") || name === "__drizzle_migrations";
}

/** Thrown for a statement that would alter a table Olelo does not own. */
export class UnsafeMigrationError extends Error {
  override readonly name = "UnsafeMigrationError";
}

const CREATE_TABLE = /^CREATE TABLE (IF NOT EXISTS )?`([^`]+)`/i;
const CREATE_INDEX = /^CREATE (UNIQUE )?INDEX (IF NOT EXISTS )?`([^`]+)` ON `([^`]+)` \(([^)]*)\);?$/i;
const CHANGE_TABLE = /^(ALTER|DROP|RENAME|TRUNCATE) TABLE (IF EXISTS )?`([^`]+)`/i;
const INSERT = /^INSERT (IGNORE )?INTO `([^`]+)`/i;

/** Strips leading `--` comment lines so the statement keyword can be matched. */
function body(stmt: string): string {
  return stmt
    .split("\n")
    .filter((l) => !l.trim().startsWith("--"))
    .join("\n")
    .trim();
}

/**
 * Rewrites one migration file's SQL. Returns the new text; throws UnsafeMigrationError naming the
 * statement when it cannot be made safe.
 */
export function makeIdempotent(sqlText: string, file = "migration"): string {
  const stmts = sqlText.split(BREAK);
  const out: string[] = [];
  const createdHere = new Map<string, number>(); // table → index in out
  for (const raw of stmts) {
    const stmt = body(raw);
    if (stmt === "") {
      if (raw.trim() !== "") out.push(raw); // comment-only chunk
      continue;
    }
    let m: RegExpMatchArray | null;
    if ((m = stmt.match(CREATE_TABLE))) {
      const table = m[2]!;
      const fixed = raw.replace(/CREATE TABLE (IF NOT EXISTS )?`/i, "CREATE TABLE IF NOT EXISTS `");
      createdHere.set(table, out.length);
      out.push(fixed);
    } else if ((m = stmt.match(CREATE_INDEX))) {
      const [, uniq, , idx, table, cols] = m as unknown as [string, string | undefined, string | undefined, string, string, string];
      const at = createdHere.get(table);
      if (at !== undefined) {
        const create = out[at]!;
        const end = create.lastIndexOf("\n);");
        if (end < 0) throw new UnsafeMigrationError(`${file}: cannot find the end of CREATE TABLE \`${table}\``);
        out[at] = `${create.slice(0, end)},\n\t${uniq ? "UNIQUE " : ""}INDEX \`${idx}\` (${cols})${create.slice(end)}`;
      } else if (isOleloTable(table)) {
        out.push(`\nCREATE ${uniq ? "UNIQUE " : ""}INDEX IF NOT EXISTS \`${idx}\` ON \`${table}\` (${cols});`);
      } else {
        throw new UnsafeMigrationError(
          `${file}: CREATE INDEX \`${idx}\` on existing table \`${table}\` would alter a Kamailio table; write a guarded migration by hand`,
        );
      }
    } else if ((m = stmt.match(CHANGE_TABLE))) {
      if (!isOleloTable(m[3]!)) {
        throw new UnsafeMigrationError(`${file}: ${m[1]!.toUpperCase()} TABLE \`${m[3]}\` would change a Kamailio table`);
      }
      out.push(raw);
    } else if ((m = stmt.match(INSERT))) {
      if (!m[1] && !isOleloTable(m[2]!)) {
        throw new UnsafeMigrationError(`${file}: INSERT into \`${m[2]}\` must be INSERT IGNORE (keep Kamailio's rows)`);
      }
      out.push(raw);
    } else {
      throw new UnsafeMigrationError(`${file}: unexpected statement: ${stmt.slice(0, 80)}`);
    }
  }
  // Normalise separators: every statement ends with a newline before the breakpoint marker.
  return out.map((s) => s.replace(/^\n+/, "").replace(/\n*$/, "\n")).join(`${BREAK}\n`);
}

/** The migrations folder shipped with the control plane (absolute, independent of the cwd). */
export const MIGRATIONS_FOLDER = fileURLToPath(new URL("../drizzle", import.meta.url));

/** Journal entries in apply order. */
export function migrationFiles(folder = MIGRATIONS_FOLDER): string[] {
  const journal = JSON.parse(readFileSync(join(folder, "meta", "_journal.json"), "utf8")) as {
    entries: Array<{ tag: string }>;
  };
  return journal.entries.map((e) => join(folder, `${e.tag}.sql`));
}

function main(): void {
  const check = process.argv.includes("--check");
  let bad = 0;
  for (const f of migrationFiles()) {
    const text = readFileSync(f, "utf8");
    const fixed = makeIdempotent(text, f);
    if (fixed !== text) {
      if (check) {
        console.error(`not idempotent yet: ${f}`);
        bad++;
      } else {
        writeFileSync(f, fixed);
        console.log(`rewrote ${f}`);
      }
    }
  }
  if (bad) process.exit(1);
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) main();
