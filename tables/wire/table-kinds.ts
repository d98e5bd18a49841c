/**
 * The table kinds the push protocol carries, derived from the generated descriptors: each case of
 * the `tables` oneof in olelo.control.v1.StreamTablesResponse is one kind (its field name is the
 * kind name), and each repeated field of that kind's *Tables message is one Kamailio table (its
 * field name is the table name). Adding a kind is a .proto change only.
 *
 * @example
 *   kindPlan("lcr")!.tables.map((t) => t.name); // ["lcr_gw", "lcr_rule", "lcr_rule_target"]
 */
import type { DescMessage } from "@bufbuild/protobuf";
import { StreamTablesResponseSchema } from "../../gen/olelo/control/v1/control_pb.js";
import { compileRowCodec, type RowCodec } from "./row-codec.js";
import { varintSize, WIRE_LEN } from "./wire-buffer.js";

/** One Kamailio table inside a kind. */
export interface TablePlan {
  readonly name: string;
  readonly fieldNo: number;
  /** Tag bytes of this table's repeated field inside the *Tables message (length-delimited). */
  readonly tag: number;
  readonly tagSize: number;
  readonly codec: RowCodec;
}

/** One table kind: its field in the response oneof and its tables in field order. */
export interface KindPlan {
  readonly kind: string;
  /** Field number of the kind in StreamTablesResponse's `tables` oneof. */
  readonly fieldNo: number;
  readonly tablesSchema: DescMessage;
  readonly tables: readonly TablePlan[];
  readonly tableByName: ReadonlyMap<string, TablePlan>;
  readonly tableByNo: readonly (TablePlan | undefined)[];
}

/**
 * Make-before-break order for pushing several kinds: kinds that others reference go first
 * (lcr_rule.mt_tvalue looks up an mtree; carrierroute's cr_user_carrier reads subscriber), so a
 * data plane never runs a rule whose referenced table is still missing. Kinds that reference
 * each other's rows (lcr_gw ← lcr_rule_target) share one kind and are applied atomically.
 */
export const KIND_ORDER: readonly string[] = [
  "mtree",
  "htable",
  "address",
  "trusted",
  "subscriber",
  "alias_db",
  "speed_dial",
  "callfwd",
  "domain",
  "dialplan",
  "stir_attest",
  "pl_pipes",
  "dispatcher",
  "drouting",
  "carrierroute",
  "lcr",
  "prefix_route",
];

function buildPlans(): Map<string, KindPlan> {
  const plans = new Map<string, KindPlan>();
  const oneof = StreamTablesResponseSchema.oneofs.find((o) => o.name === "tables");
  if (!oneof) throw new Error("StreamTablesResponse has no `tables` oneof");
  for (const kf of oneof.fields) {
    if (kf.fieldKind !== "message") throw new Error(`tables.${kf.name} is not a message`);
    const tables: TablePlan[] = [];
    const tableByNo: (TablePlan | undefined)[] = [];
    for (const tf of kf.message.fields) {
      if (tf.fieldKind !== "list" || tf.listKind !== "message") throw new Error(`${kf.name}.${tf.name} is not a repeated row message`);
      const tag = ((tf.number << 3) | WIRE_LEN) >>> 0;
      const plan: TablePlan = { name: tf.name, fieldNo: tf.number, tag, tagSize: varintSize(tag), codec: compileRowCodec(tf.name, tf.message) };
      tables.push(plan);
      tableByNo[tf.number] = plan;
    }
    plans.set(kf.name, {
      kind: kf.name,
      fieldNo: kf.number,
      tablesSchema: kf.message,
      tables,
      tableByName: new Map(tables.map((t) => [t.name, t])),
      tableByNo,
    });
  }
  for (const k of KIND_ORDER) if (!plans.has(k)) throw new Error(`KIND_ORDER names unknown kind ${k}`);
  for (const k of plans.keys()) if (!KIND_ORDER.includes(k)) throw new Error(`kind ${k} missing from KIND_ORDER`);
  return plans;
}

const PLANS = buildPlans();
const PLAN_BY_FIELD: (KindPlan | undefined)[] = [];
for (const p of PLANS.values()) PLAN_BY_FIELD[p.fieldNo] = p;

/** The plan of a kind, or undefined when the protocol has no message for it. */
export function kindPlan(kind: string): KindPlan | undefined {
  return PLANS.get(kind);
}

/** The plan whose oneof field number is `fieldNo`. */
export function kindPlanByField(fieldNo: number): KindPlan | undefined {
  return fieldNo < PLAN_BY_FIELD.length ? PLAN_BY_FIELD[fieldNo] : undefined;
}

/** Every kind the protocol can carry, in make-before-break order. */
export function pushableKinds(): string[] {
  return [...KIND_ORDER];
}

/** Sorts kind names into make-before-break order (unknown kinds last, by name). */
export function sortKinds(kinds: Iterable<string>): string[] {
  const rank = (k: string) => {
    const i = KIND_ORDER.indexOf(k);
    return i < 0 ? KIND_ORDER.length : i;
  };
  return [...new Set(kinds)].sort((a, b) => rank(a) - rank(b) || (a < b ? -1 : a > b ? 1 : 0));
}
