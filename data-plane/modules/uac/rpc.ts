import { RpcCode, RpcError, defineRpc, type RpcMethod } from "../../core/api.js";
import { REG_ATTRS, type RegAttr, type UacRegistry } from "./reg/registry.js";
import type { Registration } from "./reg/registration.js";

/**
 * uac.reg_dump, uac.reg_info, uac.reg_enable, uac.reg_disable, uac.reg_refresh, uac.reg_reload and
 * uac.reg_active (Kamailio's names and filters). Changes answer once applied: reg_refresh waits for
 * the REGISTER it sends, reg_reload for the new table version.
 */
export function uacRpcMethods(reg: UacRegistry, o: { reload(): Promise<unknown>; setActive(on: boolean): void }): RpcMethod[] {
  const matching = (attr: unknown, value: unknown): Registration[] => {
    const a = String(attr);
    if (!(REG_ATTRS as readonly string[]).includes(a)) throw new RpcError(RpcCode.BadRequest, `unsupported filter attribute '${a}' (l_uuid, l_username, r_username, auth_username)`);
    const v = String(value).replace(/^s:/, "");
    const list = reg.find(a as RegAttr, v);
    if (list.length === 0) throw new RpcError(RpcCode.NotFound, `no uacreg record with ${a} '${v}'`);
    return list;
  };
  const filter = [
    { name: "attr", type: "string", doc: "l_uuid, l_username, r_username or auth_username" },
    { name: "value", type: "string", doc: "value to match (an `s:` prefix is accepted, as kamcmd)" },
  ] as const;
  return [
    defineRpc({
      name: "uac.reg_dump",
      doc: "Every remote registration record with its state",
      params: [],
      returns: "[{l_uuid, l_username, l_domain, r_username, r_domain, realm, auth_username, auth_password, auth_ha1, auth_proxy, expires, flags, diff_expires, timer_expires, reg_init, reg_delay, contact_addr, socket, state, last_code, ...}]",
      handler: () => [...reg.regs.values()].map((r) => r.describe()),
    }),
    defineRpc({
      name: "uac.reg_info",
      doc: "One remote registration record by a filter",
      params: filter,
      returns: "{l_uuid, ..., flags, state, last_code, ...}",
      handler: ({ attr, value }) => matching(attr, value)[0]!.describe(),
    }),
    defineRpc({
      name: "uac.reg_enable",
      doc: "Enables the matching records (a REGISTER follows at once)",
      params: filter,
      returns: "{enabled}",
      handler: ({ attr, value }) => {
        const list = matching(attr, value);
        for (const r of list) r.enable();
        return { enabled: list.length };
      },
    }),
    defineRpc({
      name: "uac.reg_disable",
      doc: "Disables the matching records (no more REGISTERs; the carrier's binding runs out)",
      params: filter,
      returns: "{disabled}",
      handler: ({ attr, value }) => {
        const list = matching(attr, value);
        for (const r of list) r.disable();
        return { disabled: list.length };
      },
    }),
    defineRpc({
      name: "uac.reg_refresh",
      doc: "Re-reads the uacreg table and registers the record with this l_uuid now; answers with the outcome",
      params: [{ name: "l_uuid", type: "string", doc: "local unique id of the record" }],
      returns: "{l_uuid, ..., state, last_code}",
      handler: async ({ l_uuid }) => {
        const uuid = String(l_uuid).replace(/^s:/, "");
        await o.reload();
        const r = reg.regs.get(uuid);
        if (!r) throw new RpcError(RpcCode.NotFound, `no uacreg record with l_uuid '${uuid}'`);
        if (!r.registers) throw new RpcError(RpcCode.BadRequest, `uacreg record '${uuid}' has expires 0 (credentials only)`);
        if (r.flags & 1) throw new RpcError(RpcCode.BadRequest, `uacreg record '${uuid}' is disabled`);
        await r.register();
        return r.describe();
      },
    }),
    defineRpc({
      name: "uac.reg_reload",
      doc: "Re-reads the uacreg table (file or control plane); answers once the new version is applied",
      params: [],
      returns: "{records}",
      handler: async () => {
        await o.reload();
        return { records: reg.regs.size };
      },
    }),
    defineRpc({
      name: "uac.reg_active",
      doc: "1: send registrations, 0: stop sending them (reg_active)",
      params: [{ name: "mode", type: "int", doc: "0 or 1" }],
      returns: '"Ok"',
      handler: ({ mode }) => {
        if (mode !== 0 && mode !== 1) throw new RpcError(RpcCode.BadRequest, "mode must be 0 or 1");
        o.setActive(mode === 1);
        return "Ok";
      },
    }),
  ];
}
