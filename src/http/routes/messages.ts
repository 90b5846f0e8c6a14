import { Router } from 'express';
import type { Hub } from '../../hub/index.js';
import { actorOf, requireAgent } from '../auth.js';
import { setRateLimitHeaders } from '../rate-limit-headers.js';
import { emptyBody, inboxQuery, messageSendBody, threadQuery } from '../schemas.js';
import { parse } from '../validate.js';

/** Messages between agents: send, inbox, read marks and threads. Mounted under `/api` after auth. */
export function messageRoutes(hub: Hub): Router {
  const router = Router();
  const { messages } = hub;

  router.post('/messages', async (req, res) => {
    const body = parse(messageSendBody, req.body, 'body');
    const sent = await messages.send(actorOf(res), body);
    setRateLimitHeaders(res, sent.rateLimits);
    res.status(201).json({ messages: sent.messages });
  });

  router.get('/messages/:id', async (req, res) => {
    res.json({ message: await messages.get(actorOf(res), req.params.id) });
  });

  router.post('/messages/:id/read', async (req, res) => {
    parse(emptyBody, req.body, 'body');
    res.json({ message: await messages.markRead(actorOf(res), req.params.id) });
  });

  router.get('/inbox', async (req, res) => {
    const actor = actorOf(res);
    requireAgent(actor);
    res.json(await messages.inbox(actor, parse(inboxQuery, req.query, 'query')));
  });

  router.get('/threads/:threadId', async (req, res) => {
    res.json(await messages.thread(actorOf(res), req.params.threadId, parse(threadQuery, req.query, 'query')));
  });

  return router;
}
