/**
 * The verification service (RFC 8224 §6.2, ATIS-1000074 §5.3): Identity header → PASSporT →
 * certificate at x5u (cached) → chain to a trust anchor → ES256 signature → iat freshness →
 * orig/dest telephone numbers against the SIP message. Asynchronous throughout; the whole check
 * is bounded by `timeoutMs`.
 *
 * @example
 *   const out = await verifyIdentity({ identities, origTn: "12155550121", destTns: ["12155550131"] }, deps);
 *   out.code; // 1 = TN-Validation-Passed, negative = VERIFY_CODES
 */
import type { X509Certificate } from "node:crypto";
import type { CertCache } from "./cert-cache.js";
import { checkChain } from "./cert-chain.js";
import { parseIdentity } from "./identity-header.js";
import { checkShakenClaims, decodePassport, verifyEs256 } from "./passport.js";

/** verstat values (ATIS-1000074 §5.3.1). */
export type Verstat = "TN-Validation-Passed" | "TN-Validation-Failed" | "No-TN-Validation";

/** Result codes of a verification, the SIP answer RFC 8224 gives each, and the verstat. */
export const VERIFY_CODES = {
  passed: { code: 1, sip: 0, reason: "", verstat: "TN-Validation-Passed" },
  no_identity: { code: -1, sip: 428, reason: "Use Identity Header", verstat: "No-TN-Validation" },
  invalid: { code: -2, sip: 438, reason: "Invalid Identity Header", verstat: "TN-Validation-Failed" },
  unsupported: { code: -3, sip: 437, reason: "Unsupported Credential", verstat: "TN-Validation-Failed" },
  bad_info: { code: -4, sip: 436, reason: "Bad Identity Info", verstat: "No-TN-Validation" },
  untrusted: { code: -5, sip: 437, reason: "Unsupported Credential", verstat: "TN-Validation-Failed" },
  bad_signature: { code: -6, sip: 438, reason: "Invalid Identity Header", verstat: "TN-Validation-Failed" },
  stale: { code: -7, sip: 403, reason: "Stale Date", verstat: "TN-Validation-Failed" },
  tn_mismatch: { code: -8, sip: 438, reason: "Invalid Identity Header", verstat: "TN-Validation-Failed" },
  timeout: { code: -9, sip: 436, reason: "Bad Identity Info", verstat: "No-TN-Validation" },
} as const satisfies Record<string, { code: number; sip: number; reason: string; verstat: Verstat }>;

export type VerifyResult = keyof typeof VERIFY_CODES;

/** What the script sees after a verification. */
export interface VerifyOutcome {
  readonly result: VerifyResult;
  readonly code: number;
  readonly verstat: Verstat;
  /** SIP status and reason for a rejection (0 when passed). */
  readonly sipCode: number;
  readonly sipReason: string;
  /** Why it failed, one line. */
  readonly detail: string;
  readonly attest: string | null;
  readonly origid: string | null;
  readonly x5u: string | null;
  readonly origTn: string | null;
}

export interface VerifyInput {
  /** Every Identity header value of the request, in order. */
  readonly identities: readonly string[];
  /** The caller's TN from P-Asserted-Identity or From (canonical digits), null when not a TN. */
  readonly origTn: string | null;
  /** The callee TNs to accept (To, R-URI), or null to skip the dest check. */
  readonly destTns: readonly string[] | null;
}

export interface VerifyDeps {
  readonly certs: CertCache;
  readonly anchors: readonly X509Certificate[];
  /** Allowed age of `iat` in seconds (RFC 8224 §6.2.2 recommends 60). */
  readonly freshnessS: number;
  readonly timeoutMs: number;
  readonly now?: () => number;
}

function outcome(result: VerifyResult, detail: string, extra: Partial<VerifyOutcome> = {}): VerifyOutcome {
  const c = VERIFY_CODES[result];
  return { result, code: c.code, verstat: c.verstat, sipCode: c.sip, sipReason: c.reason, detail, attest: null, origid: null, x5u: null, origTn: null, ...extra };
}

/**
 * The chain check of a cached chain is remembered for a minute per anchor set (a cached x5u is
 * checked once, not on every call); expiry within that minute is caught at the next check.
 */
