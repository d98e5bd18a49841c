/**
 * "myself" as Kamailio's check_self has it: a URI points at this proxy when its host and port
 * together name one of the listen sockets (address or advertised address, with the socket's port),
 * or an alias. An alias with a port (`sip.example.com:5080`) matches that port only; a port-less
 * alias matches the host without a port, or with any port Olelo listens on. A URI without a port
 * means 5060 (5061 for sips:) when compared with a socket.
 *
 * @example
 *   const me = new MyselfSet();
 *   me.addSocket("10.0.0.5", 5070); me.addAlias("sip.example.com");
 *   me.has("sip.example.com", null, false); // true (port-less alias, no port in the URI)
 *   me.has("10.0.0.5", null, false);        // false: 10.0.0.5 means port 5060 there
 */
export class MyselfSet {
  /** host → the ports it is myself on (a Map of Sets: no key string built per lookup on the hot path) */
  private readonly pairs = new Map<string, Set<number>>();
  private readonly anyPortHosts = new Set<string>();
  private readonly ports = new Set<number>();

  /** A listen socket (or its advertised address) with its port. */
  addSocket(host: string, port: number): void {
    this.addPair(host.toLowerCase(), port);
    this.ports.add(port);
  }

  /** An alias as configured: `host`, `host:port`, `[v6]` or `[v6]:port`. */
  addAlias(alias: string): void {
    const m = /^\[([^\]]*)\](?::(\d+))?$/.exec(alias) ?? /^([^:]*)(?::(\d+))?$/.exec(alias) ?? [alias, alias, undefined];
    const host = m[1]!.toLowerCase();
    if (m[2]) this.addPair(host, Number(m[2]));
    else this.anyPortHosts.add(host);
  }

  private addPair(host: string, port: number): void {
    let ports = this.pairs.get(host);
    if (!ports) this.pairs.set(host, (ports = new Set()));
    ports.add(port);
  }

  /** Whether host:port is this proxy; `port` null means the URI had none (5060, or 5061 when `secure`). */
  has(host: string, port: number | null, secure: boolean): boolean {
    const h = host.toLowerCase();
    if (this.pairs.get(h)?.has(port ?? (secure ? 5061 : 5060))) return true;
    return this.anyPortHosts.has(h) && (port === null || this.ports.has(port));
  }
}
