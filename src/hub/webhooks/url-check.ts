import { lookup as dnsLookup } from 'node:dns';
import { isIP, type LookupFunction } from 'node:net';
import { HubError } from '../../domain/errors.js';
import { isRefusedAddress } from './address-guard.js';

/** The host of a URL as an address or a name: `[::1]` unbracketed. */
export const hostOf = (url: URL): string => url.hostname.replace(/^\[|\]$/g, '');

const refusedUrl = (url: string, why: string) =>
  new HubError('webhook_url_refused', `The webhook URL ${url} is refused: ${why}. Use a public http(s) address.`);

/** Every address `host` resolves to, through `lookup`. */
function resolveAll(lookup: LookupFunction, host: string): Promise<string[]> {
  return new Promise((resolve, reject) => {
    lookup(host, { all: true }, (error, addresses) => {
      if (error) return reject(error);
      const list = Array.isArray(addresses) ? addresses.map((a) => a.address) : [String(addresses)];
      resolve(list);
    });
  });
}

/**
 * The check at PUT: the URL's host, or every address its name resolves to now, must be public (address-guard.ts).
 * The sender checks again against the address it actually dials, since a name may resolve elsewhere later.
 * @param lookup the resolver; default `dns.lookup` (tests inject one).
 * @throws HubError `webhook_url_refused`
 */
export async function checkWebhookUrl(
  raw: string,
  lookup: LookupFunction = dnsLookup as LookupFunction,
): Promise<void> {
  const host = hostOf(new URL(raw));
  if (isIP(host)) {
    if (isRefusedAddress(host)) throw refusedUrl(raw, `${host} is a loopback, private, link-local or reserved address`);
    return;
  }
  let addresses: string[];
  try {
    addresses = await resolveAll(lookup, host);
  } catch {
    throw refusedUrl(raw, `the name ${host} does not resolve`);
  }
  const bad = addresses.find(isRefusedAddress);
  if (bad !== undefined || addresses.length === 0) {
    throw refusedUrl(raw, `${host} resolves to ${bad ?? 'no address'}, a loopback, private, link-local or reserved address`);
  }
}
