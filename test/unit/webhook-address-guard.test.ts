import http from 'node:http';
import type { AddressInfo, LookupFunction } from 'node:net';
import { describe, expect, it } from 'vitest';
import { guardedLookup, isRefusedAddress } from '../../src/hub/webhooks/address-guard.js';

describe('webhook address guard', () => {
  it('refuses loopback, private, link-local, CGNAT, multicast, unspecified and their IPv4-mapped forms', () => {
    for (const a of [
      '127.0.0.1', '10.1.2.3', '172.16.0.1', '172.31.255.255', '192.168.1.1', '169.254.169.254', '100.64.0.1',
      '224.0.0.1', '0.0.0.0', '255.255.255.255', '::1', '::', 'fd00::1', 'fc12::1', 'fe80::1', 'ff02::1',
      '::ffff:127.0.0.1', '::ffff:7f00:1', '::ffff:a9fe:a9fe', '[::1]', 'not-an-ip',
    ]) expect(isRefusedAddress(a), a).toBe(true);
  });

  it('lets public addresses through', () => {
    for (const a of ['93.184.216.34', '172.32.0.1', '100.128.0.1', '2606:4700::1111', '::ffff:93.184.216.34']) {
      expect(isRefusedAddress(a), a).toBe(false);
    }
  });

  it('refuses at connect time a name that resolves to 127.0.0.1, reaching no receiver', async () => {
    let hits = 0;
    const server = http.createServer((_req, res) => { hits++; res.end('ok'); });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const { port } = server.address() as AddressInfo;
    // No DNS here: an injected resolver plays a rebinding name.
    const resolver: LookupFunction = (_host, _opts, cb) => cb(null, [{ address: '127.0.0.1', family: 4 }]);
    try {
      const err = await new Promise<Error>((resolve, reject) => {
        const req = http.request({ host: 'rebind.example', port, method: 'POST', lookup: guardedLookup(resolver) });
        req.on('response', () => reject(new Error('connected')));
        req.on('error', resolve);
        req.end('{}');
      });
      expect((err as Error & { code?: string }).code).toBe('webhook_url_refused');
      expect(hits).toBe(0);
    } finally {
      await new Promise((r) => server.close(r));
    }
  });
});
