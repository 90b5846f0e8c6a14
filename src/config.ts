import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { z } from 'zod';

/** Everything taskhub reads from the environment, validated once at start. Nothing else reads `process.env`. */
export interface Config {
  /** HTTP port; 0 picks a free one. Default 8080. */
  readonly port: number;
  /** HTTP bind address. Default 127.0.0.1. */
  readonly host: string;
  /** Holds `taskhub.db`, the generated secret and `admin.token`. Default `./data`. */
  readonly dataDir: string;
  /** HS256 secret; when undefined one is generated into the data dir on first start (SQLite only). */
  readonly jwtSecret: string | undefined;
  /**
   * `postgres://…` of a PostgreSQL 15+ database that any number of hubs share; undefined means SQLite in the data
   * dir. With it, `jwtSecret` is required (every hub must sign and verify with the same one).
   */
  readonly databaseUrl: string | undefined;
  /** This hub process's name in logs and `/api/stats`. Default: generated at each start (`hub-` + 8 hex digits). */
  readonly hubId: string;
  /** How often this hub re-asserts its presence row and stream counts in the store, ms. Default 5000. */
  readonly presenceHeartbeatMs: number;
  /**
   * How long after its last presence heartbeat a hub's streams still count, ms (more than the heartbeat). Default
   * 20000: a dead hub's streams stop counting within 20 s.
   */
  readonly presenceExpiryMs: number;
  /** Outbound SMTP URL; undefined means the embedded listener. */
  readonly smtpUrl: string | undefined;
  /** Embedded SMTP listener port; 0 picks a free one. Default 2525. */
  readonly smtpPort: number;
  readonly mailDomain: string;
  readonly mailFrom: string;
  /** SSE keep-alive comment interval, ms. Default 15000. */
  readonly heartbeatMs: number;
  /** Lease of a claimed task, seconds. Default 300. */
  readonly leaseSeconds: number;
  /** Deliveries before a task whose lease keeps expiring fails. Default 3. */
  readonly maxAttempts: number;
  /** Store-polling fallback interval of a waiting RPC, ms. Default 2000. */
  readonly rpcPollMs: number;
  /** Waiting RPCs the hub holds at once before answering 503 overloaded. Default 10000. */
  readonly rpcMaxWaiters: number;
  /**
   * How long a mail claimed for sending stays hidden from every other sender, ms: a hub that dies mid-send leaves
   * the mail to another hub after this. Default 300000 (5 minutes).
   */
  readonly outboxClaimMs: number;
  /**
   * On PostgreSQL, how often each hub's outbox senders look for mail and webhook deliveries no live hub is sending
   * (queued by a hub that died before sending them, or whose claim expired), ms. Default 1000.
   */
  readonly outboxPollMs: number;
  /** Tasks + messages one sender may create per minute; 0 = off. Default 600. */
  readonly rateLimit: number;
  /** Broadcasts one sender may send per minute. Default 10. */
  readonly broadcastLimit: number;
  /** Open SSE streams per agent. Default 5. */
  readonly maxStreams: number;
  /** Bytes a stream may have waiting in its socket before it is dropped as too slow. Default 1 MiB. */
  readonly streamBufferBytes: number;
  /** Days events stay replayable after `Last-Event-ID`. Default 7 (the contract's minimum). */
  readonly eventRetentionDays: number;
  /** `progress` calls one task may take per minute; 0 = off. Default 60. */
  readonly progressLimit: number;
  /** Bytes the dev mailbox keeps before dropping its oldest mails. Default 32 MiB. */
  readonly devMailboxBytes: number;
  /** Open connections the HTTP listener holds at most; past it new ones are shed. Default 1000. */
  readonly maxConnections: number;
  /** A connection that has sent nothing, or is idle between requests, for this long is closed, ms. Default 5000. */
  readonly idleTimeoutMs: number;
  readonly logLevel: string;
  /** Origins allowed by CORS; `'*'` for any, empty for CORS off (the default). */
  readonly corsOrigins: readonly string[] | '*';
  /** Express `trust proxy`: false (default), true, a hop count, or addresses/subnets (`loopback`, `10.0.0.0/8`). */
  readonly trustProxy: boolean | number | string;
  /** Base URL clients reach the hub at (no trailing slash); undefined: each request's own scheme and host. */
  readonly publicUrl: string | undefined;
  /** Serve A2A cards without a token. Default false. */
  readonly a2aPublicCards: boolean;
  /** `json`, `pretty`, or `auto` (the default): pretty lines when stdout is a terminal, JSON lines otherwise. */
  readonly logFormat: 'auto' | 'json' | 'pretty';
  /** Webhook delivery (`TASKHUB_WEBHOOK_*`). */
  readonly webhooks: WebhookConfig;
}

