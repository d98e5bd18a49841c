/**
 * The node's connection directory, in shared memory: which worker holds the stream connection
 * (TCP, TLS, WS, WSS) to a remote `proto ip:port`, so a worker that must send to a connection it
 * does not hold hands the bytes to the owner (core/transport/conn-share.ts). The owner writes an
 * entry when a connection (or an alias of it) opens and erases it when it closes; a worker that
 * starts erases what its previous life left.
 *
 * Open addressing with linear probing over `slots` slots of 8 Int32 cells: used, proto<<16|port,
 * the address as 4 words (IPv4: 0, 0, 0xffff, a.b.c.d — the IPv4-mapped form), owner, connection
 * id. One lock cell for the whole table (Atomics.compareExchange; held for one probe sequence);
 * deletion shifts the following entries back (no tombstones, so churn never fills the table).
 * Lookups take the lock too: they run only when the local worker has no connection (not on the
 * hot path of UDP or of a worker's own connections).
 *
 * @example
 *   const dir = new ConnDirectory(node.sharedInt32("transport.conns", ConnDirectory.cells(1 << 14)), 1 << 14);
 *   dir.add("tcp", "10.0.0.7", 40312, 1, 17);  dir.lookup("tcp", "10.0.0.7", 40312); // 1 (owner)
 */
export class ConnDirectory {
  /** Int32 cells per slot (the lock is one extra cell at the start). */
  static readonly CELLS = 8;

  static cells(slots: number): number {
    return 1 + slots * ConnDirectory.CELLS;
  }

  private readonly key = new Int32Array(5);
  /** Connection id of the last successful lookup(). */
  lastConnId = 0;

  constructor(
    private readonly mem: Int32Array,
    private readonly slots: number,
  ) {
    if (mem.length < ConnDirectory.cells(slots)) throw new Error(`ConnDirectory: ${mem.length} cells for ${slots} slots`);
  }

  /** Records that `owner` holds connection `connId` to proto ip:port (replaces an older entry). False: table full or not an IP. */
  add(proto: string, address: string, port: number, owner: number, connId: number): boolean {
    if (!this.setKey(proto, address, port)) return false;
    const m = this.mem;
    this.lock();
    try {
      const i = this.find();
      if (i >= 0) {
        m[1 + i * 8 + 6] = owner + 1;
        m[1 + i * 8 + 7] = connId;
        return true;
      }
      const free = -i - 1;
      if (free >= this.slots) return false;
      const b = 1 + free * 8;
      m[b] = 1;
      for (let k = 0; k < 5; k++) m[b + 1 + k] = this.key[k]!;
      m[b + 6] = owner + 1;
      m[b + 7] = connId;
      return true;
    } finally {
      Atomics.store(m, 0, 0);
    }
  }

  /** Erases the entry of proto ip:port if it still names `owner`'s `connId`. */
  remove(proto: string, address: string, port: number, owner: number, connId: number): void {
    if (!this.setKey(proto, address, port)) return;
    const m = this.mem;
    this.lock();
    try {
      const i = this.find();
      if (i >= 0 && m[1 + i * 8 + 6] === owner + 1 && m[1 + i * 8 + 7] === connId) this.erase(i);
    } finally {
      Atomics.store(m, 0, 0);
    }
  }

  /** The worker holding a connection to proto ip:port, or -1 (its connection id in `lastConnId`). */
  lookup(proto: string, address: string, port: number): number {
    if (!this.setKey(proto, address, port)) return -1;
    const m = this.mem;
    this.lock();
    try {
      const i = this.find();
      if (i < 0) return -1;
      this.lastConnId = m[1 + i * 8 + 7]!;
      return m[1 + i * 8 + 6]! - 1;
    } finally {
      Atomics.store(m, 0, 0);
    }
  }

  /** Erases every entry of `owner` (a worker that starts: its previous life's connections are gone). Returns how many. */
  purgeOwner(owner: number): number {
    const m = this.mem;
    let n = 0;
    this.lock();
    try {
      for (let i = 0; i < this.slots; ) {
        if (m[1 + i * 8] === 1 && m[1 + i * 8 + 6] === owner + 1) {
          this.erase(i); // the next entry may have moved into i: look at i again
          n++;
        } else i++;
      }
    } finally {
      Atomics.store(m, 0, 0);
    }
    return n;
  }

