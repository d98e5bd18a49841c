import { z } from "zod";
import { custom, defineParams, issue, str, type ParamsOf } from "../../core/kit/params.js";

const SQL_NAME = /^[A-Za-z_][A-Za-z0-9_]{0,63}$/;

const nonEmpty = (s: string) => (s === "" ? "must be a non-empty string" : null);
const table = (dflt: string, doc: string) =>
  str({
    default: dflt,
    emptyIsAbsent: false,
    doc,
    fail: () => "must be a non-empty string",
    check: (s) => nonEmpty(s) ?? (SQL_NAME.test(s) ? null : `must be a plain SQL table name, got '${s}'`),
  });

/**
 * The permissions module's configuration section, validated once at init (Kamailio modparams
 * where they exist: db_url, address_table, trusted_table, peer_tag_avp → peer_tag_var).
 */
export const permissionsParams = defineParams(
  "permissions",
  {
    db_url: custom<string | null>({
      type: "string",
      doc: "MySQL URL used by addressReload / trustedReload (and at start when set)",
      schema: z.unknown().transform((v, ctx) => {
        if (v === undefined) return null;
        if (typeof v !== "string" || v === "") return issue(ctx, "must be a non-empty string");
        return v;
      }),
      fail: () => "must be a non-empty string",
    }),
    address_table: table("address", "Table of the address groups"),
    trusted_table: table("trusted", "Table of the trusted peers"),
    peer_tag_var: str({
      default: "permissions:tag",
      doc: "Request variable receiving the matched row's tag (Kamailio peer_tag_avp)",
      fail: () => "must be a non-empty string",
      check: nonEmpty,
    }),
    trusted_groups: custom<readonly number[]>({
      type: "integer list",
      default: [1],
      doc: "Address groups whose members `isTrusted()` accepts (flood/auth exemption)",
      schema: z.unknown().transform((g) => (g === undefined ? [1] : Array.isArray(g) ? g : [g])).pipe(
        z.array(z.preprocess((x) => (typeof x === "string" && /^\d+$/.test(x) ? Number(x) : x), z.number().int().min(0))),
      ),
      fail: () => "must be a list of non-negative integers",
    }),
  },
  { nullIsAbsent: true },
);

export type PermissionsParams = ParamsOf<typeof permissionsParams.shape>;

/** Validates the section; throws an Error naming the parameter. */
export const parsePermissionsParams = (cfg: Readonly<Record<string, unknown>>): PermissionsParams => permissionsParams.parse(cfg);
