import { Router } from 'express';
import type { Registry } from 'prom-client';
import { actorOf, requireAdmin } from '../auth.js';

/** Routes outside the API proper, needing no token: health and metrics. */
export function opsRoutes(metrics: Registry): Router {
  const router = Router();

  router.get('/healthz', (_req, res) => {
    res.json({ status: 'ok' });
  });

  router.get('/metrics', async (_req, res) => {
    res.type(metrics.contentType).send(await metrics.metrics());
  });

  return router;
}

/** `GET /api/stats` (admin), mounted under `/api` after the token check. */
export function statsRoutes(stats: () => Promise<object>): Router {
  const router = Router();
  router.get('/stats', async (_req, res) => {
    requireAdmin(actorOf(res));
    res.json(await stats());
  });
  return router;
}
