import { Router } from 'express';
import type { Hub } from '../../hub/index.js';
import { actorOf, requireAgent } from '../auth.js';
import {
  claimBody,
  completeBody,
  emptyBody,
  failBody,
  pendingQuery,
  progressBody,
  taskCreateBody,
  taskEventsQuery,
  taskListQuery,
} from '../schemas.js';
import { parse } from '../validate.js';

export function taskRoutes(hub: Hub): Router {
  const router = Router();
  const { tasks } = hub;

  router.post('/tasks', (req, res) => {
    const body = parse(taskCreateBody, req.body, 'body');
    const { task, created } = tasks.create(actorOf(res), body);
    res.status(created ? 201 : 200).json({ task });
  });

  router.get('/tasks', (req, res) => {
    res.json(tasks.list(actorOf(res), parse(taskListQuery, req.query, 'query')));
  });

  // Registered before `/tasks/:id` so that "pending" is never taken for an id.
  router.get('/tasks/pending', (req, res) => {
    const actor = actorOf(res);
    requireAgent(actor);
    const { limit } = parse(pendingQuery, req.query, 'query');
    res.json({ tasks: tasks.pending(actor, limit) });
  });

  router.get('/tasks/:id', (req, res) => {
    res.json({ task: tasks.get(actorOf(res), req.params.id) });
  });

  router.get('/tasks/:id/events', (req, res) => {
    const query = parse(taskEventsQuery, req.query, 'query');
    const page = tasks.events(actorOf(res), req.params.id, query);
    // Each event's data is already JSON: spliced in rather than parsed and serialised again.
    const events = page.events.map((e) => `{"id":${e.id},"type":${JSON.stringify(e.type)},"at":"${new Date(e.at).toISOString()}"${e.data.length > 2 ? `,${e.data.slice(1)}` : '}'}`);
    res.type('application/json').send(`{"events":[${events.join(',')}],"nextCursor":${JSON.stringify(page.nextCursor)}}`);
  });

  router.post('/tasks/:id/claim', (req, res) => {
    const body = parse(claimBody, req.body, 'body');
    res.json({ task: tasks.claim(actorOf(res), req.params.id, body.leaseSeconds) });
  });

  router.post('/tasks/:id/progress', (req, res) => {
    const body = parse(progressBody, req.body, 'body');
    res.json({ task: tasks.progress(actorOf(res), req.params.id, body) });
  });

  router.post('/tasks/:id/complete', (req, res) => {
    const body = parse(completeBody, req.body, 'body');
    res.json({ task: tasks.complete(actorOf(res), req.params.id, body.result) });
  });

  router.post('/tasks/:id/fail', (req, res) => {
    const body = parse(failBody, req.body, 'body');
    res.json({ task: tasks.fail(actorOf(res), req.params.id, body.error, body.retry) });
  });

  router.post('/tasks/:id/cancel', (req, res) => {
    parse(emptyBody, req.body, 'body');
    res.json({ task: tasks.cancel(actorOf(res), req.params.id) });
  });

  return router;
}
