/**
 * Tables: browse, filter, add, edit and delete rows of every table through `<table>.list/create/
 * update/delete`. A refused write shows the server's reason at the field it names (data.param for
 * invalid params, the column named in a 422 compile reason, data.columns of a 409 duplicate).
 */
import { useEffect, useState } from "preact/hooks";
import { canWrite, rpc, RpcFailure, type Session } from "../rpc.js";
import { ErrorLine, Field, Notice, cell, messageOf, usePoll } from "../kit.js";

interface Column {
  name: string;
  sqlType: string;
  cls: string;
  notNull: boolean;
  hasDefault: boolean;
  autoIncrement: boolean;
  maxLength?: number;
}
interface TableSchema {
  name: string;
  kind: string | null;
  pk: string;
  pkAuto: boolean;
  writable: boolean;
  columns: Column[];
}
const SECRETS = new Set(["password", "ha1", "ha1b"]);
const PAGE = 50;

/** `col=value col2=a%` → list params (a value with % or _ filters with LIKE). */
export function filterParams(text: string, columns: Column[]): { params: Record<string, unknown>; error: string | null } {
  const params: Record<string, unknown> = {};
  const like: Record<string, string> = {};
  for (const part of text.trim().split(/\s+/).filter(Boolean)) {
    const m = /^([A-Za-z_][\w]*)=(.*)$/.exec(part);
    if (!m || !columns.some((c) => c.name === m[1])) return { params, error: `filter '${part}': use column=value with one of ${columns.map((c) => c.name).join(", ")}` };
    if (/[%_]/.test(m[2]!) && m[1] !== "id") like[m[1]!] = m[2]!;
    else params[m[1]!] = m[2] === "NULL" ? null : m[2];
  }
  if (Object.keys(like).length) params.like = like;
  return { params, error: null };
}

/** Which field a refused write belongs to: {field: message}, plus a message for the form. */
export function fieldErrorsOf(e: unknown, columns: string[]): { fields: Record<string, string>; form: string } {
  const msg = messageOf(e);
  if (!(e instanceof RpcFailure) || !e.data) return { fields: {}, form: msg };
  const d = e.data;
  if (typeof d.param === "string") return { fields: { [d.param]: msg }, form: msg };
  if (Array.isArray(d.columns) && typeof d.columns[0] === "string") return { fields: { [d.columns[0]]: msg }, form: msg };
  if (typeof d.reason === "string") {
    const reason = d.reason;
    const hit = columns.find((c) => new RegExp(`^${c}\\b`).test(reason)) ?? columns.find((c) => new RegExp(`\\b${c}\\b`).test(reason));
    if (hit) return { fields: { [hit]: `${reason}${d.row !== undefined && d.row !== null ? ` (${String(d.table ?? "")} row ${String(d.row)})` : ""}` }, form: msg };
  }
  return { fields: {}, form: msg };
}

function RowForm(p: { table: TableSchema; row: Record<string, unknown> | null; onDone: (note: string) => void; onCancel: () => void }) {
  const { table, row } = p;
  const subscriber = table.name === "subscriber";
  const cols = subscriber ? ["id", "username", "domain", "password"].map((n) => table.columns.find((c) => c.name === n) ?? { name: n, sqlType: "varchar", cls: "string", notNull: false, hasDefault: true, autoIncrement: false }) : table.columns;
  const shown = cols.filter((c) => !(row === null && c.name === table.pk && table.pkAuto));
  const initial = Object.fromEntries(shown.map((c) => [c.name, row && !SECRETS.has(c.name) ? cell(row[c.name]) : ""]));
  const [values, setValues] = useState<Record<string, string>>(initial);
  const [errors, setErrors] = useState<{ fields: Record<string, string>; form: string } | null>(null);
  const submit = async (e: Event) => {
    e.preventDefault();
    const params: Record<string, unknown> = {};
    for (const c of shown) {
      const v = values[c.name] ?? "";
      if (row === null) {
        if (v !== "") params[c.name] = v;
      } else if (c.name === table.pk) params[c.name] = row[c.name];
      else if (v !== initial[c.name]) params[c.name] = v === "" && !c.notNull ? null : v;
    }
    try {
      const method = `${table.name}.${row === null ? "create" : "update"}`;
      const r = await rpc<{ row: Record<string, unknown>; version: string; warning?: string }>(method, params);
      p.onDone(`${row === null ? "added" : "updated"} ${table.name} ${String(r.row[table.pk])}; ${table.kind ?? "table"} version ${r.version ?? "–"}${r.warning ? ` (${r.warning})` : ""}`);
    } catch (x) {
      setErrors(fieldErrorsOf(x, shown.map((c) => c.name)));
    }
  };
  return (
    <form class="rowform" onSubmit={submit} aria-label={`${row ? "Edit" : "Add"} ${table.name} row`}>
      <h3>{row ? `Edit ${table.name} ${String(row[table.pk])}` : `Add a ${table.name} row`}</h3>
      <div class="fields">
        {shown.map((c) =>
          row !== null && c.name === table.pk ? (
            <Field label={`${c.name} (key)`} name={c.name} value={values[c.name] ?? ""} onInput={() => {}} />
          ) : (
            <Field
              label={c.name}
              name={c.name}
              type={c.name === "password" ? "password" : "text"}
              value={values[c.name] ?? ""}
              onInput={(v) => setValues({ ...values, [c.name]: v })}
              error={errors?.fields[c.name]}
              hint={`${c.sqlType}${c.notNull && !c.hasDefault ? ", required" : ""}`}
            />
          ),
        )}
      </div>
      <ErrorLine error={errors && Object.keys(errors.fields).length === 0 ? errors.form : null} />
      <button type="submit">{row ? "Save" : "Add"}</button>
      <button type="button" onClick={p.onCancel}>
        Cancel
      </button>
    </form>
  );
}

