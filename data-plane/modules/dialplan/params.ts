import { defineParams, str, type ParamsOf } from "../../core/kit/params.js";

const VAR_RE = /^\$(var|avp|xavp)\([A-Za-z_][A-Za-z0-9_]{0,63}\)$/;

/** The dialplan module's configuration section (Kamailio's modparams that apply). */
export const dialplanParams = defineParams("dialplan", {
  attrs_pvar: str({
    default: "$avp(dp_attrs)",
    doc: "Where dp_translate puts the matched rule's attrs: a `$var(name)` / `$avp(name)` (req.vars key)",
    check: (s) => (VAR_RE.test(s) ? null : "must be $var(name), $avp(name) or $xavp(name)"),
  }),
});

export type DialplanParams = ParamsOf<typeof dialplanParams.shape>;

/** Validates the section; throws an Error naming the parameter. */
export const parseDialplanParams = (cfg: Readonly<Record<string, unknown>>): DialplanParams => dialplanParams.parse(cfg);
