import { z } from "zod";

/**
 * Module parameters as Zod schemas (Kamailio's `modparam` table, typed). Each parameter is one
 * `Param`: a schema (Kamailio's loose input forms — "1", "yes", " 42 " — coerced before the typed
 * check), its default, its documentation and the wording of its error. `defineParams` collects
 * them into the module's parser; the parser runs once at init, never on the SIP path.
 *
 * The wording of errors is the adapter's job, so the messages stay what operators and tests know:
 * `<module>: parameter 'x' must be an integer in 1..3600, got 0`, `<module>: unknown parameter 'y'`.
 *
 * @example
 *   export const pikeParams = defineParams("pike", {
 *     sampling_time_unit: int({ min: 1, max: 3600, default: 2, doc: "Seconds per sample" }),
 *     ipban: bool({ default: false, doc: "Drop banned sources before parsing" }),
 *   });
 *   const p = pikeParams.parse(host.config); // typed: { sampling_time_unit: number; ipban: boolean }
 */
export interface Param<T> {
  /** Validates one raw value (undefined = absent) and yields the typed value (the default when absent). */
  readonly schema: z.ZodType<T>;
  /** Type shown in generated docs ("integer 1..3600", "boolean", "string"). */
  readonly type: string;
  /** Default shown in generated docs (undefined = none / computed). */
  readonly default?: unknown;
  readonly doc: string;
  /** Error text after the parameter's name, from the raw value; `full` errors replace the whole message. */
  fail(raw: unknown, issue: string | undefined): string | { full: string };
}

/** How strings become integers: Kamailio configs give numbers as text. */
export type IntCoercion =
  /** "42" → 42 (digits only). */
  | "digits"
  /** " -42 " → -42. */
  | "signed"
  /** like signed, and true/false → 1/0. */
  | "signed-bool"
  /** like signed with a leading "+" allowed; numbers must be safe integers. */
  | "plus"
  /** numbers only. */
  | "none";

const COERCE: Record<IntCoercion, (v: unknown) => unknown> = {
  digits: (v) => (typeof v === "string" && /^\d+$/.test(v) ? Number(v) : v),
  signed: (v) => (typeof v === "string" && /^\s*-?\d+\s*$/.test(v) ? Number(v) : v),
  "signed-bool": (v) => (typeof v === "boolean" ? (v ? 1 : 0) : COERCE.signed(v)),
  none: (v) => v,
  plus: (v) => (typeof v === "string" && /^\s*[-+]?\d+\s*$/.test(v) ? Number(v.trim()) : v),
};

function withDefault<T>(schema: z.ZodType<T>, dflt: T | undefined): z.ZodType<T> {
  return (dflt === undefined ? schema : z.unknown().transform((v) => (v === undefined ? dflt : v)).pipe(schema as z.ZodType<T, any>)) as z.ZodType<T>;
}

export interface IntOptions {
  readonly min: number;
  readonly max: number;
  readonly default?: number;
  readonly doc: string;
  readonly coerce?: IntCoercion;
  /** Error text after the name (default "must be an integer in min..max, got <raw>"). */
  readonly fail?: (raw: unknown) => string | { full: string };
}

/** An integer in [min, max]. */
export function int(o: IntOptions): Param<number> {
  const coerce = COERCE[o.coerce ?? "signed"];
  const inner = z.preprocess(coerce, z.number().int().min(o.min).max(o.max));
  return {
    schema: withDefault(inner as z.ZodType<number>, o.default),
    type: `integer ${o.min}..${o.max}`,
    default: o.default,
    doc: o.doc,
    fail: (raw) => (o.fail ? o.fail(raw) : `must be an integer in ${o.min}..${o.max}, got ${JSON.stringify(raw)}`),
  };
}

/** Which spellings a boolean accepts besides true/false. */
export type BoolWords =
  /** 1/"1"/"yes", 0/"0"/"no". */
  | "yesno"
  /** and "true"/"false". */
  | "yesno-true"
  /** and "on"/"off". */
  | "onoff";

