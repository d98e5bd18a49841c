import type { RequestState } from "../../core/api.js";

/**
 * Branch flags of the R-URI branch (Kamailio setbflag/resetbflag/isbflagset on branch 0). The
 * routing API has message flags only, so they live in a request variable: save() stores them as
 * the binding's `cflags` (e.g. FLB_NATB 6, FLB_NATSIPPING 7 of the default configuration) and
 * lookup() sets them back from the chosen contact. Appended branches carry theirs in
 * appendBranch's `flags`.
 */
export const BFLAGS_VAR = "registrar:bflags";

/** The branch flags of the R-URI branch (0 when none were set). */
export function getBflags(req: RequestState): number {
  const v = req.vars.get(BFLAGS_VAR);
  return typeof v === "number" ? v : 0;
}

/** Replaces the branch flags of the R-URI branch. */
export function setBflags(req: RequestState, v: number): void {
  req.vars.set(BFLAGS_VAR, v >>> 0);
}

function checkFlag(flag: number): void {
  if (!Number.isInteger(flag) || flag < 0 || flag > 31) throw new RangeError(`branch flag must be 0..31, got ${flag}`);
}

/** [setbflag(flag)] */
export function setBflag(req: RequestState, flag: number): void {
  checkFlag(flag);
  setBflags(req, getBflags(req) | (1 << flag));
}

/** [resetbflag(flag)] */
export function resetBflag(req: RequestState, flag: number): void {
  checkFlag(flag);
  setBflags(req, getBflags(req) & ~(1 << flag));
}

/** [isbflagset(flag)] */
export function isBflagSet(req: RequestState, flag: number): boolean {
  checkFlag(flag);
  return (getBflags(req) & (1 << flag)) !== 0;
}
