/**
 * One compiled codec per table-row message (olelo.tables.v1.*Row): converts a `TableRow` (Kamailio
 * column names, values straight from SQL or a list file) to protobuf bytes and back, and to the
 * generated typed message and back. It is compiled once from the protobuf-es descriptor, the way
 * protobuf-es caches one writer per message type, so the column list lives only in the .proto.
 *
 * Values: every column is proto3 `optional`, so SQL NULL (or a missing column) travels as
 * "not set" and comes back as `null`. Integers given as numeric strings (mysql2 DECIMAL/BIGINT)
 * or booleans are accepted; anything else that does not fit the column type is a `TableError`
 * naming the table and row. Columns the message does not know are ignored, as Kamailio's loaders
 * select only the columns they know.
 *
 * @example
 *   const codec = compileRowCodec("dispatcher", DispatcherRowSchema);
 *   codec.toRow(codec.toMessage({ id: 1, setid: 1, destination: "sip:10.0.0.1", attrs: null }));
 */
import { create, ScalarType, type DescField, type DescMessage, type Message } from "@bufbuild/protobuf";
import { TableError, type TableRow } from "../rows.js";
import { utf8SizePacked, varintSize, WIRE_I64, WIRE_LEN, WIRE_VARINT, WireReader, WireWriter } from "./wire-buffer.js";

const T_STRING = 0;
const T_INT32 = 1;
const T_UINT32 = 2;
const T_DOUBLE = 3;

interface FieldPlan {
  readonly column: string;
  readonly localName: string;
  readonly fieldNo: number;
  readonly type: number;
  readonly wireType: number;
  readonly tag: number;
  readonly tagSize: number;
}

function planField(table: string, f: DescField): FieldPlan {
  if (f.fieldKind !== "scalar") throw new Error(`${table}.${f.name}: only scalar columns are supported`);
  let type: number;
  let wireType: number;
  switch (f.scalar) {
    case ScalarType.STRING:
      type = T_STRING;
      wireType = WIRE_LEN;
      break;
    case ScalarType.INT32:
      type = T_INT32;
      wireType = WIRE_VARINT;
      break;
    case ScalarType.UINT32:
      type = T_UINT32;
      wireType = WIRE_VARINT;
      break;
    case ScalarType.DOUBLE:
      type = T_DOUBLE;
      wireType = WIRE_I64;
      break;
    default:
      throw new Error(`${table}.${f.name}: scalar type ${ScalarType[f.scalar]} is not supported in table rows`);
  }
  const tag = ((f.number << 3) | wireType) >>> 0;
  return { column: f.name, localName: f.localName, fieldNo: f.number, type, wireType, tag, tagSize: varintSize(tag) };
}

const INT_RE = /^-?\d+$/;

/**
 * The codec of one table's rows. `measure` + `writeMeasured` split encoding in two so a chunker
 * can decide where a row goes before writing it; `decode` reads one row message.
 */
export class RowCodec<M extends Message = Message> {
  /** Column names in field order (Kamailio's column names). */
  readonly columns: readonly string[];
  private readonly fields: FieldPlan[];
  private readonly byNo: (FieldPlan | undefined)[];
  /** Normalized values / string sizes of the row last passed to `measure`. */
  private readonly vals: unknown[];
  private readonly sizes: number[];

  constructor(
    readonly table: string,
    readonly schema: DescMessage,
  ) {
    this.fields = schema.fields.map((f) => planField(table, f));
    this.columns = this.fields.map((f) => f.column);
    this.byNo = [];
    for (const f of this.fields) this.byNo[f.fieldNo] = f;
    this.vals = new Array(this.fields.length).fill(undefined);
    this.sizes = new Array(this.fields.length).fill(0);
  }

  /**
   * JS type a column decodes to ("string", "int" for int32/uint32, "double"), or undefined for a
   * column the message does not carry. A delta's removed keys are compared in this type.
   */
  columnType(column: string): "string" | "int" | "double" | undefined {
    const f = this.fields.find((x) => x.column === column);
    if (!f) return undefined;
    return f.type === T_STRING ? "string" : f.type === T_DOUBLE ? "double" : "int";
  }

  /** Value of the row's key column (the first one: id, gwid, ruleid or prefix) or its 1-based position. */
  rowKey(row: TableRow, index: number): string | number {
    const v = row[this.fields[0]!.column];
    return typeof v === "string" || typeof v === "number" ? v : index + 1;
  }

