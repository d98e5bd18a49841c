import { datetime, int, mysqlTable, unique, varchar } from "drizzle-orm/mysql-core";

/** `rtpengine` v1 (rtpengine-create.sql): media relay instances of the rtpengine module (kind rtpengine). */
export const rtpengine = mysqlTable(
  "rtpengine",
  {
    id: int("id", { unsigned: true }).autoincrement().primaryKey().notNull(),
    setid: int("setid", { unsigned: true }).notNull().default(0),
    url: varchar("url", { length: 64 }).notNull(),
    weight: int("weight", { unsigned: true }).notNull().default(1),
    disabled: int("disabled").notNull().default(0),
    stamp: datetime("stamp", { mode: "string" }).notNull().default("1900-01-01 00:00:01"),
  },
  (t) => [unique("rtpengine_nodes").on(t.setid, t.url)],
);
