/**
 * A hand-driven data plane for protocol tests: opens StreamTables with the same adapter as the
 * real client but lets the test choose every Hello/Ack/Nack (stale nonces, wrong first message)
 * and read every frame the control plane sends.
 *
 * @example
 *   const s = openRawStream(push.address); s.hello("dp-1", ["dispatcher"], {});
 *   const f = await s.next(); s.ack(f.kind, f.version, f.nonce);
 */
import * as grpc from "@grpc/grpc-js";
import { create, type MessageInitShape } from "@bufbuild/protobuf";
import { StreamTablesRequestSchema, TablePushService, type StreamTablesRequest } from "../../../gen/olelo/control/v1/control_pb.js";
import type { ErrorDetailSchema } from "../../../gen/olelo/control/v1/control_pb.js";
import type { TableSet } from "../../../tables/rows.js";
import { ChunkAssembler } from "../../../tables/wire/chunk-assembler.js";
import type { ReceivedDelta } from "../../../tables/wire/delta-chunks.js";
import { createClientConstructor, type MessageCodec } from "../../../tables/wire/grpc-adapter.js";
import { parseResponseFrame, type ResponseFrame } from "../../../tables/wire/response-frame.js";

/** A complete version as the raw stream received it. */
export interface RawVersion {
  kind: string;
  version: string;
  nonce: string;
  chunks: number;
  /** Every row, or for a delta the upserted rows. */
  set: TableSet;
  /** Set when the version came as a delta. */
  delta: ReceivedDelta | null;
  /** Frame bytes of this version. */
  bytes: number;
}

/** The hand-driven stream: send any request, read complete versions. */
export interface RawStream {
  write(msg: MessageInitShape<typeof StreamTablesRequestSchema>): void;
  hello(nodeId: string, kinds: string[], versions: Record<string, string>, buildVersion?: string, opts?: { supportsDelta?: boolean; compileOptions?: Record<string, string> }): void;
  ack(kind: string, version: string, nonce: string): void;
  nack(kind: string, runningVersion: string, rejectedVersion: string, nonce: string, detail: MessageInitShape<typeof ErrorDetailSchema>): void;
  /** Next complete version (waits up to timeoutMs; rejects on timeout or stream end). */
  next(timeoutMs?: number): Promise<RawVersion>;
  /** Resolves with every complete version that arrives within ms. */
  collect(ms: number): Promise<RawVersion[]>;
  /** Every frame seen so far. */
  readonly frames: ResponseFrame[];
  /** Final status of the call, once it ended. */
  status(): Promise<grpc.StatusObject>;
  close(): void;
}

const frameCodec: MessageCodec<ResponseFrame> = { serialize: (f) => f.raw, deserialize: (b) => parseResponseFrame(b) };
const Client = createClientConstructor(TablePushService, { streamTables: { response: frameCodec } });

/** Opens one raw StreamTables call. */
export function openRawStream(address: string): RawStream {
  const client = new Client(address, grpc.credentials.createInsecure(), { "grpc.max_receive_message_length": 16 * 1024 * 1024 });
  const call = (client as unknown as { streamTables(): grpc.ClientDuplexStream<StreamTablesRequest, ResponseFrame> }).streamTables.call(client);
  const asm = new ChunkAssembler(false);
  const frames: ResponseFrame[] = [];
  const ready: RawVersion[] = [];
  let bytes = 0;
  let waiter: (() => void) | null = null;
  let ended = false;
  const bad: string[] = [];
  const statusP = new Promise<grpc.StatusObject>((resolve) => call.on("status", resolve));
  call.on("error", () => {});
  call.on("data", (f: ResponseFrame) => {
    frames.push(f);
    if (f.chunkIndex === 0) bytes = 0;
    bytes += f.raw.length;
    const r = asm.push(f);
    if (r.state === "complete") ready.push({ kind: r.kind, version: r.version, nonce: r.nonce, chunks: f.chunkCount, set: r.set, delta: r.delta, bytes });
    if (r.state === "bad") bad.push(r.reason);
    waiter?.();
  });
  void statusP.then(() => {
    ended = true;
    waiter?.();
  });
  const write = (msg: MessageInitShape<typeof StreamTablesRequestSchema>) => call.write(create(StreamTablesRequestSchema, msg));
  return {
    frames,
    write,
    hello: (nodeId, kinds, versions, buildVersion = "test/1", opts = {}) =>
      write({ message: { case: "hello", value: { node: { id: nodeId, buildVersion, kinds, supportsDelta: opts.supportsDelta ?? false }, versions, compileOptions: opts.compileOptions ?? {} } } }),
    ack: (kind, version, nonce) => write({ message: { case: "ack", value: { kind, version, responseNonce: nonce } } }),
    nack: (kind, runningVersion, rejectedVersion, nonce, detail) =>
      write({ message: { case: "nack", value: { kind, version: runningVersion, rejectedVersion, responseNonce: nonce, errorDetail: detail } } }),
    next(timeoutMs = 5000) {
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
          waiter = null;
          reject(new Error(`no table version within ${timeoutMs} ms`));
        }, timeoutMs);
        const check = () => {
          if (bad.length > 0) {
            clearTimeout(timer);
            waiter = null;
            reject(new Error(`bad chunk from server: ${bad.join("; ")}`));
          } else if (ready.length > 0) {
            clearTimeout(timer);
            waiter = null;
            resolve(ready.shift()!);
          } else if (ended) {
            clearTimeout(timer);
            waiter = null;
            reject(new Error("stream ended"));
          }
        };
        waiter = check;
        check();
      });
    },
    collect(ms) {
      return new Promise((resolve) => setTimeout(() => resolve(ready.splice(0)), ms));
    },
    status: () => statusP,
    close() {
      call.cancel();
      client.close();
    },
  };
}
