/**
 * Which x5u URLs the verifier may fetch: HTTPS only, and never from a private, loopback,
 * link-local or otherwise special-purpose address (RFC 6890), so a forged Identity header cannot
 * make the proxy probe its own network. Hosts or address prefixes in the allow-list skip the
 * address check (the tests' loopback certificate server, an internal STI-CR mirror); the scheme
 * check always applies.
 *
 * @example
 *   const p = createAddressPolicy(["127.0.0.1/32"]);
 *   p.checkUrl("http://cert.example.org/a.pem"); // "x5u must be https"
 *   p.addressAllowed("10.1.2.3", "cert.example.org"); // false
 */
import { BlockList, isIP } from "node:net";

const SPECIAL_V4 = [
  ["0.0.0.0", 8],
  ["10.0.0.0", 8],
  ["100.64.0.0", 10],
  ["127.0.0.0", 8],
  ["169.254.0.0", 16],
  ["172.16.0.0", 12],
  ["192.0.0.0", 24],
  ["192.0.2.0", 24],
  ["192.88.99.0", 24],
  ["192.168.0.0", 16],
  ["198.18.0.0", 15],
  ["198.51.100.0", 24],
  ["203.0.113.0", 24],
  ["224.0.0.0", 3],
] as const;
const SPECIAL_V6 = [
  ["::", 128],
  ["::1", 128],
  ["64:ff9b::", 96],
  ["100::", 64],
  ["2001::", 23],
  ["2001:db8::", 32],
  ["fc00::", 7],
  ["fe80::", 10],
  ["ff00::", 8],
] as const;

/** The x5u fetch policy. */
export interface AddressPolicy {
  /** Error text when the URL may not be fetched whatever it resolves to, else null. */
  checkUrl(url: string): string | null;
  /** Whether a resolved address may be connected to for `host`. */
  addressAllowed(address: string, host: string): boolean;
}

/** Builds the policy; `allow` holds host names, addresses or CIDR prefixes (validated here). */
export function createAddressPolicy(allow: readonly string[]): AddressPolicy {
  const special = new BlockList();
  for (const [a, p] of SPECIAL_V4) special.addSubnet(a, p, "ipv4");
  for (const [a, p] of SPECIAL_V6) special.addSubnet(a, p, "ipv6");
  const allowed = new BlockList();
  const allowedHosts = new Set<string>();
  for (const entry of allow) {
    const [addr, len] = entry.split("/") as [string, string | undefined];
    const fam = isIP(addr);
    if (fam === 0) {
      if (len !== undefined || !/^[A-Za-z0-9.-]+$/.test(addr)) throw new Error(`stirshaken: x5u_allow entry '${entry}' is not a host, address or prefix`);
      allowedHosts.add(addr.toLowerCase());
      continue;
    }
    const bits = len === undefined ? (fam === 4 ? 32 : 128) : Number(len);
    if (!Number.isInteger(bits) || bits < 0 || bits > (fam === 4 ? 32 : 128)) throw new Error(`stirshaken: x5u_allow entry '${entry}' has a bad prefix length`);
    allowed.addSubnet(addr, bits, fam === 4 ? "ipv4" : "ipv6");
  }
  const famOf = (a: string) => (isIP(a) === 6 ? "ipv6" : "ipv4");
  return {
    checkUrl(url) {
      let u: URL;
      try {
        u = new URL(url);
      } catch {
        return "x5u is not a URL";
      }
      if (u.protocol !== "https:") return "x5u must be https";
      if (u.username || u.password) return "x5u must not carry credentials";
      return null;
    },
    addressAllowed(rawAddress, host) {
      // an IPv4-mapped IPv6 address is judged as the IPv4 address it carries
      const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(rawAddress);
      const address = mapped ? mapped[1]! : rawAddress;
      if (isIP(address) === 0) return false;
      if (allowedHosts.has(host.toLowerCase()) || allowed.check(address, famOf(address))) return true;
      return !special.check(address, famOf(address));
    },
  };
}
