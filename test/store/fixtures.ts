import { randomUUID } from 'node:crypto';
import type { NewEvent, NewTask, Store } from '../../src/store/store.js';

/** A task to insert: assigned by `boss` to `worker` unless told otherwise. */
export const newTask = (fields: Partial<NewTask> = {}): NewTask => ({
  id: randomUUID(),
  kind: 'task',
  task: 'do it',
  payload: { n: 1 },
  capability: null,
  priority: 1,
  assigner: 'boss',
  target: 'worker',
  deadline: null,
  idempotencyKey: null,
  createdAt: 1_000,
  ...fields,
});

/** An event for `recipients` (default `worker`). */
export const newEvent = (type: string, fields: Partial<NewEvent> = {}): NewEvent => ({
  type,
  at: 1_000,
  taskId: null,
  recipients: ['worker'],
  data: JSON.stringify({ type }),
  ...fields,
});

/** Registers agents by name. */
export async function addAgents(store: Store, ...names: string[]): Promise<void> {
  for (const name of names) {
    await store.agents.insert({ name, capabilities: [], email: null, description: null, createdAt: 1_000 });
  }
}
