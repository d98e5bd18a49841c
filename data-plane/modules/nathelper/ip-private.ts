import { isIP } from "node:net";

/** [network, prefix length] of the ranges nat_uac_test calls private (Kamailio nh_nets_1918). */
const NETS_1918: ReadonlyArray<readonly [string, number]> = [
  ["10.0.0.0", 8],
  ["172.16.0.0", 12],
  ["192.168.0.0", 16],
  ["100.64.0.0", 10], // RFC 6598 carrier-grade NAT
  ["192.0.0.0", 29], // RFC 7335 IPv4 service continuity prefix
];
/** Added with nat_addr_mode 1 (Kamailio's default): RFC 7335 IETF protocol assignments. */
const NETS_EXTRA: ReadonlyArray<readonly [string, number]> = [["192.0.0.0", 24]];

function v4(ip: string): number | null {
  const p = ip.split(".");
  if (p.length !== 4) return null;
  let n = 0;
  for (const s of p) {
    if (!/^\d{1,3}$/.test(s)) return null;
    const v = Number(s);
    if (v > 255) return null;
    n = n * 256 + v;
  }
  return n >>> 0;
}

const compile = (nets: ReadonlyArray<readonly [string, number]>) =>
  nets.map(([net, bits]) => {
    const mask = bits === 0 ? 0 : (0xffffffff << (32 - bits)) >>> 0;
    return { net: (v4(net)! & mask) >>> 0, mask };
  });
const C1918 = compile(NETS_1918);
const CEXTRA = compile(NETS_EXTRA);

/**
 * [is_rfc1918(ip)] whether an IPv4 address is in a private/shared range (RFC 1918, RFC 6598,
 * RFC 7335; with `extra` also 192.0.0.0/24 as Kamailio's nat_addr_mode 1). IPv6 and host names
 * are never private here, as in Kamailio.
 */
export function isRfc1918(ip: string, extra = true): boolean {
  const n = v4(ip.trim());
  if (n === null) return false;
  for (const r of C1918) if (((n & r.mask) >>> 0) === r.net) return true;
  if (extra) for (const r of CEXTRA) if (((n & r.mask) >>> 0) === r.net) return true;
  return false;
}

/** Compares two IP literals (IPv6 brackets and case ignored); false for host names that differ. */
export function sameIp(a: string, b: string): boolean {
  const x = a.replace(/^\[|\]$/g, "").toLowerCase();
  const y = b.replace(/^\[|\]$/g, "").toLowerCase();
  if (x === y) return true;
  if (isIP(x) === 6 && isIP(y) === 6) return expand6(x) === expand6(y);
  return false;
}

function expand6(a: string): string {
  const [head, tail] = a.split("::") as [string, string | undefined];
  const h = head ? head.split(":") : [];
  const t = tail !== undefined && tail !== "" ? tail.split(":") : [];
  const fill = tail === undefined ? [] : new Array(8 - h.length - t.length).fill("0");
  return [...h, ...fill, ...t].map((g) => g.replace(/^0+(?=.)/, "")).join(":");
}
