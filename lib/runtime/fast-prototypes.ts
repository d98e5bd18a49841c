/**
 * Keeps the prototypes of JavaScript's primitive wrappers (String, Number, Boolean, Symbol, BigInt)
 * in V8's fast-properties mode.
 *
 * V8 turns an object's properties into a dictionary when the object becomes the prototype of a new
 * kind of object: `class VerbatimString extends String` in ioredis (imported by every module with a
 * Redis store), or any `Object.create(String.prototype)`, leaves `String.prototype` a dictionary for
 * the rest of the process. Objects heal on their own (the next property load through one of their
 * instances makes their prototype chain fast again), but a load on a primitive (`s.charCodeAt`,
 * `s.indexOf`, `n.toString`) does not, and optimized code then cannot bind String.prototype's
 * methods at compile time: every such load goes through the generic LoadIC. On the SIP hot path,
 * which is string scanning, that was 15 % of the process' CPU (perf, 2026-12-08: 34 → 24 µs per
 * stateless OPTIONS). A few property loads through wrapper objects (`new String("")`) take the
 * healing path for each prototype.
 *
 * Call it after code that may define such subclasses has been imported (modules, the routing
 * script): cheap (a few dozen loads), idempotent.
 */
const WRAPPERS: object[] = [Object(""), Object(0), Object(false), Object(Symbol("olelo")), Object(0n)];

/** A load site of its own: V8 gives it feedback after a few calls, and the healing happens there. */
function loadThrough(o: object): unknown {
  return (o as { valueOf: unknown }).valueOf;
}

export function restorePrimitivePrototypes(): void {
  // 16 rounds: beyond the calls V8 makes before it allocates the function's feedback (8 today)
  for (let i = 0; i < 16; i++) for (const w of WRAPPERS) loadThrough(w);
}
