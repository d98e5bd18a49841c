/**
 * DNS message encoding/decoding (RFC 1035 §4, RFC 2782 SRV, RFC 3403 NAPTR, RFC 3596 AAAA,
 * RFC 6891 EDNS0) — just what a SIP resolver needs. Written here because node:dns does not
 * report the TTL of SRV and NAPTR answers, and an RFC 3263 cache must honour them.
 */

/** Record types Olelo asks for. */
export const RR = { A: 1, NS: 2, CNAME: 5, SOA: 6, AAAA: 28, SRV: 33, NAPTR: 35, OPT: 41 } as const;
export type RrTypeName = "A" | "AAAA" | "SRV" | "NAPTR" | "CNAME" | "SOA";

export interface SrvData {
  priority: number;
  weight: number;
  port: number;
  target: string;
}

export interface NaptrData {
  order: number;
  preference: number;
  flags: string;
  service: string;
  regexp: string;
  replacement: string;
}

export interface SoaData {
  mname: string;
  minimum: number;
}

/** One resource record; `data` depends on the type (address string, name, SRV, NAPTR, SOA). */
export interface ResourceRecord {
  name: string;
  type: number;
  ttl: number;
  data: string | SrvData | NaptrData | SoaData | null;
}

export interface DnsResponse {
  id: number;
  /** RCODE: 0 NOERROR, 2 SERVFAIL, 3 NXDOMAIN ... */
  rcode: number;
  truncated: boolean;
  question: { name: string; type: number } | null;
  answers: ResourceRecord[];
  authority: ResourceRecord[];
  additional: ResourceRecord[];
}

/** Encodes a recursive query for one name/type, with an EDNS0 OPT record (1232-byte UDP payload). */
export function encodeQuery(id: number, name: string, type: number): Buffer {
  const qname = encodeName(name);
  const buf = Buffer.alloc(12 + qname.length + 4 + 11);
  buf.writeUInt16BE(id, 0);
  buf.writeUInt16BE(0x0100, 2); // RD
  buf.writeUInt16BE(1, 4); // QDCOUNT
  buf.writeUInt16BE(1, 10); // ARCOUNT (OPT)
  qname.copy(buf, 12);
  let o = 12 + qname.length;
  buf.writeUInt16BE(type, o);
  buf.writeUInt16BE(1, o + 2); // IN
  o += 4;
  buf[o] = 0; // root name
  buf.writeUInt16BE(RR.OPT, o + 1);
  buf.writeUInt16BE(1232, o + 3); // UDP payload size
  buf.writeUInt32BE(0, o + 5); // ext-rcode, version, flags
  buf.writeUInt16BE(0, o + 9); // RDLEN
  return buf;
}

/** Wire form of a domain name (no compression). Throws on a label over 63 bytes. */
export function encodeName(name: string): Buffer {
  const n = name.endsWith(".") ? name.slice(0, -1) : name;
  if (n === "") return Buffer.from([0]);
  const parts: Buffer[] = [];
  for (const label of n.split(".")) {
    const b = Buffer.from(label, "latin1");
    if (b.length === 0 || b.length > 63) throw new Error(`bad DNS label in '${name}'`);
    parts.push(Buffer.from([b.length]), b);
  }
  parts.push(Buffer.from([0]));
  return Buffer.concat(parts);
}

class Reader {
  constructor(
    readonly buf: Buffer,
    public o: number,
  ) {}

  need(n: number): void {
    if (this.o + n > this.buf.length) throw new Error("truncated DNS message");
  }

  u8(): number {
    this.need(1);
    return this.buf[this.o++]!;
  }

  u16(): number {
    this.need(2);
    const v = this.buf.readUInt16BE(this.o);
    this.o += 2;
    return v;
  }

  u32(): number {
    this.need(4);
    const v = this.buf.readUInt32BE(this.o);
    this.o += 4;
    return v;
  }

