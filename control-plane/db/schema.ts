/**
 * The control plane's database schema (drizzle, MySQL/MariaDB): Kamailio's tables with Kamailio's
 * exact names, columns, defaults and keys, plus Olelo's `olelo_*` tables
 * (audit, snapshots, and the callfwd module's olelo_callfwd / olelo_callblock). drizzle-kit reads this
 * file (drizzle.config.ts) to generate control-plane/drizzle/*.sql.
 */
export * from "./schema/kamailio-routing.js";
export * from "./schema/kamailio-users.js";
export * from "./schema/kamailio-acc.js";
export * from "./schema/olelo.js";
export * from "./schema/olelo-callfwd.js";
export * from "./schema/olelo-stirshaken.js";
export * from "./schema/kamailio-dialog.js";
export * from "./schema/kamailio-topos.js";
export * from "./schema/olelo-cdrs.js";
export * from "./schema/kamailio-rtpengine.js";
export * from "./schema/kamailio-dialplan-domain.js";
export * from "./schema/kamailio-pipelimit.js";
export * from "./schema/kamailio-uac.js";
export * from "./schema/kamailio-presence.js";
