/** Dry run: where a number routes now (the fleet's version) and after the pending change (`route.dryRun`). */
import { useState } from "preact/hooks";
import { rpc, type Session } from "../rpc.js";
import { ErrorLine, Field, messageOf } from "../kit.js";

const KINDS = ["dispatcher", "lcr", "drouting", "carrierroute", "prefix_route", "mtree"];

export function DryRunPage(_p: { session: Session }) {
  const [number, setNumber] = useState("");
  const [kinds, setKinds] = useState<string[]>(["dispatcher", "lcr", "drouting", "prefix_route"]);
  const [set, setSet] = useState("1");
  const [lcrId, setLcrId] = useState("1");
  const [answer, setAnswer] = useState<{ kinds: Array<{ kind: string; now: string | null; after: string | null; error?: string }>; results: Array<{ query: string; kind: string; now: string; after: string; changed: boolean }> } | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [fieldErr, setFieldErr] = useState<Record<string, string>>({});
  return (
    <>
      <form
        onSubmit={(e) => {
          e.preventDefault();
          setError(null);
          setFieldErr({});
          rpc("route.dryRun", { queries: number.split(/[\s,]+/).filter(Boolean), kinds, dispatcher_set: Number(set), lcr_id: Number(lcrId) }).then(setAnswer, (x) => {
            const p = x?.data?.param as string | undefined;
            if (p) setFieldErr({ [p]: messageOf(x) });
            else setError(messageOf(x));
          });
        }}
      >
        <div class="fields">
          <Field label="Number or R-URI (several: separated by spaces)" name="queries" value={number} onInput={setNumber} placeholder="+4930123 sip:100@example.com" error={fieldErr.queries} />
          <Field label="Dispatcher set" name="dispatcher_set" value={set} onInput={setSet} error={fieldErr.dispatcher_set} />
          <Field label="LCR id" name="lcr_id" value={lcrId} onInput={setLcrId} error={fieldErr.lcr_id} />
        </div>
        <fieldset>
          <legend>Kinds</legend>
          {KINDS.map((k) => (
            <label class="check">
              <input type="checkbox" checked={kinds.includes(k)} onChange={(e) => setKinds((e.target as HTMLInputElement).checked ? [...kinds, k] : kinds.filter((x) => x !== k))} /> {k}
            </label>
          ))}
        </fieldset>
        <button type="submit">Run</button>
      </form>
      <ErrorLine error={error} />
      {answer ? (
        <table class="grid" aria-label="Dry run results">
          <thead>
            <tr>
              <th scope="col">Query</th>
              <th scope="col">Kind</th>
              <th scope="col">Now (fleet version)</th>
              <th scope="col">After the pending change</th>
            </tr>
          </thead>
          <tbody>
            {answer.results.map((r) => {
              const v = answer.kinds.find((k) => k.kind === r.kind);
              return (
                <tr class={r.changed ? "warn" : ""} data-kind={r.kind}>
                  <td>{r.query}</td>
                  <td>{r.kind}</td>
                  <td data-testid={`now-${r.kind}`}>
                    {r.now} <small>{v?.now?.slice(0, 8) ?? ""}</small>
                  </td>
                  <td data-testid={`after-${r.kind}`}>
                    {r.after} <small>{v?.after?.slice(0, 8) ?? ""}</small>
                    {r.changed ? <strong> (changes)</strong> : null}
                  </td>
                </tr>
              );
            })}
          </tbody>
        </table>
      ) : null}
    </>
  );
}
