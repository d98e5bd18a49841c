import { RpcCode, RpcError, defineRpc, type RpcMethod } from "../../core/api.js";
import type { AttestTable } from "../../../tables/stir-attest/attest-table.js";
import type { CertCache } from "./cert-cache.js";
import { checkChain } from "./cert-chain.js";
import type { CredentialStore } from "./credentials.js";

export interface StirshakenRpcDeps {
  /** Re-reads keys, certificates and trust anchors; rejects (old set stays) naming the bad file. */
  reload(): Promise<CredentialStore>;
  store(): CredentialStore;
  readonly certs: CertCache;
  table(): AttestTable;
  stats(): Record<string, number>;
}

/** stirshaken.* RPC methods. */
export function stirshakenRpcMethods(d: StirshakenRpcDeps): RpcMethod[] {
  const describe = (s: CredentialStore) => ({
    credentials: [...s.credentials.values()].map((c) => ({ name: c.name, x5u: c.x5u })),
    anchors: s.anchors.map((a) => ({ subject: a.subject.replace(/\n/g, ", "), valid_to: a.validTo, fingerprint256: a.fingerprint256 })),
    loaded_at: s.loadedAt,
  });
  return [
    defineRpc({
      name: "stirshaken.reload",
      doc: "Re-reads the signing keys, certificates and trust anchors from their files and empties the x5u cache; on an error the old set stays live",
      params: [],
      returns: "{credentials, anchors, loaded_at}",
      handler: async () => {
        try {
          return describe(await d.reload());
        } catch (e) {
          throw new RpcError(RpcCode.ServerError, (e as Error).message);
        }
      },
    }),
    defineRpc({
      name: "stirshaken.status",
      doc: "Credentials, trust anchors, policy rows, cache size and the counters per result",
      params: [],
      returns: "{credentials, anchors, loaded_at, policy_rows, cache_entries, stats}",
      handler: () => ({ ...describe(d.store()), policy_rows: d.table().rows, cache_entries: d.certs.list().length, stats: d.stats() }),
    }),
    defineRpc({
      name: "stirshaken.cache_list",
      doc: "The cached x5u URLs with their expiry and state",
      params: [],
      returns: "[{url, expires, ok, subject|error}]",
      handler: () => d.certs.list(),
    }),
    defineRpc({
      name: "stirshaken.cache_clear",
      doc: "Empties the x5u certificate cache",
      params: [],
      returns: "{removed}",
      handler: () => ({ removed: d.certs.clear() }),
    }),
    defineRpc({
      name: "stirshaken.check",
      doc: "Fetches an x5u URL through the cache and policy now and checks its chain against the trust anchors (operators' test of a peer's certificate)",
      params: [{ name: "url", type: "string" }],
      returns: "{ok, subject, chain_length, trusted, reason} or an error",
      handler: async ({ url }) => {
        const r = await d.certs.get(String(url));
        if (r.error !== undefined) throw new RpcError(RpcCode.ServerError, r.error);
        const why = checkChain(r.chain, d.store().anchors, Date.now());
        return { ok: true, subject: r.chain[0]!.subject.replace(/\n/g, ", "), chain_length: r.chain.length, trusted: why === null, reason: why ?? "" };
      },
    }),
  ];
}