  /** Converts one column value to the field's JS type, or throws TableError. */
  normalize(f: FieldPlan, v: unknown, row: TableRow, index: number): string | number {
    switch (f.type) {
      case T_STRING:
        if (typeof v === "string") return v;
        if ((typeof v === "number" && Number.isFinite(v)) || typeof v === "bigint") return String(v);
        if (v instanceof Uint8Array) return Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString("utf8");
        break;
      case T_INT32:
      case T_UINT32: {
        let n: number;
        if (typeof v === "number") n = v;
        else if (typeof v === "string" && INT_RE.test(v.trim())) n = Number(v.trim());
        else if (typeof v === "boolean") n = v ? 1 : 0;
        else if (typeof v === "bigint") n = Number(v);
        else break;
        const [min, max] = f.type === T_INT32 ? [-2147483648, 2147483647] : [0, 4294967295];
        if (Number.isInteger(n) && n >= min && n <= max) return n;
        throw new TableError(this.table, this.rowKey(row, index), `column ${f.column}: ${String(v)} is not an integer in ${min}..${max}`);
      }
      case T_DOUBLE: {
        const n = typeof v === "number" ? v : typeof v === "string" && v.trim() !== "" ? Number(v) : NaN;
        if (Number.isFinite(n)) return n;
        break;
      }
    }
    const what = v instanceof Date ? "a date" : typeof v === "object" ? "an object" : `${typeof v} ${String(v)}`;
    const want = f.type === T_STRING ? "a string" : f.type === T_DOUBLE ? "a number" : "an integer";
    throw new TableError(this.table, this.rowKey(row, index), `column ${f.column}: expected ${want}, got ${what}`);
  }

  /** Validates the row and returns the byte size of its message body (without tag/length). */
  measure(row: TableRow, index: number): number {
    const fields = this.fields;
    const vals = this.vals;
    const sizes = this.sizes;
    let size = 0;
    for (let i = 0; i < fields.length; i++) {
      const f = fields[i]!;
      const raw = row[f.column];
      if (raw === null || raw === undefined) {
        vals[i] = undefined;
        continue;
      }
      let v: string | number;
      if (f.type === T_STRING && typeof raw === "string") v = raw;
      else if (f.type !== T_STRING && typeof raw === "number" && f.type !== T_DOUBLE && (raw | 0) === raw && (raw >= 0 || f.type === T_INT32)) v = raw;
      else v = this.normalize(f, raw, row, index);
      vals[i] = v;
      size += f.tagSize;
      if (f.type === T_STRING) {
        const packed = utf8SizePacked(v as string);
        sizes[i] = packed;
        const bytes = packed >>> 1;
        size += varintSize(bytes) + bytes;
      } else if (f.type === T_DOUBLE) {
        size += 8;
      } else {
        size += varintSize(v as number);
      }
    }
    return size;
  }

  /** Writes the fields of the row last passed to `measure` (the caller wrote tag and length). */
  writeMeasured(w: WireWriter): void {
    const fields = this.fields;
    const vals = this.vals;
    for (let i = 0; i < fields.length; i++) {
      const v = vals[i];
      if (v === undefined) continue;
      const f = fields[i]!;
      w.varint(f.tag);
      if (f.type === T_STRING) {
        const packed = this.sizes[i]!;
        w.string(v as string, packed >>> 1, (packed & 1) === 1);
      } else if (f.type === T_DOUBLE) {
        w.double(v as number);
      } else {
        w.varint(v as number);
      }
    }
  }

  /** Encodes one row as a standalone message (tests, small tables). */
  encode(row: TableRow, index = 0): Buffer {
    const size = this.measure(row, index);
    const w = new WireWriter(size);
    this.writeMeasured(w);
    return w.finish();
  }

  /** Decodes one row message from `r.buf[r.pos .. end)`; unset columns are `null`. */
  decode(r: WireReader, end: number): TableRow {
    const row: TableRow = {};
    const fields = this.fields;
    for (let i = 0; i < fields.length; i++) row[fields[i]!.column] = null;
    const byNo = this.byNo;
    while (r.pos < end) {
      const tag = r.varint32();
      const no = tag >>> 3;
      const wt = tag & 7;
      const f = no < byNo.length ? byNo[no] : undefined;
      if (f === undefined || f.wireType !== wt) {
        r.skip(wt);
        continue;
      }
      switch (f.type) {
        case T_STRING:
          row[f.column] = r.string();
          break;
        case T_INT32:
          row[f.column] = r.varint32() | 0;
          break;
        case T_UINT32:
          row[f.column] = r.varint32();
          break;
        default:
          row[f.column] = r.double();
      }
    }
    return row;
  }

  /** Typed conversion: a TableRow to the generated message (nulls become unset fields). */
  toMessage(row: TableRow, index = 0): M {
    const init: Record<string, unknown> = {};
    for (const f of this.fields) {
      const v = row[f.column];
      if (v !== null && v !== undefined) init[f.localName] = this.normalize(f, v, row, index);
    }
    return create(this.schema, init) as unknown as M;
  }

  /** Typed conversion: a generated message to a TableRow (unset fields become `null`). */
  toRow(msg: M): TableRow {
    const row: TableRow = {};
    const rec = msg as unknown as Record<string, unknown>;
    for (const f of this.fields) {
      const v = rec[f.localName];
      row[f.column] = v === undefined ? null : v;
    }
    return row;
  }
}

/** Compiles the codec for one Kamailio table from its row message descriptor. */
export function compileRowCodec<M extends Message>(table: string, schema: DescMessage): RowCodec<M> {
  return new RowCodec<M>(table, schema);
}