export function TablesPage({ session }: { session: Session }) {
  const schema = usePoll(() => rpc<TableSchema[]>("tables.schema"), 0);
  const [name, setName] = useState(new URLSearchParams(location.hash.split("?")[1] ?? "").get("t") ?? "dispatcher");
  const [filter, setFilter] = useState("");
  const [offset, setOffset] = useState(0);
  const [editing, setEditing] = useState<Record<string, unknown> | null | "new">(null);
  const [note, setNote] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [data, setData] = useState<{ total: number; rows: Record<string, unknown>[] } | null>(null);
  const table = schema.data?.find((t) => t.name === name);
  const load = async () => {
    if (!table) return;
    const f = filterParams(filter, table.columns);
    if (f.error) return setError(f.error);
    try {
      setData(await rpc(`${table.name}.list`, { ...f.params, limit: PAGE, offset }));
      setError(null);
    } catch (e) {
      setError(messageOf(e));
    }
  };
  useEffect(() => void load(), [table, offset]);
  const writable = canWrite(session) && table?.writable;
  const columns = table ? table.columns.filter((c) => !SECRETS.has(c.name)) : [];
  return (
    <>
      <ErrorLine error={schema.error} />
      <div class="toolbar">
        <label for="table-select">Table</label>
        <select
          id="table-select"
          value={name}
          onChange={(e) => {
            setName((e.target as HTMLSelectElement).value);
            setOffset(0);
            setEditing(null);
            setData(null);
          }}
        >
          {(schema.data ?? []).map((t) => (
            <option value={t.name}>{t.kind && t.kind !== t.name ? `${t.name} (${t.kind})` : t.name}</option>
          ))}
        </select>
        <form
          class="inline"
          onSubmit={(e) => {
            e.preventDefault();
            setOffset(0);
            void load();
          }}
        >
          <label for="table-filter">Filter</label>
          <input id="table-filter" value={filter} placeholder="setid=1 destination=sip:10.%" onInput={(e) => setFilter((e.target as HTMLInputElement).value)} />
          <button type="submit">Apply</button>
        </form>
        {writable ? (
          <button type="button" onClick={() => setEditing("new")}>
            Add row
          </button>
        ) : null}
      </div>
      <Notice text={note} />
      <ErrorLine error={error} />
      {table && editing !== null ? (
        <RowForm
          key={`${table.name}-${editing === "new" ? "new" : String(editing[table.pk])}`}
          table={table}
          row={editing === "new" ? null : editing}
          onCancel={() => setEditing(null)}
          onDone={(n) => {
            setNote(n);
            setEditing(null);
            void load();
          }}
        />
      ) : null}
      {table && data ? (
        <>
          <table class="grid" aria-label={`${table.name} rows`}>
            <thead>
              <tr>
                {columns.map((c) => (
                  <th scope="col">{c.name}</th>
                ))}
                {writable ? <th scope="col">Actions</th> : null}
              </tr>
            </thead>
            <tbody>
              {data.rows.map((r) => (
                <tr data-key={cell(r[table.pk])}>
                  {columns.map((c) => (
                    <td>{cell(r[c.name])}</td>
                  ))}
                  {writable ? (
                    <td class="actions">
                      <button type="button" onClick={() => setEditing(r)} aria-label={`Edit ${table.name} ${cell(r[table.pk])}`}>
                        Edit
                      </button>
                      <button
                        type="button"
                        aria-label={`Delete ${table.name} ${cell(r[table.pk])}`}
                        onClick={() => {
                          if (!confirm(`Delete ${table.name} ${cell(r[table.pk])}?`)) return;
                          rpc(`${table.name}.delete`, { [table.pk]: r[table.pk] }).then(
                            (x: { version: string }) => {
                              setNote(`deleted ${table.name} ${cell(r[table.pk])}; version ${x.version ?? "–"}`);
                              void load();
                            },
                            (e) => setError(messageOf(e)),
                          );
                        }}
                      >
                        Delete
                      </button>
                    </td>
                  ) : null}
                </tr>
              ))}
            </tbody>
          </table>
          <p class="pager">
            {data.total} row(s){data.total > PAGE ? `, ${offset + 1}–${Math.min(offset + PAGE, data.total)}` : ""}
            <button type="button" disabled={offset === 0} onClick={() => setOffset(Math.max(0, offset - PAGE))}>
              Previous
            </button>
            <button type="button" disabled={offset + PAGE >= data.total} onClick={() => setOffset(offset + PAGE)}>
              Next
            </button>
          </p>
        </>
      ) : null}
    </>
  );
}
