/**
 * Kamailio's pipelimit table, column for column as in Kamailio 5.6's MySQL script
 * (/usr/share/kamailio/mysql/pipelimit-create.sql).
 */
import { int, mysqlTable, varchar } from "drizzle-orm/mysql-core";

/** `pl_pipes` v1 (pipelimit-create.sql): one pipe per row, its algorithm and limit. */
export const pl_pipes = mysqlTable("pl_pipes", {
  id: int("id", { unsigned: true }).autoincrement().primaryKey().notNull(),
  pipeid: varchar("pipeid", { length: 64 }).notNull().default(""),
  algorithm: varchar("algorithm", { length: 32 }).notNull().default(""),
  plimit: int("plimit").notNull().default(0),
});
