import { int, mysqlTable, unique, varchar } from "drizzle-orm/mysql-core";

/** `uacreg` v5 (uac-create.sql): registrations to carriers and their credentials (kind uacreg). */
export const uacreg = mysqlTable(
  "uacreg",
  {
    id: int("id", { unsigned: true }).autoincrement().primaryKey().notNull(),
    l_uuid: varchar("l_uuid", { length: 64 }).notNull().default(""),
    l_username: varchar("l_username", { length: 64 }).notNull().default(""),
    l_domain: varchar("l_domain", { length: 64 }).notNull().default(""),
    r_username: varchar("r_username", { length: 64 }).notNull().default(""),
    r_domain: varchar("r_domain", { length: 64 }).notNull().default(""),
    realm: varchar("realm", { length: 64 }).notNull().default(""),
    auth_username: varchar("auth_username", { length: 64 }).notNull().default(""),
    auth_password: varchar("auth_password", { length: 64 }).notNull().default(""),
    auth_ha1: varchar("auth_ha1", { length: 128 }).notNull().default(""),
    auth_proxy: varchar("auth_proxy", { length: 255 }).notNull().default(""),
    expires: int("expires").notNull().default(0),
    flags: int("flags").notNull().default(0),
    reg_delay: int("reg_delay").notNull().default(0),
    contact_addr: varchar("contact_addr", { length: 255 }).notNull().default(""),
    socket: varchar("socket", { length: 128 }).notNull().default(""),
  },
  (t) => [unique("l_uuid_idx").on(t.l_uuid)],
);