const TRUE_WORDS: Record<BoolWords, readonly unknown[]> = {
  yesno: [true, 1, "1", "yes"],
  "yesno-true": [true, 1, "1", "yes", "true"],
  onoff: [true, 1, "1", "yes", "true", "on"],
};
const FALSE_WORDS: Record<BoolWords, readonly unknown[]> = {
  yesno: [false, 0, "0", "no"],
  "yesno-true": [false, 0, "0", "no", "false"],
  onoff: [false, 0, "0", "no", "false", "off"],
};

export interface BoolOptions {
  readonly default?: boolean;
  readonly doc: string;
  readonly words?: BoolWords;
  readonly fail?: (raw: unknown) => string | { full: string };
}

/** A flag given as a boolean or 0/1 (Kamailio style). */
export function bool(o: BoolOptions): Param<boolean> {
  const words = o.words ?? "yesno";
  const inner = z.preprocess((v) => (TRUE_WORDS[words].includes(v) ? true : FALSE_WORDS[words].includes(v) ? false : v), z.boolean());
  return {
    schema: withDefault(inner as z.ZodType<boolean>, o.default),
    type: "boolean",
    default: o.default,
    doc: o.doc,
    fail: (raw) => (o.fail ? o.fail(raw) : `must be 0/1 or a boolean, got ${JSON.stringify(raw)}`),
  };
}

/** A Kamailio 0/1 integer parameter that the module reads as a boolean ("must be an integer in 0..1"). */
export function flag01(o: { default: boolean; doc: string; coerce?: IntCoercion }): Param<boolean> {
  const p = int({ min: 0, max: 1, default: o.default ? 1 : 0, doc: o.doc, coerce: o.coerce });
  return { ...p, schema: p.schema.transform((n) => n === 1), type: "0/1", default: o.default ? 1 : 0 };
}

/**
 * Any other parameter: a Zod schema plus its error text. The schema receives the raw value
 * (undefined when absent) and should return the default itself; a `z.ZodError`'s first issue
 * message (set with `ctx.addIssue` / `{ error }`) is passed to `fail` as `issue`.
 */
export function custom<T>(o: {
  schema: z.ZodType<T>;
  type: string;
  default?: unknown;
  doc: string;
  fail: (raw: unknown, issue: string | undefined) => string | { full: string };
}): Param<T> {
  return o;
}

/** Fails the schema with `text` after the parameter's name (or a whole message with `{ full }`). */
export function issue(ctx: z.RefinementCtx, text: string | { full: string }): typeof z.NEVER {
  ctx.addIssue({ code: "custom", message: typeof text === "string" ? `\u0001${text}` : `\u0000${text.full}` });
  return z.NEVER;
}

/** A string parameter; `check` returns an error text after the name, or null when valid. */
export function str(o: {
  default?: string | null;
  doc: string;
  /** Treat undefined/null/"" as absent (→ default). */
  emptyIsAbsent?: boolean;
  fail?: (raw: unknown) => string | { full: string };
  check?: (s: string) => string | { full: string } | null;
  map?: (s: string) => string;
}): Param<string> {
  const schema = z.unknown().transform((v, ctx) => {
    if (v === undefined || (o.emptyIsAbsent && (v === null || v === ""))) return o.default as string;
    if (typeof v !== "string") return issue(ctx, o.fail ? o.fail(v) : "must be a string");
    const bad = o.check?.(v) ?? null;
    if (bad !== null) return issue(ctx, bad);
    return o.map ? o.map(v) : v;
  });
  return { schema: schema as z.ZodType<string>, type: "string", default: o.default ?? undefined, doc: o.doc, fail: () => "must be a string" };
}

export type ParamShape = Record<string, Param<unknown>>;
export type ParamsOf<S extends ParamShape> = { readonly [K in keyof S]: S[K] extends Param<infer T> ? T : never };

