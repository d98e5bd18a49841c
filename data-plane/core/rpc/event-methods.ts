import type { EventBus } from "../events/bus.js";
import { RpcCode, RpcError } from "../../../lib/rpc/errors.js";
import type { RpcMethod, RpcRegistry } from "../../../lib/rpc/registry.js";

/**
 * The event-stream RPCs. `events.subscribe`/`events.unsubscribe` need a long-lived connection
 * (/ws) and attach the stream to it; `events.since` is the polling form for one-shot transports
 * (HTTP, FIFO, kamcli). Kamailio has no counterpart (its evapi pushes raw strings over TCP).
 *
 * @example
 *   registerEventMethods(registry, bus);   // idempotent: skips names already registered
 */
export function eventMethods(bus: EventBus | undefined): RpcMethod[] {
  const needBus = (): EventBus => {
    if (!bus) throw new RpcError(RpcCode.Unavailable, "no event bus configured on this node");
    return bus;
  };
  return [
    {
      name: "events.subscribe",
      doc: "Streams events to this WebSocket connection as `event` notifications; replays buffered events after `since` first. A second call replaces the filter.",
      params: [
        { name: "kinds", type: "any", optional: true, doc: "array (or comma-separated string) of kinds or prefixes (`call.*`, `dispatcher.`); all when omitted" },
        { name: "since", type: "int", optional: true, doc: "replay buffered events with seq > since (0 = everything buffered)" },
        { name: "epoch", type: "int", optional: true, doc: "epoch of the caller's last event; from an earlier boot the answer says lost: \"restart\" and the replay starts at seq 1" },
      ],
      returns: "{epoch, seq, missed, replayed, lost?, previousEpoch?, missedFrom?, lostCount?}",
      handler: ({ kinds, since, epoch }, call) => {
        const b = needBus();
        if (!call.session) {
          throw new RpcError(RpcCode.BadRequest, "events.subscribe needs a WebSocket connection (/ws); poll with events.since instead");
        }
        const restarted = epoch !== undefined && epoch !== b.epoch && since !== undefined;
        const r = call.session.events.subscribe(checkKinds(kinds), restarted ? 0 : (since as number | undefined));
        if (!restarted) return { epoch: b.epoch, ...r };
        return {
          epoch: b.epoch,
          ...r,
          lost: (epoch as number) < b.epoch ? "restart" : "unknown_epoch",
          previousEpoch: epoch,
          missedFrom: (since as number) + 1,
          lostCount: null,
        };
      },
    },
    {
      name: "events.unsubscribe",
      doc: "Stops the event stream on this WebSocket connection.",
      params: [],
      returns: "{unsubscribed: boolean}",
      handler: (_a, call) => {
        if (!call.session) throw new RpcError(RpcCode.BadRequest, "events.unsubscribe needs a WebSocket connection (/ws)");
        return { unsubscribed: call.session.events.unsubscribe() };
      },
    },
    {
      name: "events.since",
      doc:
        "Buffered events with seq > since, oldest first (polling form of the event stream). `missed` counts events already overwritten in the ring buffer. " +
        "With `epoch` (the epoch of the caller's last event) from an earlier boot, the answer says `lost: \"restart\"`: every event that boot published after `since` is gone " +
        "(how many is not known: lostCount null), and the events of the current epoch follow from seq 1.",
      params: [
        { name: "since", type: "int", doc: "last seq the caller has seen (0 = from the oldest buffered)" },
        { name: "kinds", type: "any", optional: true, doc: "array (or comma-separated string) of kinds or prefixes to keep" },
        { name: "limit", type: "int", optional: true, doc: "at most this many events (default 1000, max 10000)" },
        { name: "epoch", type: "int", optional: true, doc: "epoch of the caller's last event; omitted = the current epoch" },
      ],
      returns: "{epoch, lastSeq, missed, more, lost?, previousEpoch?, missedFrom?, lostCount?, events:[{epoch, seq, kind, ts, node, data}]}",
      handler: ({ since, kinds, limit, epoch }) => {
        const b = needBus();
        const lim = limit === undefined ? 1000 : (limit as number);
        if (lim < 1 || lim > 10_000) throw RpcError.invalidParam("limit", "must be between 1 and 10000");
        if ((since as number) < 0) throw RpcError.invalidParam("since", "must be >= 0");
        const restarted = epoch !== undefined && epoch !== b.epoch;
        const r = b.since(restarted ? 0 : (since as number), checkKinds(kinds));
        const more = r.events.length > lim;
        const events = more ? r.events.slice(0, lim) : r.events;
        if (!restarted) return { epoch: b.epoch, lastSeq: b.lastSeq, missed: r.missed, more, events };
        return {
          epoch: b.epoch,
          lastSeq: b.lastSeq,
          // the caller's epoch is not this boot's: what it published after `since` died with it
          lost: (epoch as number) < b.epoch ? "restart" : "unknown_epoch",
          previousEpoch: epoch,
          missedFrom: (since as number) + 1,
          lostCount: null,
          missed: r.missed,
          more,
          events,
        };
      },
    },
  ];
}

/** Registers the event RPCs that are not registered yet. */
export function registerEventMethods(registry: RpcRegistry, bus: EventBus | undefined): void {
  for (const m of eventMethods(bus)) if (!registry.get(m.name)) registry.register(m);
}

function checkKinds(kinds: unknown): string[] | null {
  if (kinds === undefined || kinds === null || kinds === "") return null;
  const arr = typeof kinds === "string" ? kinds.split(",").map((k) => k.trim()) : kinds;
  if (!Array.isArray(arr)) throw RpcError.invalidParam("kinds", "expected an array or a comma-separated string");
  if (arr.length > 64) throw RpcError.invalidParam("kinds", "at most 64 entries");
  for (const k of arr) {
    if (typeof k !== "string" || k === "" || k.length > 128) throw RpcError.invalidParam("kinds", "entries must be non-empty strings");
  }
  return arr.length ? (arr as string[]) : null;
}
