import type { Dialog } from "./dialog.js";

/**
 * Dialog profiles (Kamailio dlg_profile.c): named sets of dialogs, optionally keyed by a value,
 * used for call limiting ("at most 30 calls on trunk gw1"). Sizes are kept as counts, so
 * getSize is O(1) with or without a value.
 *
 * @example
 *   const p = new ProfileTable(["trunk"], ["inbound"]);
 *   p.set(dlg, "trunk", "gw1");
 *   if (p.size("trunk", "gw1") > 30) req.reply(503, "Too many calls");
 */
export class ProfileTable {
  private readonly profiles = new Map<string, Profile>();

  constructor(withValue: readonly string[], noValue: readonly string[]) {
    for (const n of withValue) this.profiles.set(n, new Profile(n, true));
    for (const n of noValue) this.profiles.set(n, new Profile(n, false));
  }

  has(name: string): boolean {
    return this.profiles.has(name);
  }

  hasValue(name: string): boolean {
    return this.get(name).withValue;
  }

  names(): string[] {
    return [...this.profiles.keys()];
  }

  /**
   * [set_dlg_profile] adds the dialog to a profile (once per profile/value pair). A profile with
   * value needs one; a profile without value ignores it.
   */
  set(d: Dialog, name: string, value?: string): boolean {
    const p = this.get(name);
    const v = p.key(value);
    for (const l of d.profiles) if (l.profile === name && l.value === v) return true;
    p.add(v, d);
    d.profiles.push({ profile: name, value: v });
    return true;
  }

  /** [unset_dlg_profile] removes the dialog from a profile (value required for profiles with value). */
  unset(d: Dialog, name: string, value?: string): boolean {
    const p = this.get(name);
    const v = p.key(value);
    const i = d.profiles.findIndex((l) => l.profile === name && l.value === v);
    if (i < 0) return false;
    d.profiles.splice(i, 1);
    p.remove(v, d);
    return true;
  }

  /** [is_in_profile] without a value: member with any value. */
  isIn(d: Dialog, name: string, value?: string): boolean {
    const p = this.get(name);
    if (p.withValue && value === undefined) return d.profiles.some((l) => l.profile === name);
    const v = p.key(value);
    return d.profiles.some((l) => l.profile === name && l.value === v);
  }

  /** [get_profile_size] members with this value, or all members when no value is given. */
  size(name: string, value?: string): number {
    const p = this.get(name);
    if (!p.withValue || value === undefined) return p.total;
    return p.byValue.get(value)?.size ?? 0;
  }

  /** Dialogs of a profile (optionally with one value), for dlg.profile_list. */
  members(name: string, value?: string): Dialog[] {
    const p = this.get(name);
    const out: Dialog[] = [];
    if (p.withValue && value !== undefined) {
      const s = p.byValue.get(value);
      if (s) out.push(...s);
      return out;
    }
    for (const s of p.byValue.values()) out.push(...s);
    return out;
  }

  /** Drops every membership of an ended dialog. */
  unlinkAll(d: Dialog): void {
    for (const l of d.profiles) this.profiles.get(l.profile)?.remove(l.value, d);
    d.profiles = [];
  }

  private get(name: string): Profile {
    const p = this.profiles.get(name);
    if (!p) throw new Error(`dialog: unknown profile '${name}' (declare it in profiles_with_value or profiles_no_value)`);
    return p;
  }
}

class Profile {
  readonly byValue = new Map<string, Set<Dialog>>();
  total = 0;

  constructor(
    readonly name: string,
    readonly withValue: boolean,
  ) {}

  key(value: string | undefined): string {
    if (!this.withValue) return "";
    if (value === undefined || value === "") throw new Error(`dialog: profile '${this.name}' needs a value`);
    return value;
  }

  add(v: string, d: Dialog): void {
    let s = this.byValue.get(v);
    if (!s) this.byValue.set(v, (s = new Set()));
    if (s.has(d)) return;
    s.add(d);
    this.total++;
  }

  remove(v: string, d: Dialog): void {
    const s = this.byValue.get(v);
    if (!s || !s.delete(d)) return;
    this.total--;
    if (s.size === 0) this.byValue.delete(v);
  }
}
