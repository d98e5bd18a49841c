/** Small shared pieces of the console: async loading, polling, error lines, a labelled input. */
import type { ComponentChildren } from "preact";
import { useCallback, useEffect, useRef, useState } from "preact/hooks";
import { RpcFailure } from "./rpc.js";

/** Runs `load` now and every `everyMs` (0 = once); `reload()` runs it again at once. */
export function usePoll<T>(load: () => Promise<T>, everyMs: number, deps: unknown[] = []): { data: T | null; error: string | null; reload: () => void } {
  const [data, setData] = useState<T | null>(null);
  const [error, setError] = useState<string | null>(null);
  const loadRef = useRef(load);
  loadRef.current = load;
  const run = useCallback(() => {
    loadRef.current().then(
      (d) => {
        setData(d);
        setError(null);
      },
      (e: Error) => setError(e.message),
    );
  }, []);
  useEffect(() => {
    run();
    if (!everyMs) return;
    const t = setInterval(run, everyMs);
    return () => clearInterval(t);
  }, [everyMs, ...deps]);
  return { data, error, reload: run };
}

export function ErrorLine({ error, id }: { error: string | null | undefined; id?: string }) {
  if (!error) return null;
  return (
    <p class="error" role="alert" id={id}>
      {error}
    </p>
  );
}

export function Notice({ text }: { text: string | null }) {
  return text ? (
    <p class="notice" role="status">
      {text}
    </p>
  ) : null;
}

export const messageOf = (e: unknown): string => (e instanceof RpcFailure ? e.message : e instanceof Error ? e.message : String(e));

/** A labelled text input; `error` is shown under it and tied to it with aria-describedby. */
export function Field(p: { label: string; name: string; value: string; onInput: (v: string) => void; error?: string | null; placeholder?: string; type?: "text" | "password" | "datetime-local"; hint?: string }) {
  const id = `f-${p.name}`;
  return (
    <div class={p.error ? "field invalid" : "field"}>
      <label for={id}>{p.label}</label>
      <input
        id={id}
        name={p.name}
        type={(p.type ?? "text") as "text"}
        value={p.value}
        placeholder={p.placeholder}
        aria-invalid={p.error ? "true" : undefined}
        aria-describedby={p.error ? `${id}-error` : undefined}
        onInput={(e) => p.onInput((e.target as HTMLInputElement).value)}
      />
      {p.hint && !p.error ? <small>{p.hint}</small> : null}
      {p.error ? (
        <span class="field-error" id={`${id}-error`} role="alert" data-field={p.name}>
          {p.error}
        </span>
      ) : null}
    </div>
  );
}

export function Section({ title, children }: { title: string; children: ComponentChildren }) {
  return (
    <section aria-label={title}>
      <h2>{title}</h2>
      {children}
    </section>
  );
}

export const short = (v: string | null | undefined): string => (v ? v.slice(0, 8) : "–");
export const cell = (v: unknown): string => (v === null || v === undefined ? "" : typeof v === "object" ? JSON.stringify(v) : String(v));
