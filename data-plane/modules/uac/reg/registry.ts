import { UacRegTable, type UacRegRow } from "../../../../tables/uacreg/uacreg-table.js";
import { Registration, type RegEvents } from "./registration.js";

/** The attributes uac.reg_info / reg_enable / reg_disable filter on (Kamailio's). */
export const REG_ATTRS = ["l_uuid", "l_username", "r_username", "auth_username"] as const;
export type RegAttr = (typeof REG_ATTRS)[number];

function sameRow(a: UacRegRow, b: UacRegRow): boolean {
  for (const k of Object.keys(a) as (keyof UacRegRow)[]) if (k !== "id" && a[k] !== b[k]) return false;
  return true;
}

/**
 * The registrations of the live uacreg table, keyed by l_uuid. A new table version keeps the
 * state of unchanged rows (no extra REGISTER on a reload), starts new rows, restarts changed ones
 * and drops removed ones (their bindings expire at the carrier).
 */
export class UacRegistry {
  table = UacRegTable.empty();
  readonly regs = new Map<string, Registration>();
  private stopped = false;

  constructor(private readonly ev: RegEvents) {}

  apply(table: UacRegTable): void {
    this.table = table;
    if (this.stopped) return;
    for (const [uuid, reg] of this.regs) {
      if (!table.byUuid.has(uuid)) {
        reg.stop();
        this.regs.delete(uuid);
      }
    }
    for (const row of table.rows) {
      const have = this.regs.get(row.l_uuid);
      if (have && sameRow(have.row, row)) {
        have.row = row;
        continue;
      }
      have?.stop();
      const reg = new Registration(row, this.ev);
      this.regs.set(row.l_uuid, reg);
      reg.start();
    }
  }

  find(attr: RegAttr, value: string): Registration[] {
    const out: Registration[] = [];
    for (const r of this.regs.values()) if (r.row[attr] === value) out.push(r);
    return out;
  }

  counts(): { total: number; active: number; disabled: number } {
    let active = 0;
    let disabled = 0;
    for (const r of this.regs.values()) {
      if (!r.registers) continue;
      if (r.online) active++;
      if (r.flags & 1) disabled++;
    }
    return { total: [...this.regs.values()].filter((r) => r.registers).length, active, disabled };
  }

  stop(): void {
    this.stopped = true;
    for (const r of this.regs.values()) r.stop();
  }
}
