/**
 * Memory per binding of the in-memory location table: inserts N bindings (default 1,000,000, one
 * AoR each, like a registrar with one phone per user) through usrloc's API — the same
 * LocationTable.insert the registrar's save() uses, with strings cut out of a REGISTER text as
 * the parser cuts them — and reports the heap growth per binding (table, heap, strings).
 * Kamailio usrloc needs about 1.2 KB per contact.
 *
 *   node --expose-gc --max-old-space-size=4096 --import tsx bench/register/memory.ts [N]
 */
import { EventBus } from "../../data-plane/core/events/bus.js";
import { createLogger } from "../../lib/log/logger.js";
import { StatsRegistry } from "../../data-plane/core/stats/counters.js";
import { parseUsrlocParams } from "../../data-plane/modules/usrloc/params.js";
import { Usrloc } from "../../data-plane/modules/usrloc/usrloc.js";

const N = Number(process.argv[2] ?? 1_000_000);
const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) {
  console.error("run with --expose-gc");
  process.exit(2);
}

function heap(): number {
  for (let i = 0; i < 3; i++) gc!();
  return process.memoryUsage().heapUsed;
}

const ul = new Usrloc({ params: parseUsrlocParams({}), events: new EventBus("bench"), log: createLogger("bench"), store: null, stats: new StatsRegistry().group("usrloc") });
const table = ul.table("location");
const now = Math.floor(Date.now() / 1000);
const before = heap();
const t0 = process.hrtime.bigint();
for (let i = 0; i < N; i++) {
  // the strings come the way the SIP parser hands them over: slices of the received REGISTER
  const raw =
    `REGISTER sip:127.0.0.1:5060 SIP/2.0\r\nVia: SIP/2.0/UDP 192.0.2.${i & 255}:${5060 + (i % 1000)};branch=z9hG4bK-${i};rport\r\n` +
    `From: <sip:u${100000000 + i}@example.com>;tag=${i}\r\nTo: <sip:u${100000000 + i}@example.com>\r\n` +
    `Call-ID: ${(i * 2654435761) >>> 0}-${i}@192.0.2.${i & 255}\r\nCSeq: ${1 + (i % 100)} REGISTER\r\n` +
    `Contact: <sip:u${100000000 + i}@192.0.2.${i & 255}:${5060 + (i % 1000)};transport=udp>\r\nExpires: 3600\r\n` +
    `User-Agent: Olelo Bench Phone/1.0\r\nAllow: INVITE, ACK, CANCEL, BYE, OPTIONS, MESSAGE\r\nContent-Length: 0\r\n\r\n`;
  const cut = (start: string, end: string) => {
    const a = raw.indexOf(start) + start.length;
    return raw.slice(a, raw.indexOf(end, a));
  };
  const user = cut("To: <sip:", "@");
  table.insert(
    user.toLowerCase(),
    {
      contact: cut("Contact: <", ">"),
      expires: now + 3600,
      q: -1,
      callid: cut("Call-ID: ", "\r\n"),
      cseq: 1 + (i % 100),
      userAgent: cut("User-Agent: ", "\r\n"),
      socket: "udp:127.0.0.1:5060",
      received: i % 4 === 0 ? `sip:203.0.113.${i & 255}:${40000 + (i % 20000)}` : null,
      methods: 0x31f,
    },
    { source: "bench", replicated: true },
    now,
  );
}
const t1 = process.hrtime.bigint();
const after = heap();
const perBinding = (after - before) / N;
const out = {
  bindings: table.contactCount,
  aors: table.users,
  heapBeforeMB: +(before / 2 ** 20).toFixed(1),
  heapAfterMB: +(after / 2 ** 20).toFixed(1),
  bytesPerBinding: Math.round(perBinding),
  insertsPerSecond: Math.round(N / (Number(t1 - t0) / 1e9)),
  kamailioBytesPerBinding: 1200,
};
console.log(JSON.stringify(out, null, 2));
table.stop();
