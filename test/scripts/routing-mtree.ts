/**
 * Routing script for test/routing-prefix-mtree.test.ts (mtree): the dialled number is a DID;
 * mt_match(tree "did", $rU, 0) gives the customer it belongs to (longest prefix), and the
 * customer's destinations (setting `customers`: customer → URIs) take the call in order; the
 * failure route takes the next one after a 5xx or a silent timeout. Unknown DID: 404 "Unknown DID".
 */
import { defineScript, type FailureContext } from "../../data-plane/core/api.js";
import { MTREE_VARS, type MtreeApi } from "../../data-plane/modules/mtree/index.js";
import { proxyBasics, relay, shouldFailOver } from "./routing-proxy.js";

const LEFT = "rt:destinations";

export default defineScript(({ modules, settings }) => {
  const mt = modules.mtree as MtreeApi;
  const customers = (settings.customers ?? {}) as Record<string, string[]>;
  return {
    request(req) {
      if (proxyBasics(req)) return;
      const m = mt.match(req, "did", req.ruriUser ?? "", 0);
      const list = m === null ? undefined : customers[String(req.vars.get(MTREE_VARS.value))];
      if (list === undefined || list.length === 0) {
        req.reply(404, "Unknown DID");
        return;
      }
      req.setDst(list[0]!);
      req.vars.set(LEFT, list.slice(1));
      req.onFailure("NEXT_DST");
      relay(req);
    },
    failure: {
      NEXT_DST(f: FailureContext) {
        const left = (f.vars.get(LEFT) as string[] | undefined) ?? [];
        if (!shouldFailOver(f) || left.length === 0) return;
        f.setDst(left[0]!);
        f.vars.set(LEFT, left.slice(1));
        f.onFailure("NEXT_DST");
        f.relay();
      },
    },
  };
});
