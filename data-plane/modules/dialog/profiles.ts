import type { KeyCounts } from "../../core/api.js";
import type { Dialog } from "./dialog.js";

/**
 * Dialog profiles (Kamailio dlg_profile.c): named sets of dialogs, optionally keyed by a value,
 * used for call limiting ("at most 30 calls on trunk gw1"). Sizes are kept as counts, so
 * getSize is O(1) with or without a value. With workers (`shareWith`), each worker also counts
 * its members into its row of the node's shared matrix (keys `profile` and `profile\0value`),
 * and `size` is the sum over the workers; the member sets stay with the worker of each dialog.
 *
 * @example
 *   const p = new ProfileTable(["trunk"], ["inbound"]);
 *   p.set(dlg, "trunk", "gw1");
 *   if (p.size("trunk", "gw1") > 30) req.reply(503, "Too many calls");
 */
export class ProfileTable {
  private readonly profiles = new Map<string, Profile>();
  private shared: KeyCounts | null = null;

  constructor(withValue: readonly string[], noValue: readonly string[]) {
    for (const n of withValue) this.profiles.set(n, new Profile(n, true));
    for (const n of noValue) this.profiles.set(n, new Profile(n, false));
  }

  /** Sizes from now on are the node's (set once at start, before any dialog). */
  shareWith(counts: KeyCounts): void {
    this.shared = counts;
    counts.resetRow();
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
    if (p.add(v, d)) this.count(p, v, 1);
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
    if (p.remove(v, d)) this.count(p, v, -1);
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
    if (this.shared !== null) return this.shared.sum(!p.withValue || value === undefined ? name : `${name}\0${value}`);
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
    for (const l of d.profiles) {
      const p = this.profiles.get(l.profile);
      if (p?.remove(l.value, d)) this.count(p, l.value, -1);
    }
    d.profiles = [];
  }

  private count(p: Profile, v: string, by: number): void {
    const s = this.shared;
    if (s === null) return;
    s.add(p.name, by);
    if (p.withValue) s.add(`${p.name}\0${v}`, by);
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

  /** True when the dialog was not a member yet. */
  add(v: string, d: Dialog): boolean {
    let s = this.byValue.get(v);
    if (!s) this.byValue.set(v, (s = new Set()));
    if (s.has(d)) return false;
    s.add(d);
    this.total++;
    return true;
  }

  /** True when the dialog was a member. */
  remove(v: string, d: Dialog): boolean {
    const s = this.byValue.get(v);
    if (!s || !s.delete(d)) return false;
    this.total--;
    if (s.size === 0) this.byValue.delete(v);
    return true;
  }
}