/** How webhooks are delivered; every field has its `TASKHUB_WEBHOOK_*` variable (docs/operations.md). */
export interface WebhookConfig {
  /** Let webhook URLs reach loopback, private, link-local and other reserved addresses. Default false. */
  readonly allowPrivate: boolean;
  /** A delivery with no answer within this is a failure, ms. Default 10000. */
  readonly timeoutMs: number;
  /** Delay before the first retry, ms; it doubles with each failure (with jitter). Default 1000. */
  readonly retryBaseMs: number;
  /** Longest delay between retries, ms. Default 300000 (5 minutes). */
  readonly retryMaxMs: number;
  /** Age (since queueing) after which a failing delivery is marked failed, ms. Default 86400000 (24 h). */
  readonly maxAgeMs: number;
  /** Deliveries in flight at once per hub. Default 64. */
  readonly concurrency: number;
  /** How long a claimed delivery stays hidden: a hub that dies mid-delivery leaves it to another after this, ms. Default 60000. */
  readonly claimMs: number;
}

export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigError';
  }
}

const integer = (min: number, max: number) => z.coerce.number().int().min(min).max(max);

const origin = z
  .url({ protocol: /^https?$/ })
  .refine((o) => new URL(o).origin === o, 'each must be an origin like https://app.example.com (no path, no trailing slash)');

/** `true`/`false`, a hop count, or Express's list of addresses and subnets (`loopback`, `10.0.0.0/8`). */
function trustProxyValue(raw: string): boolean | number | string {
  if (raw === 'true' || raw === 'false') return raw === 'true';
  return /^\d+$/.test(raw) ? Number(raw) : raw;
}

