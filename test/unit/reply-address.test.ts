import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { createReplyAddresses } from '../../src/transport/email/reply-address.js';

const addresses = createReplyAddresses('a-secret-of-sixteen-or-more', 'hub.example');

describe('reply addresses', () => {
  it('signs an id for an agent and verifies it back', () => {
    const id = randomUUID();
    const address = addresses.address('task', id, 'worker');
    expect(address).toMatch(new RegExp(`^reply\\+${id}\\.[a-z2-7]{21}@hub\\.example$`));
    const parsed = addresses.parse(address)!;
    expect(parsed.id).toBe(id);
    expect(addresses.verify('task', parsed.id, 'worker', parsed.signature)).toBe(true);
  });

  it('keeps the local part within the 64 characters RFC 5321 allows', () => {
    const address = addresses.address('message', randomUUID(), 'a'.repeat(64));
    expect(address.split('@')[0]!.length).toBeLessThanOrEqual(64);
  });

  it('survives a mail system that changes the case of the address', () => {
    const id = randomUUID();
    const parsed = addresses.parse(addresses.address('task', id, 'worker').toUpperCase())!;
    expect(addresses.verify('task', parsed.id, 'worker', parsed.signature)).toBe(true);
  });

  it('refuses another agent, the other kind, a tampered signature and another secret', () => {
    const id = randomUUID();
    const { signature } = addresses.parse(addresses.address('task', id, 'worker'))!;
    expect(addresses.verify('task', id, 'other', signature)).toBe(false);
    expect(addresses.verify('message', id, 'worker', signature)).toBe(false);
    const flipped = (signature[0] === 'a' ? 'b' : 'a') + signature.slice(1);
    expect(addresses.verify('task', id, 'worker', flipped)).toBe(false);
    expect(addresses.verify('task', id, 'worker', signature.slice(1))).toBe(false);
    expect(addresses.verify('task', randomUUID(), 'worker', signature)).toBe(false);
    const other = createReplyAddresses('another-secret-of-sixteen', 'hub.example');
    expect(other.verify('task', id, 'worker', signature)).toBe(false);
  });

  it('does not take addresses on another domain or of another shape for reply addresses', () => {
    const id = randomUUID();
    const local = addresses.address('task', id, 'worker').split('@')[0];
    expect(addresses.parse(`${local}@elsewhere.example`)).toBeUndefined();
    expect(addresses.parse('worker@hub.example')).toBeUndefined();
    expect(addresses.parse(`reply+${id}@hub.example`)).toBeUndefined();
    expect(addresses.parse(`reply+not-a-uuid.abcdefghijklmnopqrstu@hub.example`)).toBeUndefined();
  });
});
