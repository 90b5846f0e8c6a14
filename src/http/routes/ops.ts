import { Router } from 'express';
import type { Registry } from 'prom-client';
import { actorOf, requireAdmin } from '../auth.js';

/** Seconds a load balancer is told to wait before asking an unhealthy hub again. */
export const UNHEALTHY_RETRY_AFTER_SECONDS = 2;

/** Routes outside the API proper, needing no token: health (`503` while the store does not answer) and metrics. */
export function opsRoutes(metrics: Registry, isHealthy: () => Promise<boolean> = async () => true): Router {
  const router = Router();

  router.get('/healthz', async (_req, res) => {
    if (await isHealthy()) {
      res.json({ status: 'ok' });
      return;
    }
    res.setHeader('Retry-After', String(UNHEALTHY_RETRY_AFTER_SECONDS));
    res.status(503).json({ status: 'unavailable' });
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
