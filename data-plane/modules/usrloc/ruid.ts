import { randomBytes } from "node:crypto";

/**
 * Record unique ids for bindings, in Kamailio's sruid shape `uloc-<start time hex>-<node hex>-<n>`
 * (usrloc's `ruid` column). The node part is random per process, so two data planes sharing one
 * store never hand out the same ruid.
 */
export class RuidGenerator {
  private readonly prefix: string;
  private n = 0;

  constructor(prefix = "uloc") {
    const t = Math.floor(Date.now() / 1000).toString(16);
    this.prefix = `${prefix}-${t}-${randomBytes(3).toString("hex")}-`;
  }

  next(): string {
    // a concatenation of the shared prefix and the counter: cheaper to build than a flat copy,
    // and only a few bytes larger per binding
    return this.prefix + (++this.n).toString();
  }
}
