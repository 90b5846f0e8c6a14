import { createAgentStore } from './agents.js';
import { createCommitBatch, type CommitListener } from './commit-batch.js';
import { createDevMailboxStore } from './dev-mailbox.js';
import { openDatabase, type Db } from './db.js';
import { createEventStore } from './events.js';
import { createMessageStore } from './messages.js';
import { createOutboxStore } from './outbox.js';
import { createTaskStore } from './tasks.js';

export type Store = ReturnType<typeof createStore>;

/**
 * The SQLite store. Each operation is atomic on its own; `transaction` composes several into one, so a state
 * change and the events (and outbox rows) it produces commit together or not at all. Inside `batched`, changes
 * share a group commit at the end of the event-loop turn (see commit-batch.ts); `afterCommit` tells when.
 */
export function createStore(file: string, options: { onCommitError?: (error: unknown) => void } = {}) {
  const db: Db = openDatabase(file);
  const batch = createCommitBatch(db, options.onCommitError);
  const devMailbox = createDevMailboxStore(db);
  let closed = false;
  return {
    db,
    agents: createAgentStore(db),
    tasks: createTaskStore(db),
    events: createEventStore(db),
    messages: createMessageStore(db),
    outbox: createOutboxStore(db),
    devMailbox: {
      ...devMailbox,
      // The SMTP listener answers `250` once this returns: it must commit on its own, never ride in a batch that
      // commits later.
      add: (...args: Parameters<typeof devMailbox.add>) => batch.run(() => devMailbox.add(...args)),
    },
    /** Runs `fn` as one change: its own IMMEDIATE transaction, a savepoint when nested, or part of the batch. */
    transaction<T>(fn: () => T): T {
      return batch.run(fn);
    },
    /** Runs `fn` with group commit on for the changes it makes synchronously. */
    batched: batch.batched,
    /** True while batched changes wait for their commit. */
    pending: batch.pending,
    /** Calls `listener(committed)` once everything written so far is committed (at once when nothing waits). */
    afterCommit(listener: CommitListener): void {
      batch.afterCommit(listener);
    },
    /** Resolves once everything written so far is committed or rolled back (at once when nothing waits). */
    settled(): Promise<void> {
      return batch.pending() ? new Promise((resolve) => batch.afterCommit(() => resolve())) : Promise.resolve();
    },
    close(): void {
      if (closed) return;
      closed = true;
      batch.flush();
      db.close();
    },
  };
}
