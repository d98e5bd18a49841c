/** Fleet: every data plane, its labels, connection, canary role, and per kind running / offered version and last NACK; polled every 1.5 s. */
import { rpc, type Session } from "../rpc.js";
import { ErrorLine, short, usePoll } from "../kit.js";

interface KindRow {
  kind: string;
  appliedVersion: string | null;
  offeredVersion: string | null;
  pending: boolean;
  pinned: boolean;
  lagMs: number;
  lastNackVersion: string | null;
  lastNackError: { reason: string; message: string } | null;
}
export interface FleetNode {
  nodeId: string;
  peer: string;
  connected: boolean;
  labels: Record<string, string>;
  buildVersion: string;
  canary: "canary" | "rest" | null;
  controlUrl: string | null;
  health: { replies: number; replies5xx: number; calls: number; failedCalls: number } | null;
  tables: KindRow[];
}

export function FleetPage(_p: { session: Session }) {
  const nodes = usePoll(() => rpc<FleetNode[]>("nodes"), 1500);
  const canary = usePoll(() => rpc<{ current: { id: string; selector: unknown; state: string; endsAt?: string; kinds?: unknown } | null }>("canary.status"), 1500);
  const list = nodes.data ?? [];
  const kinds = [...new Set(list.flatMap((n) => n.tables.map((t) => t.kind)))].sort();
  const nacks = list.flatMap((n) => n.tables.filter((t) => t.lastNackError).map((t) => ({ node: n.nodeId, ...t })));
  return (
    <>
      <ErrorLine error={nodes.error} />
      <p aria-live="polite" class="muted">
        {list.length} data plane(s), {list.filter((n) => n.connected).length} connected
        {canary.data?.current ? ` · canary ${canary.data.current.id} ${canary.data.current.state}` : " · no canary soaking"}
      </p>
      <table class="grid" aria-label="Data planes">
        <thead>
          <tr>
            <th scope="col">Node</th>
            <th scope="col">Labels</th>
            <th scope="col">Connection</th>
            <th scope="col">Canary</th>
            <th scope="col">Build</th>
            <th scope="col">Replies / 5xx</th>
            <th scope="col">Calls / failed</th>
          </tr>
        </thead>
        <tbody>
          {list.map((n) => (
            <tr data-node={n.nodeId}>
              <th scope="row">{n.nodeId}</th>
              <td>{Object.entries(n.labels).map(([k, v]) => <span class="tag">{`${k}=${v}`}</span>)}</td>
              <td data-testid={`conn-${n.nodeId}`} class={n.connected ? "ok" : "bad"}>
                {n.connected ? "connected" : "disconnected"} <small>{n.peer}</small>
              </td>
              <td data-testid={`canary-${n.nodeId}`}>{n.canary ?? "–"}</td>
              <td>{n.buildVersion}</td>
              <td>{n.health ? `${n.health.replies} / ${n.health.replies5xx}` : "–"}</td>
              <td>{n.health ? `${n.health.calls} / ${n.health.failedCalls}` : "–"}</td>
            </tr>
          ))}
        </tbody>
      </table>
      <h2>Versions per kind</h2>
      <p class="muted">Running version; "→ x" is the version offered to the node and not yet acknowledged.</p>
      <table class="grid" aria-label="Versions per kind">
        <thead>
          <tr>
            <th scope="col">Kind</th>
            {list.map((n) => (
              <th scope="col">{n.nodeId}</th>
            ))}
          </tr>
        </thead>
        <tbody>
          {kinds.map((k) => (
            <tr>
              <th scope="row">{k}</th>
              {list.map((n) => {
                const t = n.tables.find((x) => x.kind === k);
                if (!t) return <td>–</td>;
                const behind = t.offeredVersion !== null && t.offeredVersion !== t.appliedVersion;
                return (
                  <td data-testid={`ver-${n.nodeId}-${k}`} data-version={t.appliedVersion ?? ""} class={behind ? "warn" : t.lastNackError ? "bad" : ""}>
                    <code>{short(t.appliedVersion)}</code>
                    {behind ? <> → <code>{short(t.offeredVersion)}</code></> : null}
                    {t.pinned ? <span class="tag">pinned</span> : null}
                  </td>
                );
              })}
            </tr>
          ))}
        </tbody>
      </table>
      <h2>Last NACKs</h2>
      {nacks.length === 0 ? (
        <p class="muted">No data plane has rejected a version.</p>
      ) : (
        <table class="grid" aria-label="Last NACKs">
          <thead>
            <tr>
              <th scope="col">Node</th>
              <th scope="col">Kind</th>
              <th scope="col">Version</th>
              <th scope="col">Reason</th>
            </tr>
          </thead>
          <tbody>
            {nacks.map((x) => (
              <tr>
                <td>{x.node}</td>
                <td>{x.kind}</td>
                <td>
                  <code>{short(x.lastNackVersion)}</code>
                </td>
                <td>
                  {x.lastNackError!.reason}: {x.lastNackError!.message}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </>
  );
}
