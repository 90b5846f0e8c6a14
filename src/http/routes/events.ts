import { Router, type Response } from 'express';
import type { Hub } from '../../hub/index.js';
import type { StreamSink } from '../../transport/sse/session.js';
import type { StreamRegistry } from '../../transport/sse/registry.js';
import { actorOf } from '../auth.js';
import { emptyBody, eventsQuery } from '../schemas.js';
import type { StreamTickets } from '../stream-tickets.js';
import { parse } from '../validate.js';
import { HubError } from '../../domain/errors.js';

const SSE_HEADERS = {
  'Content-Type': 'text/event-stream; charset=utf-8',
  'Cache-Control': 'no-cache, no-transform',
  Connection: 'keep-alive',
  // Tells nginx-style proxies not to buffer the stream.
  'X-Accel-Buffering': 'no',
};

/** Adapts a response to the stream transport; headers go out with the first frame, after the limits passed. */
function responseSink(res: Response): StreamSink {
  return {
    write(chunk) {
      if (!res.headersSent) res.writeHead(200, SSE_HEADERS);
      res.write(chunk);
    },
    bufferedBytes: () => res.writableLength,
    needsDrain: () => res.writableNeedDrain,
    drained: () =>
      new Promise<void>((resolve) => {
        // 'drain' follows only a write that returned false; otherwise there is nothing to wait for.
        if (!res.writableNeedDrain || res.writableEnded || res.destroyed) return resolve();
        const done = () => {
          res.off('drain', done);
          res.off('close', done);
          resolve();
        };
        res.on('drain', done);
        res.on('close', done);
      }),
    end: () => res.end(),
  };
}

function lastEventIdOf(header: string | undefined, query: string | undefined): number | undefined {
  const raw = header ?? query;
  if (raw === undefined || raw === '') return undefined;
  if (!/^\d{1,15}$/.test(raw)) {
    throw new HubError('validation_failed', 'Last-Event-ID must be an event id this hub sent.', {
      details: [{ path: 'header.last-event-id', message: 'must be a non-negative integer' }],
    });
  }
  return Number(raw);
}

export function eventRoutes(hub: Hub, streams: StreamRegistry, tickets: StreamTickets): Router {
  const router = Router();

  // A ticket stands for the bearer token that asked for it (checked by then; tickets open only GET /events).
  router.post('/events/ticket', (req, res) => {
    parse(emptyBody, req.body, 'body');
    const token = req.headers.authorization!.replace(/^\S+\s+/, '');
    res.json(tickets.issue(actorOf(res).name, token));
  });

  router.get('/events', async (req, res) => {
    const actor = actorOf(res);
    const query = parse(eventsQuery, req.query, 'query');
    const lastEventId = lastEventIdOf(req.get('last-event-id'), query.lastEventId);
    const session = await streams.open({ name: actor.name, admin: actor.role === 'admin' }, responseSink(res), lastEventId);
    res.on('close', () => {
      session.close('client');
      if (actor.role === 'agent') hub.agents.touch(actor.name);
    });
    if (res.destroyed) session.close('client');
  });

  return router;
}
