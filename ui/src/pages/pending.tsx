/** Pending changes (`diff`), push, canary push (`push {canary}`), canary promote/abort, rollback to a kept version, unpin. */
import { useState } from "preact/hooks";
import { canWrite, rpc, type Session } from "../rpc.js";
import { ErrorLine, Field, Notice, cell, messageOf, short, usePoll } from "../kit.js";

interface KindDiff {
  kind: string;
  from: string | null;
  to: string | null;
  error?: unknown;
  added: Array<{ table: string; id: unknown; row: unknown }>;
  removed: Array<{ table: string; id: unknown; row: unknown }>;
  changed: Array<{ table: string; id: unknown; columns: string[]; before: unknown; after: unknown }>;
}
interface Canary {
  id: string;
  state: string;
  selector: unknown;
  nodes?: string[];
  kinds?: Array<{ kind: string; from: string | null; to: string }>;
  reason?: string;
  endsAt?: string;
}

export function PendingPage({ session }: { session: Session }) {
  const diff = usePoll(async () => ({ held: await rpc<KindDiff[]>("pending.list"), db: await rpc<KindDiff[]>("diff") }), 2000);
  const canary = usePoll(() => rpc<{ current: Canary | null; recent: Canary[]; pins: Array<{ kind: string; version: string; by: string }> }>("canary.status"), 1500);
  const snaps = usePoll(() => rpc<{ rows: Array<{ kind: string; version: string; rows: number; created_at: string; has_data: boolean; reason: string }> }>("snapshots.list", { limit: 200 }), 5000);
  const [label, setLabel] = useState("");
  const [soak, setSoak] = useState("60000");
  const [note, setNote] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [fieldError, setFieldError] = useState<string | null>(null);
  const [rbKind, setRbKind] = useState("dispatcher");
  const [rbVersion, setRbVersion] = useState("");
  const write = canWrite(session);
  const act = (what: string, method: string, params: unknown = {}) => {
    setError(null);
    setFieldError(null);
    rpc(method, params).then(
      (r: any) => {
        setNote(`${what}: ${r && r.canary ? `canary ${r.canary.id} on ${(r.canary.nodes ?? []).join(", ")}` : r && r.pushed ? `pushed ${r.pushed.join(", ") || "nothing new"}` : r && r.state ? r.state : "done"}`);
        diff.reload();
        canary.reload();
        snaps.reload();
      },
      (e) => {
        if (e?.data?.param === "canary") setFieldError(messageOf(e));
        else setError(messageOf(e));
      },
    );
  };
  const has = (d: KindDiff) => d.error || d.added.length || d.removed.length || d.changed.length;
  const pending = [...(diff.data?.held ?? []).map((d) => ({ ...d, where: "compiled, not on the fleet yet" })), ...(diff.data?.db ?? []).filter(has).map((d) => ({ ...d, where: "in the database, not compiled yet" }))];
  const cur = canary.data?.current ?? null;
  return (
    <>
      <Notice text={note} />
      <ErrorLine error={error ?? diff.error} />
      <h2>Pending changes</h2>
      {pending.length === 0 ? <p class="muted" data-testid="no-pending">Nothing pending: the fleet runs what the database holds.</p> : null}
      {pending.map((d) => (
        <section class="diff" aria-label={`Pending ${d.kind}`} data-kind={d.kind}>
          <h3>
            {d.kind}: <code>{short(d.from)}</code> → <code>{short(d.to)}</code> <small class="muted">({d.where})</small>
          </h3>
          {d.error ? <ErrorLine error={cell(d.error)} /> : null}
          <ul>
            {d.added.map((a) => (
              <li class="added">+ {a.table} {cell(a.id)}: {cell(a.row)}</li>
            ))}
            {d.removed.map((a) => (
              <li class="removed">− {a.table} {cell(a.id)}: {cell(a.row)}</li>
            ))}
            {d.changed.map((a) => (
              <li class="changed">
                ~ {a.table} {cell(a.id)}:{" "}
                {a.columns.map((c) => `${c} ${cell((a.before as Record<string, unknown>)[c])} → ${cell((a.after as Record<string, unknown>)[c])}`).join("; ")}
              </li>
            ))}
          </ul>
        </section>
      ))}
      {write ? (
        <section aria-label="Push">
          <h2>Push</h2>
          <button type="button" onClick={() => act("push", "push")}>
            Push to every node
          </button>
          <form
            class="inline"
            onSubmit={(e) => {
              e.preventDefault();
              act("canary push", "push", { canary: label, soak_ms: Number(soak) });
            }}
          >
            <Field label="Canary label (label=value)" name="canary" value={label} onInput={setLabel} placeholder="zone=eu" error={fieldError} />
            <Field label="Soak ms" name="soak_ms" value={soak} onInput={setSoak} />
            <button type="submit">Push as canary</button>
          </form>
        </section>
      ) : null}
      <h2>Canary</h2>
      {cur ? (
        <div data-testid="canary-current">
          <p>
            Canary <code>{cur.id}</code> <strong>{cur.state}</strong> on {(cur.nodes ?? []).join(", ")} ({cell(cur.selector)}), kinds{" "}
            {(cur.kinds ?? []).map((k) => `${k.kind} ${short(k.from)}→${short(k.to)}`).join(", ")}
            {cur.endsAt ? `, soak ends ${cur.endsAt}` : ""}
          </p>
          {write ? (
            <>
              <button type="button" onClick={() => act("promote", "canary.promote")}>
                Promote canary
              </button>
              <button type="button" onClick={() => act("rollback", "canary.abort")}>
                Roll back canary
              </button>
            </>
          ) : null}
        </div>
      ) : (
        <p class="muted">No canary soaking.</p>
      )}
      {(canary.data?.recent ?? []).length ? (
        <ul aria-label="Recent canaries" data-testid="canary-recent">
          {canary.data!.recent.map((c) => (
            <li>
              <code>{c.id}</code> {c.state}: {c.reason ?? ""}
            </li>
          ))}
        </ul>
      ) : null}
      <h2>Rollback</h2>
      {(canary.data?.pins ?? []).map((p) => (
        <p>
          {p.kind} pinned at <code>{short(p.version)}</code> by {p.by}{" "}
          {write ? (
            <button type="button" onClick={() => act("unpin", "unpin", { kind: p.kind })}>
              Unpin {p.kind}
            </button>
          ) : null}
        </p>
      ))}
      {write ? (
        <form
          class="inline"
          onSubmit={(e) => {
            e.preventDefault();
            act("rollback", "rollback", { kind: rbKind, version: rbVersion });
          }}
        >
          <label for="rb-kind">Kind</label>
          <select id="rb-kind" value={rbKind} onChange={(e) => setRbKind((e.target as HTMLSelectElement).value)}>
            {[...new Set((snaps.data?.rows ?? []).map((s) => s.kind))].sort().map((k) => (
              <option value={k}>{k}</option>
            ))}
          </select>
          <label for="rb-version">Version</label>
          <select id="rb-version" value={rbVersion} onChange={(e) => setRbVersion((e.target as HTMLSelectElement).value)}>
            <option value="">choose a kept version</option>
            {(snaps.data?.rows ?? [])
              .filter((s) => s.kind === rbKind && s.has_data)
              .map((s) => (
                <option value={s.version}>{`${s.version} · ${s.rows} rows · ${s.created_at}`}</option>
              ))}
          </select>
          <button type="submit" disabled={!rbVersion}>
            Roll back
          </button>
        </form>
      ) : null}
    </>
  );
}
