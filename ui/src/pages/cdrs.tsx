/** CDRs: search by time range, account, gateway, call-id (`cdrs.list`, cursor paging) and CSV export (`cdrs.export`). */
import { useState } from "preact/hooks";
import { rpc, type Session } from "../rpc.js";
import { ErrorLine, Field, cell, messageOf } from "../kit.js";

const COLS = ["seq", "start_ms", "call_id", "caller", "callee", "account", "gateway", "node", "disposition", "duration_ms", "billsec", "sip_code", "ended_by", "end_reason"];

export function CdrsPage(_p: { session: Session }) {
  const [f, setF] = useState({ from: "", to: "", account: "", gateway: "", call_id: "" });
  const [rows, setRows] = useState<Array<Record<string, unknown>> | null>(null);
  const [cursor, setCursor] = useState<{ next: number; more: boolean }>({ next: 0, more: false });
  const [error, setError] = useState<string | null>(null);
  const [fieldErr, setFieldErr] = useState<Record<string, string>>({});
  const params = (after: number) => {
    const p: Record<string, unknown> = { after, limit: 100 };
    if (f.from) p.from_ms = Date.parse(f.from);
    if (f.to) p.to_ms = Date.parse(f.to);
    for (const k of ["account", "gateway", "call_id"] as const) if (f[k]) p[k] = f[k];
    return p;
  };
  const fail = (x: any) => {
    const p = x?.data?.param as string | undefined;
    if (p) setFieldErr({ [p]: messageOf(x) });
    else setError(messageOf(x));
  };
  const search = (after: number) => {
    setError(null);
    setFieldErr({});
    rpc<{ rows: Array<Record<string, unknown>>; next_cursor: number; more: boolean }>("cdrs.list", params(after)).then((r) => {
      setRows(after === 0 ? r.rows : [...(rows ?? []), ...r.rows]);
      setCursor({ next: r.next_cursor, more: r.more });
    }, fail);
  };
  const exportCsv = () =>
    rpc<{ csv: string; rows: number }>("cdrs.export", { ...params(0), limit: 10000 }).then((r) => {
      const a = document.createElement("a");
      a.href = URL.createObjectURL(new Blob([r.csv], { type: "text/csv" }));
      a.download = "cdrs.csv";
      a.click();
      URL.revokeObjectURL(a.href);
    }, fail);
  const set = (k: keyof typeof f) => (v: string) => setF({ ...f, [k]: v });
  return (
    <>
      <form
        onSubmit={(e) => {
          e.preventDefault();
          search(0);
        }}
      >
        <div class="fields">
          <Field label="From (local time)" name="from_ms" type="datetime-local" value={f.from} onInput={set("from")} error={fieldErr.from_ms} />
          <Field label="To (local time)" name="to_ms" type="datetime-local" value={f.to} onInput={set("to")} error={fieldErr.to_ms} />
          <Field label="Account" name="account" value={f.account} onInput={set("account")} error={fieldErr.account} />
          <Field label="Gateway" name="gateway" value={f.gateway} onInput={set("gateway")} error={fieldErr.gateway} />
          <Field label="Call-ID" name="call_id" value={f.call_id} onInput={set("call_id")} error={fieldErr.call_id} />
        </div>
        <button type="submit">Search</button>
        <button type="button" onClick={exportCsv}>
          Export CSV
        </button>
      </form>
      <ErrorLine error={error} />
      {rows ? (
        <>
          <p class="muted" aria-live="polite">
            {rows.length} CDR(s)
          </p>
          <table class="grid" aria-label="CDRs">
            <thead>
              <tr>
                {COLS.map((c) => (
                  <th scope="col">{c}</th>
                ))}
              </tr>
            </thead>
            <tbody>
              {rows.map((r) => (
                <tr data-callid={cell(r.call_id)}>
                  {COLS.map((c) => (
                    <td>{c === "start_ms" && r[c] ? new Date(Number(r[c])).toISOString() : cell(r[c])}</td>
                  ))}
                </tr>
              ))}
            </tbody>
          </table>
          {cursor.more ? (
            <button type="button" onClick={() => search(cursor.next)}>
              More
            </button>
          ) : null}
        </>
      ) : null}
    </>
  );
}
