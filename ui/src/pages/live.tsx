/**
 * Live state of one data plane through the control plane's `node.rpc`: dispatcher destinations and
 * their state letters, LCR gateway health, active calls (with End call for operators),
 * registrations of a user, banned sources.
 */
import { useEffect, useState } from "preact/hooks";
import { canWrite, rpc, type Session } from "../rpc.js";
import { ErrorLine, Field, Notice, cell, messageOf, usePoll } from "../kit.js";
import type { FleetNode } from "./fleet.js";

const nodeRpc = <T,>(node: string, method: string, params: unknown = []) => rpc<T>("node.rpc", { node, method, params });

interface Dest {
  URI: string;
  FLAGS: string;
  PRIORITY: number;
  ATTRS?: { BODY?: string };
  LATENCY?: { AVG?: number };
}
interface Dialog {
  h_entry: number;
  h_id: number;
  "call-id": string;
  from_uri: string;
  to_uri: string;
  state: number;
  start_ts: number;
  duration?: number;
}

function Block<T>(p: { title: string; node: string; method: string; every: number; render: (d: T, reload: () => void) => preact.ComponentChildren }) {
  const r = usePoll(() => nodeRpc<T>(p.node, p.method), p.every, [p.node]);
  return (
    <section aria-label={p.title}>
      <h2>{p.title}</h2>
      {r.error ? <p class="muted">{r.error}</p> : r.data === null ? <p class="muted">Loading…</p> : p.render(r.data, r.reload)}
    </section>
  );
}

export function LivePage({ session }: { session: Session }) {
  const nodes = usePoll(() => rpc<FleetNode[]>("nodes"), 5000);
  const [node, setNode] = useState("");
  const [aor, setAor] = useState("");
  const [regs, setRegs] = useState<unknown>(null);
  const [note, setNote] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  useEffect(() => {
    const first = nodes.data?.find((n) => n.connected);
    // the current value, not this render's: an effect that runs after the operator picked a node
    // (the first poll's render, effects run after paint) must not switch back to the first node
    if (first) setNode((cur) => cur || first.nodeId);
  }, [nodes.data]);
  const write = canWrite(session);
  return (
    <>
      <div class="toolbar">
        <label for="live-node">Data plane</label>
        <select id="live-node" value={node} onChange={(e) => setNode((e.target as HTMLSelectElement).value)}>
          {(nodes.data ?? []).map((n) => (
            <option value={n.nodeId} disabled={!n.connected}>
              {n.nodeId}
              {n.connected ? "" : " (disconnected)"}
            </option>
          ))}
        </select>
      </div>
      <Notice text={note} />
      <ErrorLine error={error ?? nodes.error} />
      {node ? (
        <div key={node}>
          <Block<Dialog[]>
            title="Active calls"
            node={node}
            method="dlg.list"
            every={1500}
            render={(list, reload) =>
              list.length === 0 ? (
                <p class="muted" data-testid="no-calls">No active calls.</p>
              ) : (
                <table class="grid" aria-label="Active calls">
                  <thead>
                    <tr>
                      <th scope="col">Call-ID</th>
                      <th scope="col">From</th>
                      <th scope="col">To</th>
                      <th scope="col">State</th>
                      <th scope="col">Started</th>
                      {write ? <th scope="col">Actions</th> : null}
                    </tr>
                  </thead>
                  <tbody>
                    {list.map((d) => (
                      <tr data-callid={d["call-id"]}>
                        <td>{d["call-id"]}</td>
                        <td>{d.from_uri}</td>
                        <td>{d.to_uri}</td>
                        <td>{d.state}</td>
                        <td>{d.start_ts ? new Date(d.start_ts * 1000).toISOString() : ""}</td>
                        {write ? (
                          <td>
                            <button
                              type="button"
                              aria-label={`End call ${d["call-id"]}`}
                              onClick={() =>
                                nodeRpc(node, "dlg.end_dlg", { h_entry: d.h_entry, h_id: d.h_id }).then(
                                  () => {
                                    setNote(`call ${d["call-id"]} ended`);
                                    reload();
                                  },
                                  (e) => setError(messageOf(e)),
                                )
                              }
                            >
                              End call
                            </button>
                          </td>
                        ) : null}
                      </tr>
                    ))}
                  </tbody>
                </table>
              )
            }
          />
          <Block<{ RECORDS: Array<{ SET: { ID: number; TARGETS: Array<{ DEST: Dest }> } }> }>
            title="Dispatcher destinations"
            node={node}
            method="dispatcher.list"
            every={3000}
            render={(d) => (
              <table class="grid" aria-label="Dispatcher destinations">
                <thead>
                  <tr>
                    <th scope="col">Set</th>
                    <th scope="col">Destination</th>
                    <th scope="col">State</th>
                    <th scope="col">Priority</th>
                    <th scope="col">Attrs</th>
                  </tr>
                </thead>
                <tbody>
                  {(d.RECORDS ?? []).flatMap((r) =>
                    r.SET.TARGETS.map((t) => (
                      <tr>
                        <td>{r.SET.ID}</td>
                        <td>{t.DEST.URI}</td>
                        <td title="A active, I inactive, D disabled, T trying, P probing">
                          <code>{t.DEST.FLAGS}</code>
                        </td>
                        <td>{t.DEST.PRIORITY}</td>
                        <td>{t.DEST.ATTRS?.BODY ?? ""}</td>
                      </tr>
                    )),
                  )}
                </tbody>
              </table>
            )}
          />
          <Block<{ gw: Array<Record<string, unknown>> }>
            title="LCR gateways"
            node={node}
            method="lcr.dump_gws"
            every={5000}
            render={(d) => (
              <table class="grid" aria-label="LCR gateways">
                <thead>
                  <tr>
                    {["lcr_id", "gw_name", "ip_addr", "port", "state", "defunct_until"].map((c) => (
                      <th scope="col">{c}</th>
                    ))}
                  </tr>
                </thead>
                <tbody>
                  {(d.gw ?? []).map((g) => (
                    <tr>
                      {["lcr_id", "gw_name", "ip_addr", "port", "state", "defunct_until"].map((c) => (
                        <td>{cell(g[c])}</td>
                      ))}
                    </tr>
                  ))}
                </tbody>
              </table>
            )}
          />
          <Block<Array<{ ip: string; until: string }>>
            title="Banned sources"
            node={node}
            method="pike.bans"
            every={5000}
            render={(list, reload) =>
              list.length === 0 ? (
                <p class="muted">No source is banned.</p>
              ) : (
                <ul>
                  {list.map((b) => (
                    <li>
                      {b.ip} until {b.until}{" "}
                      {write ? (
                        <button type="button" onClick={() => nodeRpc(node, "pike.unban", [b.ip]).then(reload, (e) => setError(messageOf(e)))}>
                          Unban {b.ip}
                        </button>
                      ) : null}
                    </li>
                  ))}
                </ul>
              )
            }
          />
          <section aria-label="Registrations">
            <h2>Registrations of a user</h2>
            <form
              class="inline"
              onSubmit={(e) => {
                e.preventDefault();
                nodeRpc(node, "ul.lookup", ["location", aor]).then(setRegs, (x) => setRegs(messageOf(x)));
              }}
            >
              <Field label="User (AoR)" name="aor" value={aor} onInput={setAor} placeholder="alice@example.com" />
              <button type="submit">Look up</button>
            </form>
            {regs !== null ? <pre class="json">{typeof regs === "string" ? regs : JSON.stringify(regs, null, 2)}</pre> : null}
          </section>
        </div>
      ) : (
        <p class="muted">No connected data plane.</p>
      )}
    </>
  );
}
