import { beforeAll, describe, expect, it } from "vitest";
import { createLogger, setLogLevel } from "../../core/api.js";
import type { FailureContext } from "../../core/api.js";
import { StatsRegistry } from "../../core/api.js";
import { createDispatcherApi } from "./api.js";
import { DISPATCHER_STATS, DispatcherEngine } from "./engine.js";
import script from "./example-script.js";
import { stateLetters } from "../../../tables/dispatcher/flags.js";
import { parseParams } from "./params.js";
import { compileDispatcherTables } from "../../../tables/dispatcher/table.js";
import { fakeRequest, type FakeRequest } from "./test-support.js";

beforeAll(() => setLogLevel("error"));

function setup(rows: Array<Record<string, unknown>>) {
  const engine = new DispatcherEngine({
    params: parseParams({ probing_threshold: 1 }),
    log: createLogger("test"),
    stats: new StatsRegistry().group("dispatcher", DISPATCHER_STATS),
    publish: () => {},
  });
  engine.apply(compileDispatcherTables({ dispatcher: rows.map((r, i) => ({ id: i + 1, ...r })) }));
  const api = createDispatcherApi(engine, async () => true);
  const routes = script({ modules: { dispatcher: api }, log: createLogger("script"), settings: {} });
  return { engine, routes };
}

/** Turns the request's context into its failure route context (same vars, same transaction). */
function failure(req: FakeRequest, opts: { timeout?: boolean; code: number }): FailureContext {
  return Object.assign(req, {
    route: "failure" as const,
    replyMsg: null,
    replyCode: opts.code,
    isCanceled: () => false,
    branchTimeout: () => opts.timeout === true,
    checkStatus: (re: string | RegExp) => new RegExp(re).test(String(opts.code)),
    branchReplied: () => !opts.timeout,
    anyTimeout: () => opts.timeout === true,
    anyReplied: () => !opts.timeout,
  }) as unknown as FailureContext;
}

describe("example DISPATCH script", () => {
  const rows = [
    { setid: 1, destination: "sip:10.0.0.1", priority: 2 },
    { setid: 1, destination: "sip:10.0.0.2", priority: 1 },
  ];

  it("relays to a destination and arms the failure route", () => {
    const { routes } = setup(rows);
    const req = fakeRequest();
    routes.request(req);
    expect(req.actions).toEqual(["recordRoute", "onFailure RTF_DISPATCH", "relay sip:10.0.0.1"]);
  });

  it("fails over on timeout and on 5xx, marking the failed one, then answers 404", () => {
    const { routes, engine } = setup(rows);
    const req = fakeRequest();
    routes.request(req);
    routes.failure!.RTF_DISPATCH!(failure(req, { timeout: true, code: 408 }));
    expect(req.actions.slice(3)).toEqual(["onFailure RTF_DISPATCH", "relay sip:10.0.0.2"]);
    expect(stateLetters(engine.live.find(1, "sip:10.0.0.1")!.rt.flags)).toBe("IP");
    routes.failure!.RTF_DISPATCH!(failure(req, { code: 503 }));
    expect(req.actions.at(-1)).toBe("reply 404 No destination");
  });

  it("leaves a 486 alone (no failover on a busy destination)", () => {
    const { routes } = setup(rows);
    const req = fakeRequest();
    routes.request(req);
    routes.failure!.RTF_DISPATCH!(failure(req, { code: 486 }));
    expect(req.actions.length).toBe(3);
  });

  it("answers 404 No destination when every destination is down or the set is empty", () => {
    const { routes, engine } = setup(rows);
    for (const d of ["sip:10.0.0.1", "sip:10.0.0.2"]) engine.setState(engine.live.find(1, d)!, 1, { reason: "rpc" });
    const req = fakeRequest();
    routes.request(req);
    expect(req.actions).toEqual(["recordRoute", "reply 404 No destination"]);
    const empty = setup([{ setid: 2, destination: "sip:10.0.0.9" }]);
    const r2 = fakeRequest({ method: "MESSAGE" });
    empty.routes.request(r2);
    expect(r2.actions).toEqual(["reply 404 No destination"]);
  });
});
