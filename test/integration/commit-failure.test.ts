import { afterEach, beforeEach, expect, it } from 'vitest';
import { addAgent, as, type Client } from '../helpers/api.js';
import { dbOf, startTestHub, type TestHub } from '../helpers/hub.js';
import { openStream, type TestStream } from '../helpers/stream.js';

// A group commit that fails, on a real hub: every answer waits for the commit, so a change that could not be
// saved is never acknowledged, and no stream hears of it.
let hub: TestHub;
let boss: Client;
let worker: TestStream;
beforeEach(async () => {
  hub = await startTestHub();
  boss = await addAgent(hub, 'boss');
  const w = await addAgent(hub, 'worker');
  worker = openStream(hub.url, w.token);
  await worker.waitFor((events) => events.some((e) => e.type === 'ready'));
});
afterEach(async () => {
  worker.close();
  await hub.stop();
});

/** From now on every COMMIT that contains a new task fails (a deferred foreign key, checked at COMMIT). */
function failCommitsWithTasks() {
  const db = dbOf(hub);
  db.exec(`CREATE TABLE doomed (ref TEXT REFERENCES agents (name) DEFERRABLE INITIALLY DEFERRED) STRICT;
    CREATE TRIGGER doom AFTER INSERT ON tasks BEGIN INSERT INTO doomed (ref) VALUES ('nobody'); END;`);
  return () => db.exec('DROP TRIGGER doom; DELETE FROM doomed;');
}

it('answers 500 internal_error for every change of a batch whose commit failed, and keeps none of them', async () => {
  const heal = failCommitsWithTasks();
  const admin = as(hub, hub.adminToken);
  // Sent together, so that the agent's creation rides in the same batch as the doomed task.
  const [task, agent] = await Promise.all([
    boss.post('/api/tasks', { target: 'worker', task: 'never saved' }),
    admin.post('/api/agents', { name: 'bystander' }),
  ]);
  expect(task.status).toBe(500);
  expect(task.body.error.code).toBe('internal_error');
  expect((await boss.get('/api/tasks')).body.tasks).toEqual([]);
  // Whether the bystander shared the batch depends on timing; if it did, it failed with it and was not kept.
  const kept = (await admin.get('/api/agents/bystander')).status === 200;
  expect(kept).toBe(agent.status === 201);

  heal();
  const saved = await boss.post('/api/tasks', { target: 'worker', task: 'saved' });
  expect(saved.status).toBe(201);
  await worker.waitFor((events) => events.some((e) => e.type === 'task.assigned'));
  // The only task the stream hears of is the saved one: the failed one was never published.
  expect(worker.events().map((e) => e.data.task?.task)).toEqual(['saved']);
});