const verdicts = new WeakMap<readonly X509Certificate[], { anchors: readonly X509Certificate[]; at: number; why: string | null }>();
function chainVerdict(chain: readonly X509Certificate[], anchors: readonly X509Certificate[], now: number): string | null {
  const v = verdicts.get(chain);
  if (v && v.anchors === anchors && now - v.at < 60_000 && now >= v.at) return v.why;
  const why = checkChain(chain, anchors, now);
  verdicts.set(chain, { anchors, at: now, why });
  return why;
}

/** Runs the verification with the bounded wait. Never rejects. */
export async function verifyIdentity(input: VerifyInput, deps: VerifyDeps): Promise<VerifyOutcome> {
  let timer: NodeJS.Timeout | undefined;
  const limit = new Promise<VerifyOutcome>((resolve) => {
    timer = setTimeout(() => resolve(outcome("timeout", `verification took longer than ${deps.timeoutMs} ms`)), deps.timeoutMs);
  });
  try {
    return await Promise.race([run(input, deps).catch((e: unknown) => outcome("invalid", `verification error: ${(e as Error).message}`)), limit]);
  } finally {
    clearTimeout(timer);
  }
}

async function run(input: VerifyInput, deps: VerifyDeps): Promise<VerifyOutcome> {
  if (input.identities.length === 0) return outcome("no_identity", "no Identity header");
  const parsed = input.identities.map(parseIdentity);
  const id = parsed.find((p) => typeof p !== "string" && (p.ppt === null || p.ppt.toLowerCase() === "shaken")) ?? parsed[0]!;
  if (typeof id === "string") return outcome("invalid", id);
  if (id.ppt !== null && id.ppt.toLowerCase() !== "shaken") return outcome("unsupported", `ppt '${id.ppt}' is not supported`);
  if (id.alg !== null && id.alg !== "ES256") return outcome("unsupported", `alg '${id.alg}' is not supported`);
  const pp = decodePassport(id.token);
  if (typeof pp === "string") return outcome("invalid", pp);
  if (pp.header.alg !== "ES256") return outcome("unsupported", `alg '${String(pp.header.alg)}' is not supported`);
  if (pp.header.ppt !== "shaken") return outcome("unsupported", `ppt '${String(pp.header.ppt)}' is not supported`);
  if (pp.header.typ !== undefined && pp.header.typ !== "passport") return outcome("invalid", "typ must be passport");
  const x5u = typeof pp.header.x5u === "string" ? pp.header.x5u : id.info;
  if (!x5u) return outcome("invalid", "no x5u and no info");
  if (id.info && typeof pp.header.x5u === "string" && id.info !== pp.header.x5u) return outcome("invalid", "info and x5u differ");
  const bad = checkShakenClaims(pp.claims);
  if (bad) return outcome("invalid", bad, { x5u });
  const c = pp.claims as { attest: string; origid: string; iat: number; orig: { tn?: string }; dest: { tn?: string[] } };
  const extra = { attest: c.attest, origid: c.origid, x5u, origTn: c.orig.tn ?? null };
  const now = (deps.now ?? Date.now)();
  if (Math.abs(now / 1000 - c.iat) > deps.freshnessS) return outcome("stale", `iat is ${Math.round(now / 1000 - c.iat)} s old (limit ${deps.freshnessS} s)`, extra);
  const cert = await deps.certs.get(x5u);
  if (cert.error !== undefined) return outcome("bad_info", cert.error, extra);
  const why = chainVerdict(cert.chain, deps.anchors, now);
  if (why) return outcome("untrusted", why, extra);
  if (!(await verifyEs256(cert.chain[0]!.publicKey, pp.signingInput, pp.signature))) return outcome("bad_signature", "signature does not verify", extra);
  const origTn = c.orig.tn ?? null;
  if (origTn === null || input.origTn === null || origTn.replace(/^\+/, "") !== input.origTn) {
    return outcome("tn_mismatch", `orig tn ${origTn ?? "(none)"} does not match the caller ${input.origTn ?? "(not a number)"}`, extra);
  }
  if (input.destTns) {
    const dest = (c.dest.tn ?? []).map((t) => t.replace(/^\+/, ""));
    if (!dest.some((t) => input.destTns!.includes(t))) return outcome("tn_mismatch", `dest tn ${dest.join(",") || "(none)"} does not match the callee`, extra);
  }
  return outcome("passed", "", extra);
}
