import { Router, type RequestHandler } from 'express';
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
  taskReportsBody,
} from '../schemas.js';
import { errorAnswer } from '../errors.js';
import { parse } from '../validate.js';
import { runTaskReports } from '../../hub/task-reports.js';

export function taskRoutes(hub: Hub): Router {
  const router = Router();
  const { tasks } = hub;

  router.post('/tasks', async (req, res) => {
    const body = parse(taskCreateBody, req.body, 'body');
    const { task, created } = await tasks.create(actorOf(res), body);
    res.status(created ? 201 : 200).json({ task });
  });

  router.get('/tasks', async (req, res) => {
    res.json(await tasks.list(actorOf(res), parse(taskListQuery, req.query, 'query')));
  });

  // Registered before `/tasks/:id` so that "pending" is never taken for an id.
  router.get('/tasks/pending', async (req, res) => {
    const actor = actorOf(res);
    requireAgent(actor);
    const { limit } = parse(pendingQuery, req.query, 'query');
    res.json({ tasks: await tasks.pending(actor, limit) });
  });

  router.get('/tasks/:id', async (req, res) => {
    res.json({ task: await tasks.get(actorOf(res), req.params.id) });
  });

  router.get('/tasks/:id/events', async (req, res) => {
    const query = parse(taskEventsQuery, req.query, 'query');
    const page = await tasks.events(actorOf(res), req.params.id, query);
    // Each event's data is already JSON: spliced in rather than parsed and serialised again.
    const events = page.events.map((e) => `{"id":${e.id},"type":${JSON.stringify(e.type)},"at":"${new Date(e.at).toISOString()}"${e.data.length > 2 ? `,${e.data.slice(1)}` : '}'}`);
    res.type('application/json').send(`{"events":[${events.join(',')}],"nextCursor":${JSON.stringify(page.nextCursor)}}`);
  });

  router.post('/tasks/:id/claim', async (req, res) => {
    const body = parse(claimBody, req.body, 'body');
    res.json({ task: await tasks.claim(actorOf(res), req.params.id, body.leaseSeconds) });
  });

  router.post('/tasks/:id/progress', async (req, res) => {
    const body = parse(progressBody, req.body, 'body');
    res.json({ task: await tasks.progress(actorOf(res), req.params.id, body) });
  });

  router.post('/tasks/:id/complete', async (req, res) => {
    const body = parse(completeBody, req.body, 'body');
    res.json({ task: await tasks.complete(actorOf(res), req.params.id, body.result) });
  });

  router.post('/tasks/:id/fail', async (req, res) => {
    const body = parse(failBody, req.body, 'body');
    res.json({ task: await tasks.fail(actorOf(res), req.params.id, body.error, body.retry) });
  });

  router.post('/tasks/:id/cancel', async (req, res) => {
    parse(emptyBody, req.body, 'body');
    res.json({ task: await tasks.cancel(actorOf(res), req.params.id) });
  });

  return router;
}

/**
 * `POST /api/tasks/reports`: several claims, progress reports, completions and failures in one request, each
 * answered as its own endpoint would answer it (docs/http.md, "Reports"). The app mounts it in front of the `/api`
 * routers (app.ts, "hot routes"), not in `taskRoutes`.
 */
export function taskReportsRoute(hub: Hub): RequestHandler {
  return async (req, res) => {
    const { reports } = parse(taskReportsBody, req.body, 'body');
    const outcomes = await runTaskReports(hub.tasks, actorOf(res), reports);
    const results = outcomes.map((o) => {
      if ('task' in o) return { status: 200, task: o.task };
      const { status, body } = errorAnswer(o.error);
      return { status, ...body };
    });
    res.json({ results });
  };
}
