/**
 * The control plane's database layer: open, migrate, describe.
 *
 * @example
 *   const { database, migration } = await openControlPlaneDatabase(process.env.OLELO_DB_URL!);
 */
import { createDatabase, type Database } from "./connect.js";
import { migrateDatabase, type MigrationReport } from "./migrate.js";

export { createDatabase, type Database, type OleloDb } from "./connect.js";
export { migrateDatabase, type MigrationReport } from "./migrate.js";
export { KAMAILIO_TABLES, KAMAILIO_TABLE_VERSIONS, TABLES, tableInfo, type ColumnInfo, type TableInfo } from "./catalog.js";

/** Opens the pool and applies the migrations (control-plane start). Closes the pool if migrating fails. */
export async function openControlPlaneDatabase(url: string): Promise<{ database: Database; migration: MigrationReport }> {
  const database = createDatabase(url);
  try {
    const migration = await migrateDatabase(database.db, database.pool);
    return { database, migration };
  } catch (e) {
    await database.close();
    throw e;
  }
}