const schema = z.object({
  PORT: integer(0, 65535).default(8080),
  HOST: z.string().min(1).default('127.0.0.1'),
  TASKHUB_DATA_DIR: z.string().min(1).default('./data'),
  TASKHUB_JWT_SECRET: z.string().min(16, 'must be at least 16 characters').optional(),
  TASKHUB_DATABASE_URL: z.url({ protocol: /^postgres(ql)?$/, error: 'must be a postgres:// URL' }).optional(),
  TASKHUB_HUB_ID: z.string().regex(/^[\w.:-]{1,64}$/, 'must be 1-64 letters, digits or ._:-').optional(),
  TASKHUB_PRESENCE_HEARTBEAT_MS: integer(10, 60_000).default(5000),
  TASKHUB_PRESENCE_EXPIRY_MS: integer(50, 600_000).default(20_000),
  TASKHUB_SMTP_URL: z.url({ protocol: /^smtps?$/ }).optional(),
  TASKHUB_SMTP_PORT: integer(0, 65535).default(2525),
  TASKHUB_MAIL_DOMAIN: z.string().regex(/^[A-Za-z0-9.-]+$/, 'must be a domain name').default('localhost'),
  TASKHUB_MAIL_FROM: z.email().optional(),
  TASKHUB_HEARTBEAT_MS: integer(10, 3_600_000).default(15_000),
  TASKHUB_LEASE_SECONDS: integer(1, 7 * 24 * 3600).default(300),
  TASKHUB_MAX_ATTEMPTS: integer(1, 100).default(3),
  TASKHUB_RPC_POLL_MS: integer(10, 600_000).default(2000),
  TASKHUB_RPC_MAX_WAITERS: integer(1, 1_000_000).default(10_000),
  TASKHUB_OUTBOX_CLAIM_MS: integer(1000, 24 * 3600 * 1000).default(300_000),
  TASKHUB_OUTBOX_POLL_MS: integer(100, 600_000).default(1000),
  TASKHUB_RATE_LIMIT: integer(0, 1_000_000).default(600),
  TASKHUB_BROADCAST_LIMIT: integer(0, 1_000_000).default(10),
  TASKHUB_MAX_STREAMS: integer(1, 1000).default(5),
  TASKHUB_STREAM_BUFFER_BYTES: integer(1024, 1 << 30).default(1 << 20),
  TASKHUB_EVENT_RETENTION_DAYS: integer(7, 3650).default(7),
  TASKHUB_CORS_ORIGINS: z
    .string()
    .transform((raw) => raw.split(',').map((o) => o.trim()).filter(Boolean))
    .pipe(z.union([z.tuple([z.literal('*')]), z.array(origin)]))
    .optional(),
  TASKHUB_TRUST_PROXY: z.string().transform(trustProxyValue).optional(),
  TASKHUB_PUBLIC_URL: z.url({ protocol: /^https?$/ }).transform((u) => u.replace(/\/+$/, '')).optional(),
  TASKHUB_PROGRESS_LIMIT: integer(0, 1_000_000).default(60),
  TASKHUB_DEV_MAILBOX_BYTES: integer(1 << 20, 1 << 30).default(32 << 20),
  TASKHUB_MAX_CONNECTIONS: integer(16, 1_000_000).default(1000),
  TASKHUB_IDLE_TIMEOUT_MS: integer(100, 3_600_000).default(5000),
  TASKHUB_A2A_PUBLIC_CARDS: z.enum(['true', 'false', '1', '0']).default('false'),
  TASKHUB_WEBHOOK_ALLOW_PRIVATE: z.enum(['true', 'false', '1', '0']).default('false'),
  TASKHUB_WEBHOOK_TIMEOUT_MS: integer(10, 600_000).default(10_000),
  TASKHUB_WEBHOOK_RETRY_BASE_MS: integer(1, 3_600_000).default(1000),
  TASKHUB_WEBHOOK_RETRY_MAX_MS: integer(1, 24 * 3_600_000).default(300_000),
  TASKHUB_WEBHOOK_MAX_AGE_MS: integer(1, 30 * 24 * 3_600_000).default(24 * 3_600_000),
  TASKHUB_WEBHOOK_CONCURRENCY: integer(1, 10_000).default(64),
  TASKHUB_WEBHOOK_CLAIM_MS: integer(100, 24 * 3_600_000).default(60_000),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  LOG_FORMAT: z.enum(['auto', 'json', 'pretty']).default('auto'),
});

/**
 * Reads the configuration from an environment object (normally `process.env`). Empty strings count as unset.
 * @throws ConfigError naming every bad variable, its value and what it must be.
 */