  /** Entries in the table (for stats and tests). */
  size(): number {
    let n = 0;
    for (let i = 0; i < this.slots; i++) if (Atomics.load(this.mem, 1 + i * 8) === 1) n++;
    return n;
  }

  private lock(): void {
    while (Atomics.compareExchange(this.mem, 0, 0, 1) !== 0) {
      /* spin: held for one probe sequence */
    }
  }

  private home(): number {
    const k = this.key;
    let h = 0x811c9dc5;
    for (let j = 0; j < 5; j++) h = Math.imul(h ^ k[j]!, 0x01000193);
    return (Math.imul(h ^ (h >>> 15), 0x85ebca6b) >>> 0) % this.slots;
  }

  /** Slot of the key (≥ 0), or -(first free slot) - 1 (slots when none is free). Under the lock. */
  private find(): number {
    const m = this.mem;
    const k = this.key;
    let i = this.home();
    for (let n = 0; n < this.slots; n++, i = (i + 1) % this.slots) {
      const b = 1 + i * 8;
      if (m[b] !== 1) return -i - 1;
      if (m[b + 1] === k[0] && m[b + 2] === k[1] && m[b + 3] === k[2] && m[b + 4] === k[3] && m[b + 5] === k[4]) return i;
    }
    return -this.slots - 1;
  }

  /** Empties slot i and shifts back the entries after it that probed past it (Knuth 6.4, algorithm R). */
  private erase(i: number): void {
    const m = this.mem;
    const s = this.slots;
    let hole = i;
    m[1 + hole * 8] = 0;
    for (let j = (hole + 1) % s; m[1 + j * 8] === 1; j = (j + 1) % s) {
      for (let k = 0; k < 5; k++) this.key[k] = m[1 + j * 8 + 1 + k]!;
      const h = this.home();
      // the entry at j stays when its home lies cyclically in (hole, j]
      const stays = hole <= j ? hole < h && h <= j : hole < h || h <= j;
      if (stays) continue;
      m.copyWithin(1 + hole * 8, 1 + j * 8, 1 + j * 8 + 8);
      m[1 + j * 8] = 0;
      hole = j;
    }
  }

  private setKey(proto: string, address: string, port: number): boolean {
    const k = this.key;
    k[0] = (PROTO_CODE[proto] ?? 0) * 65536 + (port & 0xffff);
    return parseIpWords(address, k);
  }
}

const PROTO_CODE: Record<string, number> = { udp: 1, tcp: 2, tls: 3, ws: 4, wss: 5, sctp: 6 };

/** Writes an IP address as 4 words into out[1..4] (IPv4 as IPv4-mapped IPv6); false when it is not an IP. */
export function parseIpWords(address: string, out: Int32Array): boolean {
  const a = address.startsWith("[") ? address.slice(1, -1) : address;
  const v4 = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(a);
  if (v4) {
    out[1] = 0;
    out[2] = 0;
    out[3] = 0xffff;
    out[4] = ((+v4[1]! << 24) | (+v4[2]! << 16) | (+v4[3]! << 8) | +v4[4]!) | 0;
    return true;
  }
  const pct = a.indexOf("%");
  const s = (pct >= 0 ? a.slice(0, pct) : a).toLowerCase();
  if (!s.includes(":")) return false;
  const groups: number[] = [];
  const halves = s.split("::");
  if (halves.length > 2) return false;
  const parse = (part: string): number[] | null => {
    if (part === "") return [];
    const r: number[] = [];
    for (const g of part.split(":")) {
      const m4 = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(g);
      if (m4) r.push((+m4[1]! << 8) | +m4[2]!, (+m4[3]! << 8) | +m4[4]!);
      else if (/^[0-9a-f]{1,4}$/.test(g)) r.push(parseInt(g, 16));
      else return null;
    }
    return r;
  };
  const head = parse(halves[0]!);
  const tail = halves.length === 2 ? parse(halves[1]!) : [];
  if (!head || !tail) return false;
  if (halves.length === 1 && head.length !== 8) return false;
  if (head.length + tail.length > 8) return false;
  groups.push(...head, ...new Array<number>(8 - head.length - tail.length).fill(0), ...tail);
  for (let w = 0; w < 4; w++) out[1 + w] = ((groups[w * 2]! << 16) | groups[w * 2 + 1]!) | 0;
  return true;
}