  /** A possibly compressed name (RFC 1035 §4.1.4), loop-safe. */
  name(): string {
    const labels: string[] = [];
    let o = this.o;
    let jumped = false;
    let hops = 0;
    for (;;) {
      if (o >= this.buf.length) throw new Error("truncated DNS name");
      const len = this.buf[o]!;
      if (len === 0) {
        o++;
        break;
      }
      if ((len & 0xc0) === 0xc0) {
        if (o + 1 >= this.buf.length) throw new Error("truncated DNS pointer");
        const ptr = ((len & 0x3f) << 8) | this.buf[o + 1]!;
        if (!jumped) this.o = o + 2;
        jumped = true;
        if (++hops > 64) throw new Error("DNS name compression loop");
        o = ptr;
        continue;
      }
      if (len > 63) throw new Error("bad DNS label length");
      if (o + 1 + len > this.buf.length) throw new Error("truncated DNS label");
      labels.push(this.buf.toString("latin1", o + 1, o + 1 + len));
      o += 1 + len;
    }
    if (!jumped) this.o = o;
    return labels.join(".").toLowerCase();
  }

  charString(): string {
    const len = this.u8();
    this.need(len);
    const s = this.buf.toString("latin1", this.o, this.o + len);
    this.o += len;
    return s;
  }
}

function readRecord(r: Reader): ResourceRecord {
  const name = r.name();
  const type = r.u16();
  r.u16(); // class
  const ttl = r.u32();
  const rdlen = r.u16();
  r.need(rdlen);
  const end = r.o + rdlen;
  let data: ResourceRecord["data"] = null;
  switch (type) {
    case RR.A:
      if (rdlen === 4) data = `${r.buf[r.o]}.${r.buf[r.o + 1]}.${r.buf[r.o + 2]}.${r.buf[r.o + 3]}`;
      break;
    case RR.AAAA:
      if (rdlen === 16) data = formatIpv6(r.buf.subarray(r.o, r.o + 16));
      break;
    case RR.CNAME:
      data = r.name();
      break;
    case RR.SRV: {
      const priority = r.u16();
      const weight = r.u16();
      const port = r.u16();
      data = { priority, weight, port, target: r.name() };
      break;
    }
    case RR.NAPTR: {
      const order = r.u16();
      const preference = r.u16();
      const flags = r.charString();
      const service = r.charString();
      const regexp = r.charString();
      data = { order, preference, flags, service, regexp, replacement: r.name() };
      break;
    }
    case RR.SOA: {
      const mname = r.name();
      r.name(); // rname
      r.u32(); // serial
      r.u32(); // refresh
      r.u32(); // retry
      r.u32(); // expire
      data = { mname, minimum: r.u32() };
      break;
    }
    default:
      break;
  }
  if (r.o > end) throw new Error("DNS record overruns its RDLENGTH");
  r.o = end;
  return { name, type, ttl, data };
}

/** Decodes a response; throws on malformed input (the caller treats it as a failed server). */
export function decodeResponse(buf: Buffer): DnsResponse {
  const r = new Reader(buf, 0);
  const id = r.u16();
  const flags = r.u16();
  const qd = r.u16();
  const an = r.u16();
  const ns = r.u16();
  const ar = r.u16();
  let question: DnsResponse["question"] = null;
  for (let i = 0; i < qd; i++) {
    const name = r.name();
    const type = r.u16();
    r.u16();
    if (i === 0) question = { name, type };
  }
  const answers: ResourceRecord[] = [];
  const authority: ResourceRecord[] = [];
  const additional: ResourceRecord[] = [];
  for (let i = 0; i < an; i++) answers.push(readRecord(r));
  for (let i = 0; i < ns; i++) authority.push(readRecord(r));
  for (let i = 0; i < ar; i++) {
    const rec = readRecord(r);
    if (rec.type !== RR.OPT) additional.push(rec);
  }
  return { id, rcode: flags & 0x0f, truncated: (flags & 0x0200) !== 0, question, answers, authority, additional };
}

function formatIpv6(b: Buffer): string {
  const groups: string[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(b.readUInt16BE(i).toString(16));
  // compress the longest run of zero groups (RFC 5952)
  let best = -1;
  let bestLen = 0;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== "0") {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === "0") j++;
    if (j - i > bestLen && j - i > 1) {
      best = i;
      bestLen = j - i;
    }
    i = j;
  }
  if (best < 0) return groups.join(":");
  return `${groups.slice(0, best).join(":")}::${groups.slice(best + bestLen).join(":")}`;
}
