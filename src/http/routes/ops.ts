import { Router } from 'express';
import type { Registry } from 'prom-client';
import { actorOf, authenticate, requireAdmin } from '../auth.js';
import type { Hub } from '../../hub/index.js';

/** Routes outside the API proper: health and metrics need no token; stats need an admin. */
export function opsRoutes(hub: Hub, metrics: Registry, stats: () => object): Router {
  const router = Router();

  router.get('/healthz', (_req, res) => {
    res.json({ status: 'ok' });
  });

  router.get('/metrics', async (_req, res) => {
    res.type(metrics.contentType).send(await metrics.metrics());
  });

  router.get('/api/stats', authenticate(hub), (_req, res) => {
    requireAdmin(actorOf(res));
    res.json(stats());
  });

  return router;
}