export function loadConfig(env: Record<string, string | undefined>): Config {
  const present = Object.fromEntries(Object.entries(env).filter(([, value]) => value !== undefined && value !== ''));
  const parsed = schema.safeParse(present);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((issue) => {
      const variable = String(issue.path[0]);
      return `${variable}=${JSON.stringify(present[variable])}: ${issue.message}`;
    });
    throw new ConfigError(`Invalid configuration:\n  ${lines.join('\n  ')}`);
  }
  const e = parsed.data;
  if (e.TASKHUB_DATABASE_URL !== undefined && e.TASKHUB_JWT_SECRET === undefined) {
    throw new ConfigError(
      'Invalid configuration:\n  TASKHUB_JWT_SECRET is required with TASKHUB_DATABASE_URL: every hub on the database must ' +
        'sign and verify tokens with the same secret (at least 16 characters).',
    );
  }
  if (e.TASKHUB_WEBHOOK_CLAIM_MS <= e.TASKHUB_WEBHOOK_TIMEOUT_MS) {
    throw new ConfigError(
      `Invalid configuration:\n  TASKHUB_WEBHOOK_CLAIM_MS=${e.TASKHUB_WEBHOOK_CLAIM_MS} must be longer than ` +
        `TASKHUB_WEBHOOK_TIMEOUT_MS=${e.TASKHUB_WEBHOOK_TIMEOUT_MS}: a claim that ends while its POST still waits lets ` +
        'another hub send the same delivery again.',
    );
  }
  if (e.TASKHUB_PRESENCE_EXPIRY_MS <= e.TASKHUB_PRESENCE_HEARTBEAT_MS) {
    throw new ConfigError(
      `Invalid configuration:\n  TASKHUB_PRESENCE_EXPIRY_MS=${e.TASKHUB_PRESENCE_EXPIRY_MS}: must be more than ` +
        `TASKHUB_PRESENCE_HEARTBEAT_MS (${e.TASKHUB_PRESENCE_HEARTBEAT_MS}), or a live hub would expire between heartbeats.`,
    );
  }
  return Object.freeze({
    port: e.PORT,
    host: e.HOST,
    dataDir: path.resolve(e.TASKHUB_DATA_DIR),
    jwtSecret: e.TASKHUB_JWT_SECRET,
    databaseUrl: e.TASKHUB_DATABASE_URL,
    hubId: e.TASKHUB_HUB_ID ?? `hub-${randomBytes(4).toString('hex')}`,
    presenceHeartbeatMs: e.TASKHUB_PRESENCE_HEARTBEAT_MS,
    presenceExpiryMs: e.TASKHUB_PRESENCE_EXPIRY_MS,
    smtpUrl: e.TASKHUB_SMTP_URL,
    smtpPort: e.TASKHUB_SMTP_PORT,
    mailDomain: e.TASKHUB_MAIL_DOMAIN,
    mailFrom: e.TASKHUB_MAIL_FROM ?? `taskhub@${e.TASKHUB_MAIL_DOMAIN}`,
    heartbeatMs: e.TASKHUB_HEARTBEAT_MS,
    leaseSeconds: e.TASKHUB_LEASE_SECONDS,
    maxAttempts: e.TASKHUB_MAX_ATTEMPTS,
    rpcPollMs: e.TASKHUB_RPC_POLL_MS,
    rpcMaxWaiters: e.TASKHUB_RPC_MAX_WAITERS,
    outboxClaimMs: e.TASKHUB_OUTBOX_CLAIM_MS,
    outboxPollMs: e.TASKHUB_OUTBOX_POLL_MS,
    rateLimit: e.TASKHUB_RATE_LIMIT,
    broadcastLimit: e.TASKHUB_BROADCAST_LIMIT,
    maxStreams: e.TASKHUB_MAX_STREAMS,
    streamBufferBytes: e.TASKHUB_STREAM_BUFFER_BYTES,
    eventRetentionDays: e.TASKHUB_EVENT_RETENTION_DAYS,
    progressLimit: e.TASKHUB_PROGRESS_LIMIT,
    devMailboxBytes: e.TASKHUB_DEV_MAILBOX_BYTES,
    maxConnections: e.TASKHUB_MAX_CONNECTIONS,
    idleTimeoutMs: e.TASKHUB_IDLE_TIMEOUT_MS,
    logLevel: e.LOG_LEVEL,
    corsOrigins: e.TASKHUB_CORS_ORIGINS?.[0] === '*' ? '*' : (e.TASKHUB_CORS_ORIGINS ?? []),
    trustProxy: e.TASKHUB_TRUST_PROXY ?? false,
    publicUrl: e.TASKHUB_PUBLIC_URL,
    a2aPublicCards: e.TASKHUB_A2A_PUBLIC_CARDS === 'true' || e.TASKHUB_A2A_PUBLIC_CARDS === '1',
    logFormat: e.LOG_FORMAT,
    webhooks: Object.freeze({
      allowPrivate: e.TASKHUB_WEBHOOK_ALLOW_PRIVATE === 'true' || e.TASKHUB_WEBHOOK_ALLOW_PRIVATE === '1',
      timeoutMs: e.TASKHUB_WEBHOOK_TIMEOUT_MS,
      retryBaseMs: e.TASKHUB_WEBHOOK_RETRY_BASE_MS,
      retryMaxMs: e.TASKHUB_WEBHOOK_RETRY_MAX_MS,
      maxAgeMs: e.TASKHUB_WEBHOOK_MAX_AGE_MS,
      concurrency: e.TASKHUB_WEBHOOK_CONCURRENCY,
      claimMs: e.TASKHUB_WEBHOOK_CLAIM_MS,
    }),
  });
}
