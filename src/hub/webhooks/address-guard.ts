import { BlockList, isIP, type LookupFunction } from 'node:net';
import { lookup as dnsLookup } from 'node:dns';

/**
 * Addresses a webhook may not reach unless `TASKHUB_WEBHOOK_ALLOW_PRIVATE=true`: loopback, RFC 1918, RFC 4193,
 * link-local (incl. the cloud metadata address 169.254.169.254), CGNAT, multicast, unspecified, and their
 * IPv4-mapped IPv6 forms (checked by unmapping first).
 */
const refused = new BlockList();
for (const [net, bits] of [
  ['0.0.0.0', 8], ['10.0.0.0', 8], ['100.64.0.0', 10], ['127.0.0.0', 8], ['169.254.0.0', 16],
  ['172.16.0.0', 12], ['192.168.0.0', 16], ['224.0.0.0', 4], ['255.255.255.255', 32],
] as const) refused.addSubnet(net, bits, 'ipv4');
for (const [net, bits] of [
  ['::', 128], ['::1', 128], ['fc00::', 7], ['fe80::', 10], ['ff00::', 8],
] as const) refused.addSubnet(net, bits, 'ipv6');

/** `::ffff:a.b.c.d` (either spelling) as `a.b.c.d`; anything else unchanged. */
function unmap(address: string): string {
  const m = /^::ffff:(?:(\d+\.\d+\.\d+\.\d+)|([0-9a-f]{1,4}):([0-9a-f]{1,4}))$/i.exec(address);
  if (!m) return address;
  if (m[1]) return m[1];
  const hi = parseInt(m[2]!, 16), lo = parseInt(m[3]!, 16);
  return `${hi >> 8}.${hi & 255}.${lo >> 8}.${lo & 255}`;
}

/** True when a webhook must not connect to this IP address (see the list above). */
export function isRefusedAddress(address: string): boolean {
  const ip = unmap(address.replace(/^\[|\]$/g, ''));
  const family = isIP(ip);
  if (family === 0) return true; // not an address at all: refuse rather than guess
  return refused.check(ip, family === 4 ? 'ipv4' : 'ipv6');
}

/** Thrown (as a lookup error) when a webhook host resolves to a refused address. */
export class WebhookAddressRefused extends Error {
  readonly code = 'webhook_url_refused';
  constructor(readonly host: string, readonly address: string) {
    super(`webhook host ${host} resolves to refused address ${address}`);
  }
}

/**
 * A `lookup` for an http(s) agent that checks the address actually dialled, so a name that resolves to a public
 * address at PUT and to a private one later (DNS rebinding) is still refused.
 * @param base the resolver to wrap; default `dns.lookup` (tests inject one, there being no DNS here).
 */
export function guardedLookup(base: LookupFunction = dnsLookup as LookupFunction): LookupFunction {
  return (hostname, options, callback) => {
    base(hostname, { ...options, all: true }, (err, addresses) => {
      if (err) return callback(err, '', 0);
      const list = Array.isArray(addresses) ? addresses : [{ address: String(addresses), family: 4 }];
      const bad = list.find((a) => isRefusedAddress(a.address));
      if (bad || list.length === 0) {
        return callback(new WebhookAddressRefused(hostname, bad?.address ?? '(none)'), '', 0);
      }
      if (options.all) return callback(null, list);
      callback(null, list[0]!.address, list[0]!.family);
    });
  };
}
