import { Router } from 'express';
import type { Hub } from '../../hub/index.js';
import { actorOf, requireAdmin } from '../auth.js';
import { agentCreateBody, agentListQuery, agentPatchBody, emptyBody } from '../schemas.js';
import { parse } from '../validate.js';

export function agentRoutes(hub: Hub): Router {
  const router = Router();

  router.post('/agents', (req, res) => {
    const actor = actorOf(res);
    requireAdmin(actor);
    const body = parse(agentCreateBody, req.body, 'body');
    res.status(201).json(hub.agents.create(actor, body));
  });

  router.get('/agents', (req, res) => {
    const query = parse(agentListQuery, req.query, 'query');
    res.json({ agents: hub.agents.list(actorOf(res), query.capability) });
  });

  router.get('/agents/:name', (req, res) => {
    res.json({ agent: hub.agents.get(actorOf(res), req.params.name) });
  });

  router.patch('/agents/:name', (req, res) => {
    const body = parse(agentPatchBody, req.body, 'body');
    res.json({ agent: hub.agents.update(actorOf(res), req.params.name, body) });
  });

  router.delete('/agents/:name', (req, res) => {
    requireAdmin(actorOf(res));
    hub.agents.remove(req.params.name);
    res.status(204).end();
  });

  router.post('/agents/:name/token', (req, res) => {
    requireAdmin(actorOf(res));
    parse(emptyBody, req.body, 'body');
    res.json({ token: hub.agents.rotateToken(req.params.name) });
  });

  return router;
}
