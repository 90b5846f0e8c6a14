import { Router } from 'express';
import type { Hub } from '../../hub/index.js';
import { actorOf, requireAdmin } from '../auth.js';
import { agentCreateBody, agentListQuery, agentPatchBody, emptyBody } from '../schemas.js';
import { parse } from '../validate.js';

export function agentRoutes(hub: Hub): Router {
  const router = Router();

  router.post('/agents', async (req, res) => {
    const actor = actorOf(res);
    requireAdmin(actor);
    const body = parse(agentCreateBody, req.body, 'body');
    res.status(201).json(await hub.agents.create(actor, body));
  });

  router.get('/agents', async (req, res) => {
    const query = parse(agentListQuery, req.query, 'query');
    res.json({ agents: await hub.agents.list(actorOf(res), query.capability) });
  });

  router.get('/agents/:name', async (req, res) => {
    res.json({ agent: await hub.agents.get(actorOf(res), req.params.name) });
  });

  router.patch('/agents/:name', async (req, res) => {
    const body = parse(agentPatchBody, req.body, 'body');
    res.json({ agent: await hub.agents.update(actorOf(res), req.params.name, body) });
  });

  router.delete('/agents/:name', async (req, res) => {
    requireAdmin(actorOf(res));
    await hub.agents.remove(req.params.name);
    res.status(204).end();
  });

  router.post('/agents/:name/token', async (req, res) => {
    requireAdmin(actorOf(res));
    parse(emptyBody, req.body, 'body');
    res.json({ token: await hub.agents.rotateToken(req.params.name) });
  });

  return router;
}
