/**
 * Light data-plane clients for bench/push/scale-light.ts: COUNT StreamTables streams in this one
 * process, each a node (`<prefix>-<i>`) that says supports_delta, ACKs every version once its last
 * chunk arrives (frames are parsed for their envelope only: rows are not decoded, no table is
 * built), and on a lost stream reconnects (100–1000 ms backoff, jittered) with a Hello naming
 * what it last ACKed. So the figures are the control plane's: encode, send, bookkeeping.
 * Events on stdout (JSON lines): {event:"ready"}, {event:"up", i, t}, {event:"applied", i, version,
 * rows, delta, bytes, t} (t = wall clock ms, sub-ms precision).
 * Run by the bench: node --import tsx bench/push/light-clients.ts HOST:PORT PREFIX COUNT KIND [OFFSET] (nodes OFFSET..OFFSET+COUNT-1)
 */
import * as grpc from "@grpc/grpc-js";
import { create } from "@bufbuild/protobuf";
import { StreamTablesRequestSchema, TablePushService, type StreamTablesRequest } from "../../gen/olelo/control/v1/control_pb.js";
import { createClientConstructor, type MessageCodec } from "../../tables/wire/grpc-adapter.js";
import { parseResponseFrame, type ResponseFrame } from "../../tables/wire/response-frame.js";

const [address, prefix, countArg, kind, offsetArg] = process.argv.slice(2) as [string, string, string, string, string?];
const COUNT = Number(countArg);
const OFFSET = Number(offsetArg ?? 0);
const frameCodec: MessageCodec<ResponseFrame> = { serialize: (f) => f.raw, deserialize: (b) => parseResponseFrame(b) };
const Client = createClientConstructor(TablePushService, { streamTables: { response: frameCodec } });
const now = () => performance.timeOrigin + performance.now();
const emit = (e: Record<string, unknown>) => process.stdout.write(JSON.stringify(e) + "\n");

function node(i: number): void {
  // the real sync client's channel options: its own connection per node, reconnect backoff 100..1000 ms
  const client = new Client(address, grpc.credentials.createInsecure(), {
    "grpc.max_receive_message_length": 16 * 1024 * 1024,
    "grpc.initial_reconnect_backoff_ms": 100,
    "grpc.max_reconnect_backoff_ms": 1000,
    "grpc.use_local_subchannel_pool": 1,
  });
  let running: string | null = null;
  let delay = 100;
  const open = () => {
    const call = (client as unknown as { streamTables(): grpc.ClientDuplexStream<StreamTablesRequest, ResponseFrame> }).streamTables.call(client);
    let bytes = 0;
    let again = false;
    const retry = () => {
      if (again) return;
      again = true;
      setTimeout(open, delay * (0.5 + Math.random()));
      delay = Math.min(1000, delay * 2);
    };
    call.on("metadata", () => {
      delay = 100;
      emit({ event: "up", i, t: now() });
    });
    call.on("data", (f: ResponseFrame) => {
      if (f.chunkIndex === 0) bytes = 0;
      bytes += f.raw.length;
      if (f.chunkIndex !== f.chunkCount - 1) return;
      running = f.version;
      call.write(create(StreamTablesRequestSchema, { message: { case: "ack", value: { kind: f.kind, version: f.version, responseNonce: f.nonce } } }));
      emit({ event: "applied", i, version: f.version, rows: f.totalRows, delta: f.delta !== null, bytes, t: now() });
    });
    call.on("error", retry);
    call.on("end", retry);
    call.on("status", retry);
    call.write(
      create(StreamTablesRequestSchema, {
        message: { case: "hello", value: { node: { id: `${prefix}-${i}`, buildVersion: "bench-light/1", kinds: [kind], supportsDelta: true }, versions: running ? { [kind]: running } : {} } },
      }),
    );
  };
  open();
}

for (let i = OFFSET; i < OFFSET + COUNT; i++) node(i);
emit({ event: "ready", count: COUNT });
process.stdin.on("end", () => process.exit(0));
process.stdin.resume();
