/**
 * A data plane's `*.reload` RPCs in control-plane mode (dispatcher.reload, permissions.addressReload,
 * lcr.reload, ...): TablePushService/Refresh asks the control plane to re-read the kind from its
 * database, then this waits until the version the control plane answered is applied on this node
 * (it arrives on the table stream like any push). Success therefore means the rows are live here,
 * as Kamailio's reload re-reads the database; otherwise the error names why: the control plane is
 * unreachable, its rows do not compile (table, row, reason), this node rejected the version (the
 * NACK reason), or the version did not arrive in time.
 *
 * @example
 *   const refresher = createRefresher({ url: "127.0.0.1:8071", nodeId: "dp-1", tables });
 *   tables.setSource("dispatcher", { describe: "control-plane", load, refresh: () => refresher.refresh("dispatcher") });
 */
import * as grpc from "@grpc/grpc-js";
import { create } from "@bufbuild/protobuf";
import { RefreshRequestSchema, TablePushService, type RefreshResponse } from "../../gen/olelo/control/v1/control_pb.js";
import type { TableRegistry } from "../core/tables/registry.js";
import { createClientConstructor } from "../../tables/wire/grpc-adapter.js";

export interface RefresherOptions {
  /** Control plane address, as SyncClientOptions.url. */
  url: string;
  nodeId: string;
  tables: TableRegistry;
  /** How long the control plane may take to re-read (default 30 s: a 1M-row kind takes seconds). */
  requestTimeoutMs?: number;
  /** How long to wait for the answered version to be applied here (default 15 s). */
  applyTimeoutMs?: number;
}

export interface Refresher {
  /** Re-reads `kind` at the control plane; resolves with the version once it runs here. */
  refresh(kind: string): Promise<{ version: string }>;
  close(): void;
}

function target(url: string): string {
  return url.replace(/^(grpc|http):\/\//, "");
}

export function createRefresher(opts: RefresherOptions): Refresher {
  const Client = createClientConstructor(TablePushService);
  let client: grpc.Client | null = null;
  const requestTimeoutMs = opts.requestTimeoutMs ?? 30_000;
  const applyTimeoutMs = opts.applyTimeoutMs ?? 15_000;
  const cp = target(opts.url);

  function ask(kind: string): Promise<RefreshResponse> {
    client ??= new Client(cp, grpc.credentials.createInsecure());
    const c = client as unknown as {
      refresh(req: unknown, md: grpc.Metadata, o: grpc.CallOptions, cb: (e: grpc.ServiceError | null, r?: RefreshResponse) => void): void;
    };
    return new Promise((resolve, reject) => {
      c.refresh(create(RefreshRequestSchema, { nodeId: opts.nodeId, kinds: [kind] }), new grpc.Metadata(), { deadline: Date.now() + requestTimeoutMs }, (err, res) => {
        if (err) {
          const why =
            err.code === grpc.status.UNAVAILABLE || err.code === grpc.status.DEADLINE_EXCEEDED
              ? `control plane ${cp} unreachable or not answering: ${err.details || err.message}`
              : `control plane ${cp} refused the reload: ${err.details || err.message}`;
          reject(new Error(why));
        } else resolve(res!);
      });
    });
  }

  /** Resolves when `version` of `kind` is applied; rejects on its NACK or after the timeout. */
  function applied(kind: string, version: string): Promise<void> {
    const { tables } = opts;
    return new Promise((resolve, reject) => {
      const check = (): boolean => {
        const st = tables.statusOf(kind);
        if (st?.version === version) {
          done();
          resolve();
          return true;
        }
        if (st?.lastErrorVersion === version) {
          done();
          reject(new Error(`this data plane rejected ${kind} version ${version}: ${st.lastError ?? "invalid"}`));
          return true;
        }
        return false;
      };
      const off = tables.onChange((ev) => {
        if (ev.kind === kind) check();
      });
      const timer = setTimeout(() => {
        done();
        const running = tables.statusOf(kind)?.version ?? "none";
        reject(new Error(`timed out after ${applyTimeoutMs} ms waiting for ${kind} version ${version} from the control plane (running ${running}; is the table stream connected?)`));
      }, applyTimeoutMs);
      const done = () => {
        clearTimeout(timer);
        off();
      };
      check();
    });
  }

  return {
    async refresh(kind) {
      const res = await ask(kind);
      const k = res.kinds.find((r) => r.kind === kind);
      if (!k) throw new Error(`control plane ${cp} did not answer for ${kind}`);
      if (k.error) {
        const kept = k.version ? `; version ${k.version} stays` : "";
        throw new Error(`control plane did not reload ${kind}: ${k.error.message}${kept}`);
      }
      if (!k.version) throw new Error(`control plane has no version of ${kind}`);
      await applied(kind, k.version);
      return { version: k.version };
    },
    close() {
      client?.close();
      client = null;
    },
  };
}
