import { defineModule, defineRpc, RpcCode, RpcError, type RequestContext } from "../../core/api.js";
import { LiveInstances } from "../../core/kit/index.js";
import { msiloParams, type MsiloParams } from "./params.js";
import { MemorySiloStore, MysqlSiloStore, type SiloMessage, type SiloStore } from "./store.js";

export type { MsiloParams } from "./params.js";
export type { SiloMessage } from "./store.js";

/**
 * The msilo script API (Kamailio msilo): offline storage of MESSAGE requests.
 *
 * @example
 *   // MESSAGE to a local user who is not registered (Kamailio's msilo example)
 *   if (registrar.lookup(req, "location") < 0) {
 *     const rc = await msilo.store(req);
 *     if (rc > 0) req.reply(202, "Accepted"); else req.reply(503, "Service Unavailable");
 *   }
 *   // after registrar.save: deliver what was stored
 *   void msilo.dump(req);
 */
export interface MsiloApi {
  readonly params: MsiloParams;
  /** [m_store] stores the MESSAGE for `owner` (default: the R-URI); 1 stored, -1 error / not a MESSAGE, -2 user's limit reached. */
  store(req: RequestContext, owner?: string): Promise<number>;
  /**
   * [m_dump] sends the stored messages of `owner` (default: the REGISTER's To) to the contacts of
   * this REGISTER, as MESSAGE requests of Olelo's own; a message is deleted after a 2xx.
   * Resolves with the number delivered, or -1 when there was nothing to send.
   */
  dump(req: RequestContext, owner?: string): Promise<number>;
  /** Every stored message (msilo.dump). */
  list(owner?: string): Promise<SiloMessage[]>;
}

const instances = new LiveInstances<MsiloApi>();
const nowS = () => Math.floor(Date.now() / 1000);

function aorOf(uri: string): { user: string; domain: string } | null {
  const m = /^(?:sips?:)?([^@;:>]+)@([^;:>]+)/i.exec(uri.trim().replace(/^<|>$/g, ""));
  return m ? { user: m[1]!, domain: m[2]!.toLowerCase() } : null;
}

/** msilo: MESSAGE store-and-forward for offline users in Kamailio's `silo` table. */
export default defineModule<MsiloApi, MsiloParams>({
  name: "msilo",
  doc: "Offline message storage: MESSAGE to an unregistered user is stored and delivered at its next REGISTER (Kamailio msilo)",
  params: msiloParams,
  rpc: ["msilo.dump"],
  stats: { group: "msilo", counters: ["stored_messages", "dumped_messages", "failed_messages", "expired_messages", "refused_messages"] },
  init(host) {
    const p = host.config;
    const stats = host.stats.group("msilo", ["stored_messages", "dumped_messages", "failed_messages", "expired_messages", "refused_messages"]);
    const store: SiloStore = p.db_url ? new MysqlSiloStore(p.db_url) : new MemorySiloStore();
    const clean = setInterval(() => {
      store.removeExpired(nowS()).then(
        (n) => stats.inc("expired_messages", n),
        (e: unknown) => host.log.warn("msilo: expiry sweep failed", { error: String(e) }),
      );
    }, p.clean_period * 1000);
    clean.unref();

    async function deliver(m: SiloMessage, contact: string, destination: string | undefined, socket: string): Promise<boolean> {
      if (!(await store.claim(m.id, nowS()))) return false; // another REGISTER (or node) is delivering it
      const headers: Record<string, string> = { "Content-Type": m.ctype || "text/plain", Date: new Date(m.incTime * 1000).toUTCString() };
      const r = await host.sip.request({
        method: "MESSAGE",
        uri: contact,
        ...(destination ? { destination } : {}),
        from: m.srcAddr,
        to: m.dstAddr,
        headers,
        body: m.body,
        socket,
        timeoutMs: p.send_timeout,
      });
      if (r.code >= 200 && r.code < 300) {
        await store.remove(m.id);
        stats.inc("dumped_messages");
        host.events.publish("message.delivered", { id: m.id, to: m.dstAddr, from: m.srcAddr, contact, code: r.code, stored_at: new Date(m.incTime * 1000).toISOString() });
        return true;
      }
      await store.release(m.id);
      stats.inc("failed_messages");
      return false;
    }

    const api: MsiloApi = {
      params: p,
      async store(req, owner) {
        if (req.method !== "MESSAGE") return -1;
        const a = aorOf(owner ?? req.ruri);
        if (!a) return -1;
        const now = nowS();
        const body = req.msg.body;
        try {
          if (p.max_messages > 0 || p.max_bytes > 0) {
            const u = await store.usage(a.user, a.domain, now);
            if ((p.max_messages > 0 && u.count >= p.max_messages) || (p.max_bytes > 0 && u.bytes + body.length > p.max_bytes)) {
              stats.inc("refused_messages");
              return -2;
            }
          }
          const from = req.msg.from.uriText;
          const to = req.msg.to.uriText;
          const id = await store.insert({
            srcAddr: from,
            dstAddr: to,
            username: a.user,
            domain: a.domain,
            incTime: now,
            expTime: now + p.expire_time,
            sndTime: 0,
            ctype: req.msg.contentType ?? "text/plain",
            body,
            extraHdrs: "",
            callid: req.msg.callId,
            status: 0,
          });
          stats.inc("stored_messages");
          host.events.publish("message.stored", { id, to, from, owner: `${a.user}@${a.domain}`, bytes: body.length });
          return 1;
        } catch (e) {
          host.log.warn("msilo: cannot store a message", { error: String(e) });
          return -1;
        }
      },
      async dump(req, owner) {
        let a: { user: string; domain: string } | null;
        let contacts: string[];
        try {
          a = aorOf(owner ?? req.msg.to.uriText);
          const cs = req.msg.contacts();
          const hdrExp = req.msg.header("expires");
          contacts = cs === "*" ? [] : cs.filter((c) => (c.params.get("expires") ?? hdrExp ?? "1").trim() !== "0").map((c) => c.uriText);
        } catch {
          return -1;
        }
        if (!a || contacts.length === 0) return -1;
        const list = await store.listFor(a.user, a.domain, nowS()).catch(() => [] as SiloMessage[]);
        if (list.length === 0) return -1;
        let sent = 0;
        for (const m of list) if (await deliver(m, contacts[0]!, undefined, req.localSocket)) sent++;
        return sent;
      },
      async list(owner) {
        const all = await store.all(nowS());
        if (!owner) return all;
        const a = aorOf(owner.includes("@") ? owner : `${owner}@`);
        return a ? all.filter((m) => m.username === a.user && m.domain === a.domain) : all;
      },
    };
    host.rpc.register(
      defineRpc({
        name: "msilo.dump",
        doc: "Stored messages (all, or of one user@domain)",
        params: [{ name: "owner", type: "string", optional: true, doc: "user@domain" }],
        returns: "[{id, username, domain, src_addr, dst_addr, inc_time, exp_time, ctype, body}]",
        handler: async ({ owner }) => {
          if (owner && !aorOf(String(owner))) throw new RpcError(RpcCode.InvalidParams, `bad owner '${String(owner)}' (user@domain)`);
          const l = await api.list(owner ? String(owner) : undefined);
          return l.map((m) => ({ id: m.id, username: m.username, domain: m.domain, src_addr: m.srcAddr, dst_addr: m.dstAddr, inc_time: m.incTime, exp_time: m.expTime, ctype: m.ctype, body: m.body }));
        },
      }),
    );
    instances.add(api, async () => {
      clearInterval(clean);
      await store.close();
    });
    return api;
  },
  destroy(api) {
    return instances.destroy(api);
  },
});
