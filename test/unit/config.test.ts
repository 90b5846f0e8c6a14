import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/config.js';

describe('loadConfig', () => {
  it('has the contract\'s defaults', () => {
    const config = loadConfig({});
    expect(config).toMatchObject({
      port: 8080,
      host: '127.0.0.1',
      dataDir: path.resolve('./data'),
      jwtSecret: undefined,
      smtpUrl: undefined,
      smtpPort: 2525,
      mailDomain: 'localhost',
      mailFrom: 'taskhub@localhost',
      heartbeatMs: 15000,
      leaseSeconds: 300,
      maxAttempts: 3,
      rpcPollMs: 2000,
      outboxClaimMs: 300_000,
      rateLimit: 600,
      broadcastLimit: 10,
      maxStreams: 5,
      presenceHeartbeatMs: 5000,
      presenceExpiryMs: 20000,
      logLevel: 'info',
    });
    expect(Object.isFrozen(config)).toBe(true);
  });

  it('reads every variable and treats empty strings as unset', () => {
    const config = loadConfig({
      PORT: '0',
      HOST: '0.0.0.0',
      TASKHUB_MAIL_DOMAIN: 'hub.example.com',
      TASKHUB_SMTP_URL: 'smtp://u:p@mail.example.com:587',
      TASKHUB_RATE_LIMIT: '0',
      TASKHUB_OUTBOX_CLAIM_MS: '2000',
      TASKHUB_JWT_SECRET: '',
    });
    expect(config).toMatchObject({ port: 0, host: '0.0.0.0', mailFrom: 'taskhub@hub.example.com', rateLimit: 0, outboxClaimMs: 2000 });
    expect(config.smtpUrl).toBe('smtp://u:p@mail.example.com:587');
    expect(config.jwtSecret).toBeUndefined();
  });

  it.each([
    ['PORT', 'eighty'],
    ['PORT', '70000'],
    ['TASKHUB_LEASE_SECONDS', '-5'],
    ['TASKHUB_MAX_ATTEMPTS', '1.5'],
    ['TASKHUB_SMTP_URL', 'http://mail.example.com'],
    ['TASKHUB_JWT_SECRET', 'short'],
    ['TASKHUB_MAIL_FROM', 'nobody'],
    ['LOG_LEVEL', 'loud'],
    ['TASKHUB_HEARTBEAT_MS', '0'],
    ['TASKHUB_DATABASE_URL', 'mysql://db.example.com/taskhub'],
    ['TASKHUB_HUB_ID', 'has spaces'],
  ])('stops on %s=%s with a message naming the variable', (variable, value) => {
    expect(() => loadConfig({ [variable]: value })).toThrow(ConfigError);
    expect(() => loadConfig({ [variable]: value })).toThrow(new RegExp(`${variable}="${value.replace('.', '\\.')}"`));
  });

  it('selects PostgreSQL with TASKHUB_DATABASE_URL and then refuses to start without TASKHUB_JWT_SECRET', () => {
    const url = 'postgres://taskhub:pw@db.example.com:5432/taskhub';
    expect(() => loadConfig({ TASKHUB_DATABASE_URL: url })).toThrow(ConfigError);
    expect(() => loadConfig({ TASKHUB_DATABASE_URL: url })).toThrow(/TASKHUB_JWT_SECRET is required with TASKHUB_DATABASE_URL/);
    const config = loadConfig({ TASKHUB_DATABASE_URL: url, TASKHUB_JWT_SECRET: 'x'.repeat(32), TASKHUB_HUB_ID: 'hub-a' });
    expect(config).toMatchObject({ databaseUrl: url, hubId: 'hub-a' });
    expect(loadConfig({}).databaseUrl).toBeUndefined();
  });

  it('reads the webhook settings, and wants the claim longer than the timeout', () => {
    expect(loadConfig({}).webhooks).toEqual({
      allowPrivate: false, timeoutMs: 10_000, retryBaseMs: 1000, retryMaxMs: 300_000, maxAgeMs: 86_400_000,
      concurrency: 64, claimMs: 60_000,
    });
    expect(loadConfig({ TASKHUB_WEBHOOK_ALLOW_PRIVATE: 'true', TASKHUB_WEBHOOK_TIMEOUT_MS: '300' }).webhooks).toMatchObject({
      allowPrivate: true, timeoutMs: 300,
    });
    expect(() => loadConfig({ TASKHUB_WEBHOOK_CLAIM_MS: '5000' })).toThrow(/TASKHUB_WEBHOOK_CLAIM_MS=5000 must be longer/);
    expect(() => loadConfig({ TASKHUB_WEBHOOK_CONCURRENCY: '0' })).toThrow(ConfigError);
  });

  it('generates a hub id at each start unless TASKHUB_HUB_ID names one', () => {
    const [a, b] = [loadConfig({}).hubId, loadConfig({}).hubId];
    expect(a).toMatch(/^hub-[0-9a-f]{8}$/);
    expect(a).not.toBe(b);
  });

  it('reads how the hub is exposed: CORS origins, trusted proxies, public URL', () => {
    expect(loadConfig({})).toMatchObject({ corsOrigins: [], trustProxy: false, publicUrl: undefined });
    expect(
      loadConfig({
        TASKHUB_CORS_ORIGINS: 'https://app.example.com, http://localhost:5173',
        TASKHUB_TRUST_PROXY: 'loopback',
        TASKHUB_PUBLIC_URL: 'https://hub.example.com/',
      }),
    ).toMatchObject({
      corsOrigins: ['https://app.example.com', 'http://localhost:5173'],
      trustProxy: 'loopback',
      publicUrl: 'https://hub.example.com',
    });
    expect(loadConfig({ TASKHUB_CORS_ORIGINS: '*', TASKHUB_TRUST_PROXY: '1' })).toMatchObject({ corsOrigins: '*', trustProxy: 1 });
    expect(loadConfig({ TASKHUB_TRUST_PROXY: 'true' }).trustProxy).toBe(true);
    expect(() => loadConfig({ TASKHUB_CORS_ORIGINS: 'https://app.example.com/' })).toThrow(/TASKHUB_CORS_ORIGINS.*origin/);
    expect(() => loadConfig({ TASKHUB_PUBLIC_URL: 'hub.example.com' })).toThrow(/TASKHUB_PUBLIC_URL/);
  });
});
