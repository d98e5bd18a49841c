/**
 * StreamTablesResponse framing for the bulk path. The control plane encodes the small envelope
 * (kind, version, nonce, chunk position) with protobuf-es for every send and appends the chunk
 * bytes it encoded once per version; protobuf concatenation of fields is a valid message. The data
 * plane splits a received frame into the envelope and the still-encoded chunk, so rows are decoded
 * straight into Kamailio rows and the raw frame can be written to the cache unchanged.
 *
 * `fromBinary(StreamTablesResponseSchema, frame)` reads the same bytes (checked in tests).
 *
 * @example
 *   const bytes = encodeResponseFrame({ kind: "lcr", version: "v7", nonce: "n1", chunkIndex: 0, chunkCount: 1, totalRows: 3, compiledAt: "" }, chunk);
 *   parseResponseFrame(bytes).version; // "v7"
 */
import { create, toBinary } from "@bufbuild/protobuf";
import { StreamTablesResponseSchema } from "../../gen/olelo/control/v1/control_pb.js";
import { kindPlanByField, type KindPlan } from "./table-kinds.js";
import { WIRE_LEN, WIRE_VARINT, WireFormatError, WireReader } from "./wire-buffer.js";

/** The envelope of one chunk (every StreamTablesResponse field except the rows). */
export interface FrameEnvelope {
  kind: string;
  version: string;
  nonce: string;
  chunkIndex: number;
  chunkCount: number;
  totalRows: number;
  compiledAt: string;
}

/** A received StreamTablesResponse, rows still encoded. */
export interface ResponseFrame extends FrameEnvelope {
  /** Kind of the `tables` oneof case, or null when the frame carries no rows field. */
  readonly plan: KindPlan | null;
  /** The *Tables message bytes of this chunk. */
  readonly body: Buffer | null;
  /** The TableDelta message bytes (field 8) when this chunk belongs to a delta, else null. */
  readonly delta: Buffer | null;
  /** The whole frame as received (what the cache stores). */
  readonly raw: Buffer;
}

/**
 * Serializes envelope + pre-encoded fields into one StreamTablesResponse: `deltaField` (the
 * encoded `delta` field, tag included, of a delta chunk) and `chunk` (the `tables` oneof field).
 */
export function encodeResponseFrame(env: FrameEnvelope, chunk: Uint8Array, deltaField?: Uint8Array): Buffer {
  const head = toBinary(StreamTablesResponseSchema, create(StreamTablesResponseSchema, env));
  const extra = deltaField?.length ?? 0;
  const out = Buffer.allocUnsafe(head.length + extra + chunk.length);
  out.set(head, 0);
  if (deltaField) out.set(deltaField, head.length);
  out.set(chunk, head.length + extra);
  return out;
}

/** Field number of `StreamTablesResponse.delta`. */
export const DELTA_FIELD_NO = 8;

/** Splits a StreamTablesResponse into envelope and chunk body; throws WireFormatError if malformed. */
export function parseResponseFrame(raw: Buffer): ResponseFrame {
  const r = new WireReader(raw);
  const f: FrameEnvelope = { kind: "", version: "", nonce: "", chunkIndex: 0, chunkCount: 0, totalRows: 0, compiledAt: "" };
  let plan: KindPlan | null = null;
  let body: Buffer | null = null;
  let delta: Buffer | null = null;
  while (r.pos < r.end) {
    const tag = r.varint32();
    const no = tag >>> 3;
    const wt = tag & 7;
    if (no <= 7 && wt === (no >= 4 && no <= 6 ? WIRE_VARINT : WIRE_LEN)) {
      switch (no) {
        case 1: f.kind = r.string(); break;
        case 2: f.version = r.string(); break;
        case 3: f.nonce = r.string(); break;
        case 4: f.chunkIndex = r.varint32(); break;
        case 5: f.chunkCount = r.varint32(); break;
        case 6: f.totalRows = r.varint32(); break;
        case 7: f.compiledAt = r.string(); break;
        default: r.skip(wt);
      }
      continue;
    }
    if (no === DELTA_FIELD_NO && wt === WIRE_LEN) {
      const n = r.length();
      delta = raw.subarray(r.pos, r.pos + n);
      r.pos += n;
      continue;
    }
    const p = wt === WIRE_LEN ? kindPlanByField(no) : undefined;
    if (p) {
      const n = r.length();
      // Last one wins, as protobuf's oneof merge rule says.
      plan = p;
      body = raw.subarray(r.pos, r.pos + n);
      r.pos += n;
      continue;
    }
    r.skip(wt);
  }
  if (r.pos !== r.end) throw new WireFormatError("frame overran its length");
  return { ...f, plan, body, delta, raw };
}