export interface ParamsOptions<S extends ParamShape, Out> {
  /** Quote the parameter's name in errors (`parameter 'x'`, default) or not (`parameter x`). */
  readonly quote?: boolean;
  /** null given for a parameter counts as absent. */
  readonly nullIsAbsent?: boolean;
  /** Other spellings accepted for a name (dispatcher's `ds_` prefix). */
  readonly alias?: (name: string) => string;
  /** Builds the error for a parameter (default `<module>: parameter <name> <text>`). */
  readonly error?: (name: string, text: string) => Error;
  /** Builds the error for an unknown name (default `<module>: unknown parameter '<name>'`). */
  readonly unknown?: (name: string, known: readonly string[]) => Error;
  /** Checks across parameters and derived fields, after each parameter is valid. */
  readonly finish?: (p: ParamsOf<S>, cfg: Readonly<Record<string, unknown>>) => Out;
}

/** A module's parameter table: the parser and the rows generated docs show. */
export interface ParamsDefinition<S extends ParamShape, Out = ParamsOf<S>> {
  readonly module: string;
  readonly shape: S;
  /** Validates a configuration section; throws an Error naming the parameter. */
  parse(cfg: Readonly<Record<string, unknown>>): Out;
  /** One row per parameter (name, type, default, doc) for README tables and `olectl` docs. */
  docs(): readonly ParamDoc[];
}

export interface ParamDoc {
  readonly name: string;
  readonly type: string;
  readonly default: string;
  readonly doc: string;
}

/** Collects a module's parameters into its parser (see the file comment). */
export function defineParams<S extends ParamShape, Out = ParamsOf<S>>(
  module: string,
  shape: S,
  opts: ParamsOptions<S, Out> = {},
): ParamsDefinition<S, Out> {
  const quote = opts.quote ?? true;
  const known = Object.keys(shape);
  const error = opts.error ?? ((name: string, text: string) => new Error(`${module}: parameter ${quote ? `'${name}'` : name} ${text}`));
  const unknown = opts.unknown ?? ((name: string) => new Error(`${module}: unknown parameter '${name}'`));
  return {
    module,
    shape,
    parse(cfg) {
      const given = new Map<string, [string, unknown]>();
      for (const [raw, v] of Object.entries(cfg)) {
        const name = opts.alias ? opts.alias(raw) : raw;
        if (!(name in shape)) {
          if (v === undefined && opts.alias) continue;
          throw unknown(raw, known);
        }
        given.set(name, [raw, v]);
      }
      const out: Record<string, unknown> = {};
      for (const name of known) {
        const [rawName, rawV] = given.get(name) ?? [name, undefined];
        const v = opts.nullIsAbsent && rawV === null ? undefined : rawV;
        const p = shape[name]!;
        const r = p.schema.safeParse(v);
        if (!r.success) {
          const issue = r.error.issues[0]?.message;
          if (issue?.startsWith("\u0000")) throw new Error(issue.slice(1));
          const text = issue?.startsWith("\u0001") ? issue.slice(1) : p.fail(v, issue);
          throw typeof text === "string" ? error(rawName, text) : new Error(text.full);
        }
        out[name] = r.data;
      }
      const typed = out as ParamsOf<S>;
      return opts.finish ? opts.finish(typed, cfg) : (typed as unknown as Out);
    },
    docs() {
      return known.map((name) => {
        const p = shape[name]!;
        return { name, type: p.type, default: p.default === undefined ? "" : JSON.stringify(p.default), doc: p.doc };
      });
    },
  };
}

/** Markdown table of a module's parameters (generated README sections). */
export function paramsMarkdown(defs: readonly ParamDoc[]): string {
  const rows = defs.map((d) => `| \`${d.name}\` | ${d.type} | ${d.default === "" ? "" : `\`${d.default}\``} | ${d.doc.replace(/\|/g, "\\|")} |`);
  return ["| Parameter | Type | Default | Description |", "|---|---|---|---|", ...rows].join("\n");
}

/** A string that may be absent (null when absent, or when null/"" is given). */
export function optStr(o: Omit<Parameters<typeof str>[0], "default" | "emptyIsAbsent">): Param<string | null> {
  return str({ ...o, default: null, emptyIsAbsent: true }) as Param<string | null>;
}
