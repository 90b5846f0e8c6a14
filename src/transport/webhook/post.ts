import http from 'node:http';
import https from 'node:https';
import { isIP, type LookupFunction } from 'node:net';
import { isRefusedAddress, WebhookAddressRefused, guardedLookup } from '../../hub/webhooks/address-guard.js';
import { hostOf } from '../../hub/webhooks/url-check.js';

/** A delivery with no complete answer within this is a failure, ms (the contract's 10 s). */
export const WEBHOOK_TIMEOUT_MS = 10_000;
/** Bytes of a response body read (and thrown away) before the connection is cut instead: the body is ignored. */
export const RESPONSE_BODY_CAP_BYTES = 16 * 1024;

/** How one POST went: `sent` (2xx), `gone` (410), or `retry` with why (any other status, a timeout, an error). */
export type PostOutcome = { kind: 'sent' | 'gone'; status: number } | { kind: 'retry'; reason: string };

export interface WebhookPosterOptions {
  /** Let POSTs reach loopback and private addresses (`TASKHUB_WEBHOOK_ALLOW_PRIVATE`). Default false. */
  allowPrivate?: boolean;
  /** Whole-exchange timeout, ms. Default `WEBHOOK_TIMEOUT_MS`. */
  timeoutMs?: number;
  /** Sockets kept per receiver host; as many as deliveries in flight is enough. Default 64. */
  maxSockets?: number;
  /** Resolver beneath the connect-time guard. Default `dns.lookup` (tests inject one). */
  lookup?: LookupFunction;
}

const reasonOf = (error: unknown) => {
  const e = error as { code?: unknown; message?: unknown };
  const message = typeof e.message === 'string' ? e.message : String(error);
  return (typeof e.code === 'string' && !message.includes(e.code) ? `${e.code}: ${message}` : message).slice(0, 500);
};

/**
 * POSTs webhook deliveries over keep-alive agents (one for http, one for https) that dial through the guarded
 * lookup, so the address actually connected to is checked (an IP literal in the URL, which no lookup sees, is
 * checked here). No redirect is followed (Node's client follows none); a response body is drained up to a small
 * cap, then the connection is cut. Every request in flight is tracked: `close()` cuts them and the idle sockets.
 */
export function createWebhookPoster(options: WebhookPosterOptions = {}) {
  const timeoutMs = options.timeoutMs ?? WEBHOOK_TIMEOUT_MS;
  const lookup = options.allowPrivate ? options.lookup : guardedLookup(options.lookup);
  const agentOptions = { keepAlive: true, maxSockets: options.maxSockets ?? 64, ...(lookup && { lookup }) };
  const agents = { 'http:': new http.Agent(agentOptions), 'https:': new https.Agent(agentOptions) };
  const inFlight = new Set<http.ClientRequest>();

  const post = (url: URL, headers: Record<string, string>, body: string): Promise<PostOutcome> =>
    new Promise((resolve) => {
      const host = hostOf(url);
      if (!options.allowPrivate && isIP(host) && isRefusedAddress(host)) {
        return resolve({ kind: 'retry', reason: new WebhookAddressRefused(host, host).message });
      }
      const client = url.protocol === 'https:' ? https : http;
      const agent = agents[url.protocol as keyof typeof agents];
      let settled = false;
      const finish = (outcome: PostOutcome) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        inFlight.delete(req);
        resolve(outcome);
      };
      const req = client.request(url, {
        method: 'POST',
        agent,
        headers: { ...headers, 'content-length': String(Buffer.byteLength(body)) },
      });
      inFlight.add(req);
      const timer = setTimeout(() => req.destroy(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
      req.on('error', (error) => finish({ kind: 'retry', reason: reasonOf(error) }));
      req.on('close', () => finish({ kind: 'retry', reason: 'connection closed before an answer' }));
      req.on('response', (res) => {
        const status = res.statusCode ?? 0;
        const outcome: PostOutcome =
          status >= 200 && status < 300 ? { kind: 'sent', status } : status === 410 ? { kind: 'gone', status } : { kind: 'retry', reason: `HTTP ${status}` };
        let read = 0;
        res.on('data', (chunk: Buffer) => {
          read += chunk.length;
          // Not worth reading on: the socket goes rather than being kept alive.
          if (read > RESPONSE_BODY_CAP_BYTES) {
            res.destroy();
            finish(outcome);
          }
        });
        res.on('end', () => finish(outcome));
        res.on('error', () => finish(outcome));
        res.on('close', () => finish(outcome));
      });
      req.end(body);
    });

  return {
    post,
    /** Cuts every request in flight (each then settles as `retry`) and closes the kept-alive sockets. */
    close(): void {
      for (const req of inFlight) req.destroy(new Error('the hub is stopping'));
      agents['http:'].destroy();
      agents['https:'].destroy();
    },
  };
}

export type WebhookPoster = ReturnType<typeof createWebhookPoster>;
