import type { Store, StoreTables, StoreTx } from '../store.js';
import { createAgentTable } from './agents.js';
import { startCheckpointer } from './checkpoints.js';
import { openDatabase, openReader, type Db } from './db.js';
import { createDevMailboxTable } from './dev-mailbox.js';
import { createEventTable } from './events.js';
import { createGroupCommit, type CommitErrorListener } from './group-commit.js';
import { createMessageTable } from './messages.js';
import { createOutboxTable } from './outbox.js';
import { createPresenceTable } from './presence.js';
import { createRateLimitTable } from './rate-limits.js';
import { bindTx, promisify, settle, txPrototype, type SyncTable, type TxState } from './sync.js';
import { createTaskTable } from './tasks.js';
import { createTokenVersionCache } from './token-versions.js';
import { createWebhookTable } from './webhooks.js';

export { CommitFailedError } from './group-commit.js';

export interface SqliteStoreOptions {
  /** Told when a group commit fails (its transactions reject as well). Default: ignored. */
  onCommitError?: CommitErrorListener;
  /**
   * Told when the checkpointer thread failed (checkpoints.ts); the writer connection checkpoints itself again
   * from then on, as SQLite does by default. Default: ignored.
   */
  onCheckpointerFailure?: (error: Error) => void;
}

/** The SQLite store, plus its connection for tests of the SQLite store itself (nothing else may use it). */
export type SqliteStore = Store & { readonly db: Db };

type TableName = keyof StoreTables;

const closedError = () => new Error('store: the store is closed');

type SyncTables = { [K in TableName]: SyncTable<StoreTables[K]> };

const tablesOn = (db: Db, tokens?: Parameters<typeof createAgentTable>[1]): SyncTables => ({
  agents: createAgentTable(db, tokens),
  tasks: createTaskTable(db),
  events: createEventTable(db),
  messages: createMessageTable(db),
  outbox: createOutboxTable(db),
  webhooks: createWebhookTable(db),
  devMailbox: createDevMailboxTable(db),
  presence: createPresenceTable(db),
  rateLimits: createRateLimitTable(db),
});

/**
 * The Store on one SQLite file (WAL, synchronous NORMAL), with group commit: every transaction is a change of
 * the batch of its event-loop turn, and all of them resolve after that batch's one COMMIT (group-commit.ts).
 * A table operation called on the store runs as a transaction of its own when it writes; a read sees committed
 * data only, at once: on the writer while no batch is open, else on a second, read-only connection (WAL lets it
 * read during the batch, which it does not see).
 */
export function createSqliteStore(file: string, options: SqliteStoreOptions = {}): SqliteStore {
  const db = openDatabase(file);
  const reader = openReader(file);
  const tokens = createTokenVersionCache(db);
  const sync = tablesOn(db, tokens);
  const committed = tablesOn(reader);
  // Started last: nothing after it can fail, so a start that fails leaves no thread behind.
  const checkpointer = startCheckpointer(db, file, {
    isWriting: () => group.isOpen(),
    onFailure: options.onCheckpointerFailure ?? (() => {}),
  });
  const group = createGroupCommit(db, options.onCommitError, checkpointer.gate);
  const protos: StoreTables = {
    agents: txPrototype(sync.agents.ops),
    tasks: txPrototype(sync.tasks.ops),
    events: txPrototype(sync.events.ops),
    messages: txPrototype(sync.messages.ops),
    outbox: txPrototype(sync.outbox.ops),
    webhooks: txPrototype(sync.webhooks.ops),
    devMailbox: txPrototype(sync.devMailbox.ops),
    presence: txPrototype(sync.presence.ops),
    rateLimits: txPrototype(sync.rateLimits.ops),
  };
  let closed = false;
  let closing: Promise<void> | undefined;

  const transaction = <T>(fn: (tx: StoreTx) => Promise<T>): Promise<T> => {
    if (closed) return Promise.reject(closedError());
    return group.transaction(async () => {
      const state: TxState = { live: true };
      const tx = {
        agents: bindTx(protos.agents, state),
        tasks: bindTx(protos.tasks, state),
        events: bindTx(protos.events, state),
        messages: bindTx(protos.messages, state),
        outbox: bindTx(protos.outbox, state),
        webhooks: bindTx(protos.webhooks, state),
        devMailbox: bindTx(protos.devMailbox, state),
        presence: bindTx(protos.presence, state),
        rateLimits: bindTx(protos.rateLimits, state),
      };
      try {
        return await fn(tx);
      } finally {
        state.live = false;
      }
    });
  };

  /**
   * A table on its own: each write a transaction of its own; a read on the writer while no batch is open (its
   * page cache is the warm one), else on the reader connection, which does not see the open batch.
   */
  const standalone = <K extends TableName>(name: K): StoreTables[K] => {
    const writing = new Set<PropertyKey>(sync[name].writes);
    const reads = committed[name].ops as Record<PropertyKey, (...args: unknown[]) => unknown>;
    return promisify(sync[name].ops, (op, call, args) => {
      if (closed) return Promise.reject(closedError());
      if (writing.has(op)) return transaction(async () => call());
      return group.isOpen() ? settle(() => reads[op]!(...args)) : settle(call);
    });
  };

  const agents = standalone('agents');
  // Every request with an agent token asks this; the copy answers most of them (token-versions.ts).
  agents.tokenVersion = (name) => {
    if (closed) return Promise.reject(closedError());
    const batchOpen = group.isOpen();
    const load = batchOpen ? () => committed.agents.ops.tokenVersion(name) : () => sync.agents.ops.tokenVersion(name);
    return settle(() => tokens.read(name, load, !batchOpen));
  };

  const store = {
    db,
    agents,
    tasks: standalone('tasks'),
    events: standalone('events'),
    messages: standalone('messages'),
    outbox: standalone('outbox'),
    webhooks: standalone('webhooks'),
    devMailbox: standalone('devMailbox'),
    presence: standalone('presence'),
    rateLimits: standalone('rateLimits'),
    transaction,
    close(): Promise<void> {
      return (closing ??= (async () => {
        closed = true;
        await group.flush();
        await checkpointer.close();
        reader.close();
        db.close();
      })());
    },
  } satisfies SqliteStore;
  return store;
}
