import { registerManagementMethods, type ManagementServerOptions } from "../control-plane/api/server.js";
import { RpcRegistry, type RpcMethod } from "../lib/rpc/registry.js";
import { COMMANDS } from "./commands.js";

/**
 * The control-plane management methods olectl calls, read from the control plane itself
 * (control-plane/api registerManagementMethods) rather than written down a second time: the
 * README table (gen-rpc-docs.ts --cp-api) and the tests take the descriptors from here, so a
 * renamed method or parameter breaks them instead of olectl.
 * Only for docs and tests: olectl itself does not import the control plane.
 *
 * @example
 *   olectlControlPlaneMethods().map((m) => m.name);  // ["audit.list", "diff", "dispatcher.create", …]
 */
export function managementMethods(): RpcMethod[] {
  const registry = new RpcRegistry();
  // Registering only builds descriptors; no handler runs, so no database is needed here.
  // A stand-in fleet controller so the fleet methods (push, canary.*, rollback, unpin, nodes) register.
  registerManagementMethods(registry, { fleet: {} } as unknown as ManagementServerOptions, Date.now());
  return registry.list();
}

/** Names of the control-plane methods olectl's commands call (their `rpc` lists). */
export function olectlControlPlaneNames(): string[] {
  const names = new Set<string>();
  for (const c of COMMANDS) if (c.target === "control") for (const m of c.rpc ?? []) names.add(m);
  return [...names].sort();
}

/** The real descriptors of the methods olectl calls; throws when olectl names a method the control plane lacks. */
export function olectlControlPlaneMethods(): RpcMethod[] {
  const all = new Map(managementMethods().map((m) => [m.name, m]));
  return olectlControlPlaneNames().map((n) => {
    const m = all.get(n);
    if (!m) throw new Error(`olectl calls '${n}', which the control plane's management API does not register`);
    return m;
  });
}
