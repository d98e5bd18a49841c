/** Audit trail (`audit.list`): who changed what, before and after, filterable by table, row, actor, kind. */
import { useState } from "preact/hooks";
import { rpc, type Session } from "../rpc.js";
import { ErrorLine, Field, cell, messageOf, usePoll } from "../kit.js";

interface AuditRow {
  id: number;
  ts: string;
  actor: string;
  action: string;
  kind: string | null;
  table_name: string | null;
  row_id: string | null;
  before: unknown;
  after: unknown;
  version: string | null;
}

export function AuditPage(_p: { session: Session }) {
  const [f, setF] = useState({ table_name: "", row_id: "", actor: "", kind: "" });
  const [applied, setApplied] = useState<Record<string, string>>({});
  const list = usePoll(() => rpc<{ rows: AuditRow[] }>("audit.list", { ...applied, limit: 200 }), 0, [JSON.stringify(applied)]);
  const [error] = useState<string | null>(null);
  const set = (k: keyof typeof f) => (v: string) => setF({ ...f, [k]: v });
  return (
    <>
      <form
        onSubmit={(e) => {
          e.preventDefault();
          setApplied(Object.fromEntries(Object.entries(f).filter(([, v]) => v !== "")));
        }}
      >
        <div class="fields">
          <Field label="Table" name="table_name" value={f.table_name} onInput={set("table_name")} />
          <Field label="Row id" name="row_id" value={f.row_id} onInput={set("row_id")} />
          <Field label="Actor" name="actor" value={f.actor} onInput={set("actor")} />
          <Field label="Kind" name="kind" value={f.kind} onInput={set("kind")} />
        </div>
        <button type="submit">Filter</button>
      </form>
      <ErrorLine error={error ?? (list.error ? messageOf(list.error) : null)} />
      <table class="grid" aria-label="Audit trail">
        <thead>
          <tr>
            {["Time (UTC)", "Actor", "Action", "Kind", "Table", "Row", "Before", "After", "Version"].map((c) => (
              <th scope="col">{c}</th>
            ))}
          </tr>
        </thead>
        <tbody>
          {(list.data?.rows ?? []).map((r) => (
            <tr>
              <td>{r.ts}</td>
              <td>{r.actor}</td>
              <td>{r.action}</td>
              <td>{r.kind ?? ""}</td>
              <td>{r.table_name ?? ""}</td>
              <td>{r.row_id ?? ""}</td>
              <td>
                <code class="json">{cell(r.before)}</code>
              </td>
              <td>
                <code class="json">{cell(r.after)}</code>
              </td>
              <td>
                <code>{r.version?.slice(0, 8) ?? ""}</code>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </>
  );
}
