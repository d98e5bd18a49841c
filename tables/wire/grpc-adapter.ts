/**
 * Binds protobuf-es v2 generated services to @grpc/grpc-js (stack.md item 9): grpc-js wants a
 * `ServiceDefinition` with a path, streaming flags and serialize/deserialize per method; protobuf-es
 * gives a `GenService` descriptor plus `toBinary`/`fromBinary`. A method's codec can be replaced
 * (the table push sends pre-encoded frames and reads rows without building message objects).
 *
 * @example
 *   const def = createServiceDefinition(TablePushService);
 *   server.addService(def, { streamTables: (call) => { ... } });
 *   const Client = createClientConstructor(TablePushService); const c = new Client(addr, creds);
 */
import * as grpc from "@grpc/grpc-js";
import { fromBinary, toBinary, type DescMessage, type MessageShape } from "@bufbuild/protobuf";
import type { GenService, GenServiceMethods } from "@bufbuild/protobuf/codegenv2";

/** How one message type crosses the wire. */
export interface MessageCodec<T> {
  serialize(value: T): Buffer;
  deserialize(bytes: Buffer): T;
}

/** The default codec of a message schema: protobuf-es toBinary / fromBinary. */
export function protoCodec<D extends DescMessage>(schema: D): MessageCodec<MessageShape<D>> {
  return {
    serialize: (value) => {
      const b = toBinary(schema, value);
      return Buffer.from(b.buffer, b.byteOffset, b.byteLength);
    },
    deserialize: (bytes) => fromBinary(schema, bytes),
  };
}

/** Per-method codec replacements, keyed by the method's local name (`streamTables`). */
export type CodecOverrides<S extends GenServiceMethods> = {
  [K in keyof S]?: { request?: MessageCodec<any>; response?: MessageCodec<any> };
};

/** The grpc-js handler type for one generated method with default codecs. */
export type MethodHandler<M extends GenServiceMethods[string]> = M["methodKind"] extends "unary"
  ? grpc.handleUnaryCall<MessageShape<M["input"]>, MessageShape<M["output"]>>
  : M["methodKind"] extends "server_streaming"
    ? grpc.handleServerStreamingCall<MessageShape<M["input"]>, MessageShape<M["output"]>>
    : M["methodKind"] extends "client_streaming"
      ? grpc.handleClientStreamingCall<MessageShape<M["input"]>, MessageShape<M["output"]>>
      : grpc.handleBidiStreamingCall<MessageShape<M["input"]>, MessageShape<M["output"]>>;

/** Handlers for every method of a generated service. */
export type ServiceHandlers<S extends GenServiceMethods> = { [K in keyof S]: MethodHandler<S[K]> };

/** Builds the grpc-js service definition of a generated service. */
export function createServiceDefinition<S extends GenServiceMethods>(
  service: GenService<S>,
  overrides: CodecOverrides<S> = {},
): grpc.ServiceDefinition {
  const def: Record<string, grpc.MethodDefinition<unknown, unknown>> = {};
  for (const m of service.methods) {
    const o = (overrides as Record<string, { request?: MessageCodec<unknown>; response?: MessageCodec<unknown> } | undefined>)[m.localName];
    const req = (o?.request ?? protoCodec(m.input)) as MessageCodec<unknown>;
    const res = (o?.response ?? protoCodec(m.output)) as MessageCodec<unknown>;
    def[m.localName] = {
      path: `/${service.typeName}/${m.name}`,
      requestStream: m.methodKind === "client_streaming" || m.methodKind === "bidi_streaming",
      responseStream: m.methodKind === "server_streaming" || m.methodKind === "bidi_streaming",
      requestSerialize: req.serialize,
      requestDeserialize: req.deserialize,
      responseSerialize: res.serialize,
      responseDeserialize: res.deserialize,
      originalName: m.name,
    };
  }
  return def as grpc.ServiceDefinition;
}

/** A grpc-js client class for a generated service (methods must be called with `this` = client). */
export function createClientConstructor<S extends GenServiceMethods>(
  service: GenService<S>,
  overrides: CodecOverrides<S> = {},
): grpc.ServiceClientConstructor {
  return grpc.makeGenericClientConstructor(createServiceDefinition(service, overrides), service.typeName);
}
