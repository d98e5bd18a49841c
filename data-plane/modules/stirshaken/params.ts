import { z } from "zod";
import { bool, custom, defineParams, int, issue, optStr, str, type ParamsOf } from "../../core/kit/params.js";
import type { CredentialSpec } from "./credentials.js";

const stringList = (doc: string, what: string) =>
  custom<readonly string[]>({
    schema: z.unknown().transform((v, ctx) => {
      if (v === undefined || v === null || v === "") return [] as string[];
      const list = typeof v === "string" ? [v] : v;
      if (!Array.isArray(list) || !list.every((x) => typeof x === "string" && x !== "")) return issue(ctx, `must be a ${what} or a list of them`);
      return list as string[];
    }),
    type: "string or string[]",
    default: [],
    doc,
    fail: () => `must be a ${what} or a list of them`,
  });

const credentialList = custom<readonly CredentialSpec[]>({
  schema: z.unknown().transform((v, ctx) => {
    if (v === undefined || v === null) return [] as CredentialSpec[];
    if (!Array.isArray(v)) return issue(ctx, "must be a list of {name, key_file, x5u, cert_file?}");
    const out: CredentialSpec[] = [];
    for (const [i, c] of v.entries()) {
      const o = c as Record<string, unknown>;
      if (!o || typeof o !== "object" || typeof o.name !== "string" || o.name === "" || typeof o.key_file !== "string" || typeof o.x5u !== "string") {
        return issue(ctx, `entry ${i} must be {name, key_file, x5u, cert_file?}`);
      }
      if (o.cert_file !== undefined && typeof o.cert_file !== "string") return issue(ctx, `entry ${i}: cert_file must be a string`);
      out.push({ name: o.name, key_file: o.key_file, x5u: o.x5u, ...(o.cert_file ? { cert_file: o.cert_file as string } : {}) });
    }
    return out;
  }),
  type: "{name, key_file, x5u, cert_file?}[]",
  default: [],
  doc: "Named signing credentials (a policy row's `credential` picks one)",
  fail: () => "must be a list of {name, key_file, x5u, cert_file?}",
});

const oneOf = (values: readonly string[], def: string, doc: string) =>
  str({ default: def, doc, map: (s) => s.toLowerCase(), check: (s) => (values.includes(s.toLowerCase()) ? null : `must be one of ${values.map((x) => x || "''").join(", ")}`) });

/** The stirshaken module's configuration section (Kamailio's secsipid modparams where they exist). */
export const stirshakenParams = defineParams("stirshaken", {
  key_file: optStr({ doc: "EC P-256 private key (PEM) of the default credential" }),
  x5u: optStr({ doc: "HTTPS URL of the default credential's certificate chain (the PASSporT x5u and the Identity info)" }),
  cert_file: optStr({ doc: "Local copy of the default credential's certificate; the (re)load checks that it matches key_file" }),
  credentials: credentialList,
  ca_file: stringList("PEM bundles of trust anchors (STI-CA roots) that verified chains must lead to", "file path"),
  x5u_tls_ca_file: optStr({ doc: "CA bundle for the HTTPS server certificate of x5u hosts (default: Node's roots)" }),
  x5u_allow: stringList("Hosts, addresses or CIDR prefixes exempt from the private-address check of x5u fetches (never from the https check)", "host or prefix"),
  timeout: int({ min: 1, max: 60, default: 2, coerce: "digits", doc: "Seconds an x5u fetch may take (secsipid's timeout)" }),
  verify_timeout_ms: int({ min: 10, max: 60_000, default: 3000, coerce: "digits", doc: "Bound on a whole verification (the script's await); past it the result is `timeout`" }),
  cache_expire: int({ min: 0, max: 86_400 * 7, default: 3600, coerce: "digits", doc: "Seconds a fetched certificate stays cached (secsipid's cache_expire); capped by the response's max-age" }),
  cache_size: int({ min: 1, max: 1_000_000, default: 1000, coerce: "digits", doc: "Most x5u URLs kept in the cache (least recently used go first)" }),
  x5u_max_bytes: int({ min: 512, max: 1_048_576, default: 65_536, coerce: "digits", doc: "Largest certificate resource accepted" }),
  expire: int({ min: 1, max: 86_400, default: 60, coerce: "digits", doc: "Seconds an `iat` may be away from now (RFC 8224 §6.2.2: 60; secsipid's expire)" }),
  default_attest: oneOf(["", "a", "b", "c"], "", "Attestation when no policy row matches; '' = do not sign"),
  on_failure: oneOf(["reject", "mark", "pass"], "mark", "What a failed verification does: reject (RFC 8224 answer), mark (verstat only) or pass (nothing)"),
  require_identity: bool({ default: false, doc: "With on_failure reject: a request without Identity is answered 428 Use Identity Header" }),
  check_dest: bool({ default: true, doc: "Also compare the dest tn with the To / R-URI number" }),
});

export type StirshakenParams = ParamsOf<typeof stirshakenParams.shape>;
