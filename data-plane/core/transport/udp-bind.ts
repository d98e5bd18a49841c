import dgram from "node:dgram";

/** True for a SIP reply (starts with "SIP/"). */
export function isReply(d: Buffer): boolean {
  return d[0] === 0x53 && d[1] === 0x49 && d[2] === 0x50 && d[3] === 0x2f;
}

/** Binds a UDP socket (4 MiB buffers, synchronous lookup of IP literals), SO_REUSEPORT when `reusePort`. */
export function bindUdp(family: 4 | 6, address: string, port: number, reusePort: boolean, onMsg: (d: Buffer, r: dgram.RemoteInfo) => void, onErr: (e: Error) => void): Promise<dgram.Socket> {
  const s = dgram.createSocket({
    type: family === 6 ? "udp6" : "udp4",
    recvBufferSize: 4 << 20,
    sendBufferSize: 4 << 20,
    reusePort,
    // destinations are always IP literals here (names are resolved by the core's resolver):
    // a synchronous lookup skips dns.lookup's process.nextTick round trip on every send
    lookup: syncLookup,
  });
  return new Promise((resolve, reject) => {
    s.once("error", reject);
    s.bind({ address, port, exclusive: true }, () => {
      s.off("error", reject);
      try {
        s.setRecvBufferSize(4 << 20);
        s.setSendBufferSize(4 << 20);
      } catch {
        /* kernel may clamp */
      }
      s.on("error", onErr);
      s.on("message", onMsg);
      resolve(s);
    });
  });
}

export function syncLookup(address: string, _family: unknown, cb: (err: Error | null, address: string, family: number) => void): void {
  cb(null, address, address.indexOf(":") >= 0 ? 6 : 4);
}

