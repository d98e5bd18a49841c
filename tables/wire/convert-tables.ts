/**
 * Typed conversion between a kind's generated *Tables message and a `TableSet` (Kamailio table
 * name → rows with Kamailio column names), both ways, with SQL NULLs kept as `null`. The bulk push
 * path encodes rows directly (table-chunks.ts); these converters are for code that wants the
 * typed messages (tests, tools, a future delta protocol) and produce byte-identical results.
 *
 * @example
 *   const msg = tableSetToMessage("dispatcher", { dispatcher: [{ id: 1, setid: 1, destination: "sip:a", flags: 0, priority: 0, attrs: null, description: "" }] });
 *   messageToTableSet("dispatcher", msg).dispatcher[0].attrs; // null
 */
import { create, type Message } from "@bufbuild/protobuf";
import type { StreamTablesResponse } from "../../gen/olelo/control/v1/control_pb.js";
import type { AddressTables } from "../../gen/olelo/tables/v1/address_pb.js";
import type { AliasDbTables } from "../../gen/olelo/tables/v1/alias_db_pb.js";
import type { CallfwdTables } from "../../gen/olelo/tables/v1/callfwd_pb.js";
import type { DialplanTables } from "../../gen/olelo/tables/v1/dialplan_pb.js";
import type { DomainTables } from "../../gen/olelo/tables/v1/domain_pb.js";
import type { CarrierrouteTables } from "../../gen/olelo/tables/v1/carrierroute_pb.js";
import type { DispatcherTables } from "../../gen/olelo/tables/v1/dispatcher_pb.js";
import type { DroutingTables } from "../../gen/olelo/tables/v1/drouting_pb.js";
import type { HtableTables } from "../../gen/olelo/tables/v1/htable_pb.js";
import type { LcrTables } from "../../gen/olelo/tables/v1/lcr_pb.js";
import type { MtreeTables } from "../../gen/olelo/tables/v1/mtree_pb.js";
import type { PrefixRouteTables } from "../../gen/olelo/tables/v1/prefix_route_pb.js";
import type { PlPipesTables } from "../../gen/olelo/tables/v1/pl_pipes_pb.js";
import type { SpeedDialTables } from "../../gen/olelo/tables/v1/speed_dial_pb.js";
import type { StirAttestTables } from "../../gen/olelo/tables/v1/stir_attest_pb.js";
import type { SubscriberTables } from "../../gen/olelo/tables/v1/subscriber_pb.js";
import type { TrustedTables } from "../../gen/olelo/tables/v1/trusted_pb.js";
import { TableError, type TableSet } from "../rows.js";
import { kindPlan, type KindPlan } from "./table-kinds.js";

/** Kind name → its generated *Tables message type. */
export interface KindTablesMessages {
  dispatcher: DispatcherTables;
  lcr: LcrTables;
  drouting: DroutingTables;
  carrierroute: CarrierrouteTables;
  prefix_route: PrefixRouteTables;
  mtree: MtreeTables;
  subscriber: SubscriberTables;
  address: AddressTables;
  trusted: TrustedTables;
  htable: HtableTables;
  alias_db: AliasDbTables;
  speed_dial: SpeedDialTables;
  callfwd: CallfwdTables;
  dialplan: DialplanTables;
  domain: DomainTables;
  stir_attest: StirAttestTables;
  pl_pipes: PlPipesTables;
}

/** A kind name the protocol carries. */
export type PushKind = keyof KindTablesMessages;

function planOf(kind: string): KindPlan {
  const plan = kindPlan(kind);
  if (!plan) throw new Error(`table kind '${kind}' has no message in the push protocol`);
  return plan;
}

/** Converts a TableSet to the kind's typed message; throws TableError for a row that does not fit. */
export function tableSetToMessage<K extends PushKind>(kind: K, set: TableSet): KindTablesMessages[K] {
  const plan = planOf(kind);
  const init: Record<string, unknown> = {};
  for (const name of Object.keys(set)) {
    if (!plan.tableByName.has(name)) throw new TableError(name, null, `not a table of kind ${kind}`);
  }
  for (const t of plan.tables) {
    const rows = set[t.name] ?? [];
    const localName = plan.tablesSchema.fields.find((f) => f.number === t.fieldNo)!.localName;
    init[localName] = rows.map((row, i) => t.codec.toMessage(row, i));
  }
  return create(plan.tablesSchema, init) as unknown as KindTablesMessages[K];
}

/** Converts a kind's typed message to a TableSet (every table of the kind present, unset → null). */
export function messageToTableSet(kind: string, msg: Message): TableSet {
  const plan = planOf(kind);
  if (msg.$typeName !== plan.tablesSchema.typeName) throw new Error(`expected ${plan.tablesSchema.typeName}, got ${msg.$typeName}`);
  const rec = msg as unknown as Record<string, Message[]>;
  const set: TableSet = {};
  for (const t of plan.tables) {
    const localName = plan.tablesSchema.fields.find((f) => f.number === t.fieldNo)!.localName;
    set[t.name] = (rec[localName] ?? []).map((m) => t.codec.toRow(m));
  }
  return set;
}

/** Rows carried by one decoded StreamTablesResponse (its `tables` oneof), as a TableSet. */
export function responseToTableSet(resp: StreamTablesResponse): { kind: string; set: TableSet } | null {
  if (resp.tables.case === undefined) return null;
  return { kind: resp.tables.case, set: messageToTableSet(resp.tables.case, resp.tables.value) };
}
