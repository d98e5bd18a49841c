/**
 * Kamailio's topos storage tables (topos-create.sql, Kamailio 5.6): `topos_d` v2 (one row per
 * dialog) and `topos_t` v2 (one row per branch), written by the data plane's topos module with
 * `storage: db`; runtime state, not a pushed kind: the control plane creates them and lists them
 * read-only.
 */
import { datetime, index, int, mediumtext, mysqlTable, varchar } from "drizzle-orm/mysql-core";

const u = (name: string) => int(name, { unsigned: true });
const v = (name: string, length: number) => varchar(name, { length }).notNull().default("");
/** The leading columns both tables have (fresh builders per table). */
const common = () => ({
  id: u("id").autoincrement().primaryKey().notNull(),
  rectime: datetime("rectime", { mode: "string" }).notNull(),
  x_context: v("x_context", 64),
  s_method: v("s_method", 64),
  s_cseq: v("s_cseq", 64),
  a_callid: v("a_callid", 255),
  a_uuid: v("a_uuid", 255),
  b_uuid: v("b_uuid", 255),
});
/** The four contact columns both tables have. */
const contacts = () => ({
  a_contact: v("a_contact", 512),
  b_contact: v("b_contact", 512),
  as_contact: v("as_contact", 512),
  bs_contact: v("bs_contact", 512),
});

/** `topos_d` v2: what topos stripped from a dialog's messages (contacts, route sets, tags). */
export const topos_d = mysqlTable(
  "topos_d",
  {
    ...common(),
    ...contacts(),
    a_tag: v("a_tag", 255),
    b_tag: v("b_tag", 255),
    a_rr: mediumtext("a_rr"),
    b_rr: mediumtext("b_rr"),
    s_rr: mediumtext("s_rr"),
    iflags: u("iflags").notNull().default(0),
    a_uri: v("a_uri", 255),
    b_uri: v("b_uri", 255),
    r_uri: v("r_uri", 255),
    a_srcaddr: v("a_srcaddr", 128),
    b_srcaddr: v("b_srcaddr", 128),
    a_socket: v("a_socket", 128),
    b_socket: v("b_socket", 128),
  },
  (t) => [index("rectime_idx").on(t.rectime), index("a_callid_idx").on(t.a_callid), index("a_uuid_idx").on(t.a_uuid), index("b_uuid_idx").on(t.b_uuid)],
);

/** `topos_t` v2: what topos stripped from one request copy (its Vias), under its Via branch. */
export const topos_t = mysqlTable(
  "topos_t",
  {
    ...common(),
    direction: int("direction").notNull().default(0),
    x_via: mediumtext("x_via"),
    x_vbranch: v("x_vbranch", 255),
    x_rr: mediumtext("x_rr"),
    y_rr: mediumtext("y_rr"),
    s_rr: mediumtext("s_rr"),
    x_uri: v("x_uri", 255),
    ...contacts(),
    x_tag: v("x_tag", 255),
    a_tag: v("a_tag", 255),
    b_tag: v("b_tag", 255),
    a_srcaddr: v("a_srcaddr", 255),
    b_srcaddr: v("b_srcaddr", 255),
    a_socket: v("a_socket", 128),
    b_socket: v("b_socket", 128),
  },
  (t) => [index("rectime_idx").on(t.rectime), index("a_callid_idx").on(t.a_callid), index("x_vbranch_idx").on(t.x_vbranch), index("a_uuid_idx").on(t.a_uuid)],
);
