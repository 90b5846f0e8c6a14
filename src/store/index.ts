import { createAgentStore } from './agents.js';
import { createDevMailboxStore } from './dev-mailbox.js';
import { openDatabase, type Db } from './db.js';
import { createEventStore } from './events.js';
import { createMessageStore } from './messages.js';
import { createOutboxStore } from './outbox.js';
import { createTaskStore } from './tasks.js';

export type Store = ReturnType<typeof createStore>;

/**
 * The SQLite store. Each operation is atomic on its own; `transaction` composes several into one, so a state
 * change and the events (and outbox rows) it produces commit together or not at all.
 */
export function createStore(file: string) {
  const db: Db = openDatabase(file);
  let closed = false;
  return {
    db,
    agents: createAgentStore(db),
    tasks: createTaskStore(db),
    events: createEventStore(db),
    messages: createMessageStore(db),
    outbox: createOutboxStore(db),
    devMailbox: createDevMailboxStore(db),
    /** Runs `fn` in one IMMEDIATE transaction (nested calls become savepoints). */
    transaction<T>(fn: () => T): T {
      return db.transaction(fn).immediate();
    },
    close(): void {
      if (closed) return;
      closed = true;
      db.close();
    },
  };
}
