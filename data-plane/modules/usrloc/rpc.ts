import { RpcCode, RpcError, defineRpc } from "../../core/api.js";
import type { RpcMethod } from "../../core/api.js";
import { ALL_METHODS, ContactFlag, type Binding } from "./binding.js";
import { nowSeconds, type ChangeOrigin, type LocationTable } from "./location-table.js";
import { MatchCode, matchContact } from "./match-contact.js";
import { MysqlLocationStore } from "./mysql-store.js";
import type { Usrloc } from "./usrloc.js";

/** Kamailio's fixed Call-ID / User-Agent / CSeq for bindings made by ul.add (ul_rpc.c). */
export const RPC_CALLID = "dfjrewr12386fd6-343@kamailio.rpc";
/** User-Agent stored with bindings made by ul.add (Kamailio's says "kamailio SIP Router - RPC Server"). */
export const RPC_USER_AGENT = "Olelo SIP Router - RPC Server";
const RPC_CSEQ = 1;
const RPC_ORIGIN: ChangeOrigin = Object.freeze({ source: "rpc" });
/** Kamailio's default usrloc hash_size 10 → 1024 slots; ul.dump reports slots of that size. */
const DUMP_SLOTS = 1024;
const NOT_SET = "[not set]";

/** 32-bit hash of an AoR for ul.dump's HashID (FNV-1a; Kamailio prints core_hash). */
export function aorHash(aor: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < aor.length; i++) {
    h ^= aor.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

/** One contact in Kamailio's ul.dump / ul.lookup shape (rpc_dump_contact). */
export function dumpContact(c: Binding, now: number): { Contact: Record<string, unknown> } {
  let expires: string | number;
  if (c.expires === 0) expires = "permanent";
  else if (now >= c.expires) expires = "expired";
  else expires = c.expires - now;
  return {
    Contact: {
      Address: c.contact,
      Expires: expires,
      Q: c.q < 0 ? -1 : c.q / 1000, // unspecified q is -1, as Kamailio prints it
      "Call-ID": c.callid,
      CSeq: c.cseq,
      "User-Agent": c.userAgent || NOT_SET,
      Received: c.received || NOT_SET,
      Path: c.path || NOT_SET,
      State: c.stateName(),
      Flags: c.flags >>> 0,
      CFlags: c.cflags >>> 0,
      Socket: c.socket || NOT_SET,
      Methods: c.methods >>> 0,
      Ruid: c.ruid || NOT_SET,
      Instance: c.instance || NOT_SET,
      "Reg-Id": c.regId >>> 0,
      "Server-Id": c.serverId,
      "Tcpconn-Id": c.connectionId,
      Keepalive: c.keepalive,
      "Last-Keepalive": c.lastKeepalive,
      "KA-Roundtrip": c.kaRoundtrip,
      "Last-Modified": c.lastModified,
    },
  };
}

const fault = (msg: string, code: number = RpcCode.ServerError) => new RpcError(code, msg);

/** "." or "0" mean "not set" for ul.add's optional strings (Kamailio ul_rpc_is_param_set). */
function setOrNull(v: unknown): string | null {
  if (typeof v !== "string" || v === "" || v === "." || v === "0") return null;
  return v;
}

/**
 * usrloc's RPCs with Kamailio's names, parameters (positional or named) and result shapes:
 * ul.dump, ul.lookup, ul.rm, ul.rm_contact, ul.add, ul.flush, ul.db_users, ul.db_contacts,
 * ul.db_expired_contacts.
 */
export function usrlocRpcMethods(ul: Usrloc): RpcMethod[] {
  const table = (name: string): LocationTable => {
    const t = ul.existing(name);
    if (!t) throw fault("Domain table not found");
    return t;
  };
  const aorOf = (aor: string): string => {
    const a = ul.normalizeAor(aor);
    if (a === null) throw fault("Domain missing in AOR");
    return a;
  };
  const mysql = (): MysqlLocationStore => {
    const s = ul.store;
    if (!(s instanceof MysqlLocationStore)) throw fault(ul.params.db_mode === 0 ? "Command is not supported in db_mode=0" : "Command needs the MySQL store");
    return s;
  };

  return [
    defineRpc({
      name: "ul.dump",
      doc: "Dump the location tables (Kamailio shape); 'brief' lists AoRs only",
      params: [{ name: "mode", type: "string", optional: true, doc: "brief" }],
      returns: '{ Domains: [{ Domain: { Domain, Size, AoRs: [{ Info: { AoR, HashID, Contacts: [{ Contact: {...} }] } }], Stats: { Records, "Max-Slots" } } }] }',
      handler: ({ mode }) => {
        const brief = mode === "brief";
        const now = nowSeconds();
        const domains = ul.tables().map((t) => {
          const slots = new Uint32Array(DUMP_SLOTS);
          const aors: unknown[] = [];
          for (const [aor, list] of t.entries()) {
            const h = aorHash(aor);
            slots[h & (DUMP_SLOTS - 1)]!++;
            if (brief) aors.push({ AoR: aor });
            else aors.push({ Info: { AoR: aor, HashID: h, Contacts: list.map((c) => dumpContact(c, now)) } });
          }
          let max = 0;
          for (const n of slots) if (n > max) max = n;
          return { Domain: { Domain: t.name, Size: DUMP_SLOTS, AoRs: aors, Stats: { Records: t.users, "Max-Slots": max } } };
        });
        return { Domains: domains };
      },
    }),
    defineRpc({
      name: "ul.lookup",
      doc: "Lookup one AOR in a location table",
      params: [
        { name: "table", type: "string", doc: "location table, e.g. location" },
        { name: "aor", type: "string", doc: "user (or user@domain with use_domain)" },
      ],
      returns: "{ AoR, Contacts: [{ Contact: {...} }] }",
      handler: ({ table: tn, aor }) => {
        const t = table(tn);
        const a = aorOf(aor);
        if (!t.has(a)) throw fault("AOR not found in location table");
        const now = nowSeconds();
        const contacts = t.valid(a, now).map((c) => dumpContact(c, now));
        if (contacts.length === 0) throw fault("AOR has no contacts");
        return { AoR: a, Contacts: contacts };
      },
    }),
    defineRpc({
      name: "ul.rm",
      doc: "Delete an address of record including its contacts",
      params: [
        { name: "table", type: "string" },
        { name: "aor", type: "string" },
      ],
      handler: ({ table: tn, aor }) => {
        table(tn).removeAor(aorOf(aor), RPC_ORIGIN);
        return null;
      },
    }),
    defineRpc({
      name: "ul.rm_contact",
      doc: "Delete a contact from an AOR record",
      params: [
        { name: "table", type: "string" },
        { name: "aor", type: "string" },
        { name: "contact", type: "string", doc: "the Contact URI as registered" },
      ],
      handler: ({ table: tn, aor, contact }) => {
        const t = table(tn);
        const a = aorOf(aor);
        if (!t.has(a)) throw fault("AOR not found", RpcCode.NotFound);
        const m = matchContact(t.get(a), { contact: contact, callid: RPC_CALLID, path: null, cseq: RPC_CSEQ + 1, instance: null, regId: 0 }, 0, 0, nowSeconds());
        if (m.code === MatchCode.NOT_FOUND || !m.binding) throw fault("Contact not found", RpcCode.NotFound);
        t.remove(m.binding, RPC_ORIGIN);
        return null;
      },
    }),
    defineRpc({
      name: "ul.add",
      doc: "Add (or update) a contact for an address of record; expires 0 = permanent, '.' or '0' = unset",
      params: [
        { name: "table", type: "string" },
        { name: "aor", type: "string" },
        { name: "contact", type: "string" },
        { name: "expires", type: "int", doc: "seconds; 0 = permanent" },
        { name: "q", type: "number", doc: "0..1, or -1 for unspecified" },
        { name: "path", type: "string", doc: "Path vector or '.'" },
        { name: "flags", type: "int" },
        { name: "cflags", type: "int", doc: "branch flags (e.g. the NAT flag)" },
        { name: "methods", type: "int", doc: "method bitmask, -1/4294967295 = all" },
        { name: "received", type: "string", optional: true, doc: "sip:ip:port of the device, or '.'" },
        { name: "socket", type: "string", optional: true, doc: "local socket proto:ip:port, or '.'" },
      ],
      handler: (p) => {
        const t = table(p.table);
        const aor = aorOf(p.aor);
        const contact = p.contact;
        if (!/^(sips?|tel):/i.test(contact)) throw RpcError.invalidParam("contact", "expected a SIP URI");
        const expires = p.expires;
        if (expires < 0) throw RpcError.invalidParam("expires", "must be >= 0");
        const qf = p.q;
        if (qf > 1 || (qf < 0 && qf !== -1)) throw RpcError.invalidParam("q", "must be in 0..1 (or -1)");
        const now = nowSeconds();
        const info = {
          contact,
          expires: expires === 0 ? 0 : now + expires,
          q: qf < 0 ? -1 : Math.round(qf * 1000),
          callid: RPC_CALLID,
          cseq: RPC_CSEQ,
          path: setOrNull(p.path),
          flags: (p.flags) & ~ContactFlag.MEM,
          cflags: p.cflags,
          methods: (p.methods) === -1 ? ALL_METHODS : (p.methods) >>> 0,
          received: setOrNull(p.received),
          socket: setOrNull(p.socket),
          userAgent: RPC_USER_AGENT,
          serverId: ul.params.server_id,
          connectionId: -1,
        };
        const m = matchContact(t.get(aor), { contact, callid: RPC_CALLID, path: null, cseq: RPC_CSEQ + 1, instance: null, regId: 0 }, 0, 0, now);
        if (m.code === MatchCode.FOUND && m.binding) t.update(m.binding, info, RPC_ORIGIN, now);
        else t.insert(aor, info, RPC_ORIGIN, now);
        return null;
      },
    }),
    defineRpc({
      name: "ul.flush",
      doc: "Flush the usrloc memory cache to the database / shared store",
      params: [],
      handler: async () => {
        await ul.flush();
        return null;
      },
    }),
    defineRpc({
      name: "ul.db_users",
      doc: "Number of different unexpired AoRs in the database table (MySQL store only)",
      params: [{ name: "table", type: "string" }],
      handler: ({ table: tn }) => mysql().count(tn, "users"),
    }),
    defineRpc({
      name: "ul.db_contacts",
      doc: "Number of unexpired contacts in the database table (MySQL store only)",
      params: [{ name: "table", type: "string" }],
      handler: ({ table: tn }) => mysql().count(tn, "contacts"),
    }),
    defineRpc({
      name: "ul.db_expired_contacts",
      doc: "Number of expired contacts in the database table (MySQL store only)",
      params: [{ name: "table", type: "string" }],
      handler: ({ table: tn }) => mysql().count(tn, "expired"),
    }),
  ];
}
