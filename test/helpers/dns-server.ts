/**
 * A tiny authoritative DNS server on UDP loopback for tests (no outside DNS): answers A, AAAA,
 * SRV and NAPTR from an in-memory zone that the test can change at any time, counts queries per
 * name, and can be told to stay silent. Its wire encoder is written here on purpose, separately
 * from the resolver's decoder in data-plane/core/dns, so a shared mistake cannot hide.
 */
import dgram from "node:dgram";

export type ZoneRecord =
  | { type: "A"; address: string; ttl?: number }
  | { type: "AAAA"; address: string; ttl?: number }
  | { type: "SRV"; priority: number; weight: number; port: number; target: string; ttl?: number }
  | { type: "NAPTR"; order: number; preference: number; flags: string; service: string; regexp: string; replacement: string; ttl?: number };

const TYPE_NUM: Record<ZoneRecord["type"], number> = { A: 1, AAAA: 28, SRV: 33, NAPTR: 35 };

export class TestDnsServer {
  /** name (lower case, no trailing dot) → records */
  readonly zone = new Map<string, ZoneRecord[]>();
  /** "TYPE name" → number of queries seen */
  readonly queries = new Map<string, number>();
  /** Names that get no answer at all (to test timeouts). */
  readonly silent = new Set<string>();

  private constructor(
    private readonly sock: dgram.Socket,
    readonly port: number,
  ) {
    sock.on("message", (m, r) => this.onQuery(m, r));
  }

  static async start(port = 0): Promise<TestDnsServer> {
    const s = dgram.createSocket("udp4");
    await new Promise<void>((r) => s.bind(port, "127.0.0.1", () => r()));
    return new TestDnsServer(s, s.address().port);
  }

  get address(): string {
    return `127.0.0.1:${this.port}`;
  }

  set(name: string, records: ZoneRecord[]): void {
    this.zone.set(name.toLowerCase().replace(/\.$/, ""), records);
  }

  count(type: ZoneRecord["type"], name: string): number {
    return this.queries.get(`${type} ${name.toLowerCase()}`) ?? 0;
  }

  private onQuery(m: Buffer, r: dgram.RemoteInfo): void {
    if (m.length < 12) return;
    const id = m.readUInt16BE(0);
    // question: labels, type, class
    let o = 12;
    const labels: string[] = [];
    while (o < m.length && m[o] !== 0) {
      const len = m[o]!;
      labels.push(m.toString("latin1", o + 1, o + 1 + len));
      o += 1 + len;
    }
    o++;
    const qtype = m.readUInt16BE(o);
    const qEnd = o + 4;
    const name = labels.join(".").toLowerCase();
    const typeName = (Object.keys(TYPE_NUM) as Array<ZoneRecord["type"]>).find((k) => TYPE_NUM[k] === qtype) ?? String(qtype);
    this.queries.set(`${typeName} ${name}`, (this.queries.get(`${typeName} ${name}`) ?? 0) + 1);
    if (this.silent.has(name)) return;
    const all = this.zone.get(name);
    const answers = (all ?? []).filter((x) => TYPE_NUM[x.type] === qtype);
    const rcode = all === undefined ? 3 : 0; // NXDOMAIN when the name is unknown
    const header = Buffer.alloc(12);
    header.writeUInt16BE(id, 0);
    header.writeUInt16BE(0x8400 | 0x0100 | 0x0080 | rcode, 2); // QR, AA, RD, RA
    header.writeUInt16BE(1, 4);
    header.writeUInt16BE(answers.length, 6);
    header.writeUInt16BE(answers.length === 0 ? 1 : 0, 8); // SOA in authority for negatives
    const question = m.subarray(12, qEnd);
    const parts = [header, question];
    for (const a of answers) parts.push(rr(name, a));
    if (answers.length === 0) parts.push(soa(name));
    this.sock.send(Buffer.concat(parts), r.port, r.address);
  }

  close(): void {
    this.sock.close();
  }
}

function name(n: string): Buffer {
  const out: Buffer[] = [];
  for (const l of n.replace(/\.$/, "").split(".")) {
    if (!l) continue;
    out.push(Buffer.from([l.length]), Buffer.from(l, "latin1"));
  }
  out.push(Buffer.from([0]));
  return Buffer.concat(out);
}

function str(s: string): Buffer {
  return Buffer.concat([Buffer.from([s.length]), Buffer.from(s, "latin1")]);
}

function u16(v: number): Buffer {
  const b = Buffer.alloc(2);
  b.writeUInt16BE(v);
  return b;
}

function ipv6(a: string): Buffer {
  const [head, tail] = a.includes("::") ? a.split("::") : [a, ""];
  const h = head ? head.split(":") : [];
  const t = tail ? tail.split(":") : [];
  const groups = [...h, ...Array(8 - h.length - t.length).fill("0"), ...t];
  return Buffer.concat(groups.map((g: string) => u16(parseInt(g, 16))));
}

function rr(owner: string, r: ZoneRecord): Buffer {
  let rdata: Buffer;
  switch (r.type) {
    case "A":
      rdata = Buffer.from(r.address.split(".").map(Number));
      break;
    case "AAAA":
      rdata = ipv6(r.address);
      break;
    case "SRV":
      rdata = Buffer.concat([u16(r.priority), u16(r.weight), u16(r.port), name(r.target)]);
      break;
    case "NAPTR":
      rdata = Buffer.concat([u16(r.order), u16(r.preference), str(r.flags), str(r.service), str(r.regexp), name(r.replacement)]);
      break;
  }
  const fixed = Buffer.alloc(10);
  fixed.writeUInt16BE(TYPE_NUM[r.type], 0);
  fixed.writeUInt16BE(1, 2);
  fixed.writeUInt32BE(r.ttl ?? 60, 4);
  fixed.writeUInt16BE(rdata.length, 8);
  return Buffer.concat([name(owner), fixed, rdata]);
}

function soa(owner: string): Buffer {
  const zoneName = owner.split(".").slice(-2).join(".");
  const rdata = Buffer.concat([name(`ns.${zoneName}`), name(`admin.${zoneName}`), Buffer.alloc(20)]);
  rdata.writeUInt32BE(5, rdata.length - 4); // minimum = 5 s
  const fixed = Buffer.alloc(10);
  fixed.writeUInt16BE(6, 0);
  fixed.writeUInt16BE(1, 2);
  fixed.writeUInt32BE(5, 4);
  fixed.writeUInt16BE(rdata.length, 8);
  return Buffer.concat([name(zoneName), fixed, rdata]);
}
