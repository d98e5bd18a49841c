/** The builder's errors (build-prefix-tree.ts re-exports them). */
/** A key that the builder cannot take (character outside the alphabet, too long). */
export class PrefixKeyError extends Error {
  override readonly name = "PrefixKeyError";
  constructor(
    readonly key: string,
    readonly position: number,
    reason: string,
  ) {
    super(reason);
  }
}

/** The same prefix added twice without a merge function. */
export class DuplicatePrefixError extends Error {
  override readonly name = "DuplicatePrefixError";
  constructor(
    readonly key: string,
    /** Position (in add order) of the second occurrence. */
    readonly index: number,
    /** Position (in add order) of the first occurrence. */
    readonly firstIndex: number,
  ) {
    super(`duplicate prefix '${key}'`);
  }
}
