/**
 * A module's cleanup per live instance, keyed by the API its `init` returned: several data planes
 * may share a process (tests), so `destroy(api)` must stop that instance only, and `destroy()` every
 * one. The stops run in the order the instances were added; a stop that returns a promise is
 * awaited before the next one runs, synchronous stops run at once.
 *
 * @example
 *   const live = new LiveInstances<PikeApi>();
 *   init(host) { …; return live.add(api, () => clearInterval(timer)); },
 *   destroy: (api) => live.destroy(api),
 */
export class LiveInstances<Api> {
  private readonly stops = new Map<Api, () => void | Promise<void>>();

  /** Registers the cleanup of the instance `api` (replacing an earlier one) and returns `api`. */
  add(api: Api, stop: () => void | Promise<void>): Api {
    this.stops.set(api, stop);
    return api;
  }

  /** Stops and forgets the instance `api`, or every instance when `api` is undefined. */
  destroy(api?: Api): void | Promise<void> {
    const list = [...this.stops].filter(([a]) => api === undefined || a === api);
    return runFrom(this.stops, list, 0);
  }
}

function runFrom<Api>(stops: Map<Api, unknown>, list: [Api, () => void | Promise<void>][], i: number): void | Promise<void> {
  for (; i < list.length; i++) {
    const [a, stop] = list[i]!;
    stops.delete(a);
    const r = stop();
    if (r instanceof Promise) {
      const next = i + 1;
      return r.then(() => runFrom(stops, list, next));
    }
  }
}
