/**
 * The fleet controller's durable decisions in `olelo_fleet_state` (migration 0012): one JSON value
 * per name (`pin:<kind>`, `rejected:<kind>`, `canary`, `canary.seq`), so rollback pins and canaries
 * survive a control-plane restart (control-plane/push/fleet.ts, push/README.md "Canary and rollback").
 *
 * @example
 *   const store = mysqlFleetStateStore(pool);
 *   await store.save("pin:dispatcher", { version: "9f2c…", by: "ops", at: "…" });
 *   await store.load();     // [{ name: "pin:dispatcher", value: {…} }]
 */
import type { Pool, RowDataPacket } from "mysql2/promise";
import type { FleetStateStore } from "../push/fleet.js";

export function mysqlFleetStateStore(pool: Pool): FleetStateStore {
  return {
    async load() {
      const [rows] = await pool.query<RowDataPacket[]>("SELECT `name`, `value` FROM `olelo_fleet_state` ORDER BY `name`");
      return rows.map((r) => ({ name: String(r.name), value: typeof r.value === "string" ? JSON.parse(r.value) : r.value }));
    },
    async save(name, value) {
      await pool.query("INSERT INTO `olelo_fleet_state` (`name`, `value`, `updated_at`) VALUES (?, ?, CURRENT_TIMESTAMP(3)) ON DUPLICATE KEY UPDATE `value` = VALUES(`value`), `updated_at` = VALUES(`updated_at`)", [name, JSON.stringify(value)]);
    },
    async remove(name) {
      await pool.query("DELETE FROM `olelo_fleet_state` WHERE `name` = ?", [name]);
    },
  };
}
