import { Router } from 'express';
import type { Hub } from '../../hub/index.js';
import { actorOf } from '../auth.js';
import { emptyBody, webhookPutBody } from '../schemas.js';
import { parse } from '../validate.js';

/** An agent's webhook: set, read (with its delivery counts and failures), remove, send failed ones again. */
export function webhookRoutes(hub: Hub): Router {
  const router = Router();

  router.put('/agents/:name/webhook', async (req, res) => {
    const body = parse(webhookPutBody, req.body, 'body');
    res.json(await hub.webhooks.put(actorOf(res), req.params.name, body));
  });

  router.get('/agents/:name/webhook', async (req, res) => {
    res.json(await hub.webhooks.get(actorOf(res), req.params.name));
  });

  router.delete('/agents/:name/webhook', async (req, res) => {
    await hub.webhooks.remove(actorOf(res), req.params.name);
    res.status(204).end();
  });

  router.post('/agents/:name/webhook/retry', async (req, res) => {
    parse(emptyBody, req.body, 'body');
    res.json(await hub.webhooks.retry(actorOf(res), req.params.name));
  });

  return router;
}
