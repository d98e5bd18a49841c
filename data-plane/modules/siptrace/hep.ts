import { isIPv6 } from "node:net";

/** One message to encapsulate in HEP v3 (RFC-less, the HEP3 chunk format Homer and Kamailio use). */
export interface HepMessage {
  proto: string;
  srcAddress: string;
  srcPort: number;
  dstAddress: string;
  dstPort: number;
  timeMs: number;
  captureId: number;
  payload: Buffer;
  correlationId?: string | null;
  authKey?: string | null;
}

const PROTO_NUM: Record<string, number> = { udp: 17, tcp: 6, tls: 6, ws: 6, wss: 6, sctp: 132 };

function chunk(type: number, value: Buffer): Buffer {
  const h = Buffer.alloc(6);
  h.writeUInt16BE(0, 0); // vendor 0 (generic)
  h.writeUInt16BE(type, 2);
  h.writeUInt16BE(6 + value.length, 4);
  return Buffer.concat([h, value]);
}
const u8 = (n: number): Buffer => Buffer.from([n & 0xff]);
const u16 = (n: number): Buffer => {
  const b = Buffer.alloc(2);
  b.writeUInt16BE(n & 0xffff);
  return b;
};
const u32 = (n: number): Buffer => {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n >>> 0);
  return b;
};

function ipBytes(addr: string, v6: boolean): Buffer {
  if (!v6) return Buffer.from(addr.split(".").map((x) => Number(x) & 0xff));
  const out = Buffer.alloc(16);
  let a = addr.replace(/^\[|\]$/g, "").replace(/%.*$/, "");
  const m = /(\d+\.\d+\.\d+\.\d+)$/.exec(a);
  if (m) {
    const p = m[1]!.split(".").map(Number);
    a = a.slice(0, -m[1]!.length) + ((p[0]! << 8) | p[1]!).toString(16) + ":" + ((p[2]! << 8) | p[3]!).toString(16);
  }
  const [head, tail] = a.includes("::") ? a.split("::") : [a, null];
  const hs = head ? head.split(":").filter((x) => x !== "") : [];
  const ts = tail ? tail.split(":").filter((x) => x !== "") : [];
  const groups = tail === null ? hs : [...hs, ...Array(8 - hs.length - ts.length).fill("0"), ...ts];
  groups.forEach((g, i) => out.writeUInt16BE(parseInt(g, 16) & 0xffff, i * 2));
  return out;
}

/** Encodes a HEP v3 packet ("HEP3", total length, chunks 1-12, 14, 15, 17). */
export function encodeHep3(m: HepMessage): Buffer {
  const v6 = isIPv6(m.srcAddress.replace(/^\[|\]$/g, "")) || isIPv6(m.dstAddress.replace(/^\[|\]$/g, ""));
  const sec = Math.floor(m.timeMs / 1000);
  const usec = Math.floor((m.timeMs - sec * 1000) * 1000);
  const chunks = [
    chunk(1, u8(v6 ? 10 : 2)),
    chunk(2, u8(PROTO_NUM[m.proto] ?? 17)),
    chunk(v6 ? 5 : 3, ipBytes(m.srcAddress, v6)),
    chunk(v6 ? 6 : 4, ipBytes(m.dstAddress, v6)),
    chunk(7, u16(m.srcPort)),
    chunk(8, u16(m.dstPort)),
    chunk(9, u32(sec)),
    chunk(10, u32(usec)),
    chunk(11, u8(1)), // SIP
    chunk(12, u32(m.captureId)),
  ];
  if (m.authKey) chunks.push(chunk(14, Buffer.from(m.authKey)));
  chunks.push(chunk(15, m.payload));
  if (m.correlationId) chunks.push(chunk(17, Buffer.from(m.correlationId)));
  const body = Buffer.concat(chunks);
  const head = Buffer.alloc(6);
  head.write("HEP3", 0, "ascii");
  head.writeUInt16BE(6 + body.length, 4);
  return Buffer.concat([head, body]);
}

/** Decodes a HEP v3 packet into its chunks by type (vendor 0); null when not HEP3. For tests and tools. */
export function decodeHep3(b: Buffer): Map<number, Buffer> | null {
  if (b.length < 6 || b.toString("ascii", 0, 4) !== "HEP3") return null;
  const total = b.readUInt16BE(4);
  const out = new Map<number, Buffer>();
  let o = 6;
  while (o + 6 <= Math.min(total, b.length)) {
    const type = b.readUInt16BE(o + 2);
    const len = b.readUInt16BE(o + 4);
    if (len < 6) return null;
    out.set(type, b.subarray(o + 6, o + len));
    o += len;
  }
  return out;
}

/** Call-ID of a SIP message (full or compact header), or null. */
export function callIdOf(payload: Buffer): string | null {
  const text = payload.toString("latin1", 0, Math.min(payload.length, 4096));
  const m = /\r?\n(?:call-id|i)[ \t]*:[ \t]*([^\r\n]+)/i.exec(text);
  return m ? m[1]!.trim() : null;
}
