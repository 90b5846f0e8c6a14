import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';
import type { Db } from './db.js';
import type { CommitGate } from './group-commit.js';

/** How often the checkpointer copies committed pages from the WAL into the database file, ms. */
export const CHECKPOINT_INTERVAL_MS = 100;
/**
 * WAL frames (pages) at which the WAL starts over from its beginning: SQLite's own auto-checkpoint size, so the
 * WAL file stays about 4 MiB as before.
 */
export const WAL_RESTART_FRAMES = 1000;
/** How long close() waits for the checkpointer to finish the checkpoint it is in, ms, before it stops the thread. */
const STOP_WAIT_MS = 5000;

export interface CheckpointerOptions {
  /** True while the writer has a batch open (a RESTART now would find the write lock taken). */
  isWriting: () => boolean;
  /** Told when the checkpointer failed; the writer connection checkpoints itself again from then on. */
  onFailure: (error: Error) => void;
}

export interface Checkpointer {
  /** For the group commit: holds new batches back while the WAL starts over. */
  readonly gate: CommitGate;
  /** Stops the thread (after the checkpoint it is in) and hands checkpoints back to the writer connection. */
  close(): Promise<void>;
}

interface WorkerMessage {
  full?: number;
  restarted?: boolean;
  failed?: { message: string; code?: string };
}

/**
 * Moves the WAL's checkpoints off the event loop. With SQLite's auto-checkpoint the commit that fills the WAL
 * past 1,000 pages copies them into the database file and syncs both files before it returns: under the bench's
 * 64 rpc callers about one commit in thirteen, 7 ms each on average, a tenth of the hub's time with its event loop
 * blocked. Here the writer `db` never checkpoints; a worker thread with a connection of its own does
 * (checkpointer.cjs), beside it, and the writer only holds its next batch back (through `gate`, the event loop
 * running on) for the RESTART that lets the WAL start over. A checkpoint copies only what the WAL already holds
 * durably: what a crash keeps is unchanged.
 */
export function startCheckpointer(db: Db, file: string, options: CheckpointerOptions): Checkpointer {
  const worker = new Worker(new URL('./checkpointer.cjs', import.meta.url), {
    workerData: {
      file,
      betterSqlite3: createRequire(import.meta.url).resolve('better-sqlite3'),
      intervalMs: CHECKPOINT_INTERVAL_MS,
      restartFrames: WAL_RESTART_FRAMES,
    },
  });
  db.pragma('wal_autocheckpoint = 0');
  let stopping = false;
  let failed = false;
  let restartWanted = false;
  /** Set while the RESTART runs: new batches wait for it. */
  let restarting: { done: Promise<void>; open: () => void } | undefined;
  const exited = new Promise<void>((resolve) => worker.once('exit', () => resolve()));

  const openGate = () => {
    restarting?.open();
    restarting = undefined;
  };
  const beginRestart = () => {
    restartWanted = false;
    let open = () => {};
    const done = new Promise<void>((resolve) => (open = resolve));
    restarting = { done, open };
    worker.postMessage('restart');
  };
  /** The writer takes its checkpoints back, so that the WAL never grows without bound. */
  const handBack = () => {
    if (db.open) db.pragma(`wal_autocheckpoint = ${WAL_RESTART_FRAMES}`);
  };
  const fail = (error: Error) => {
    if (failed || stopping) return;
    failed = true;
    restartWanted = false;
    openGate();
    handBack();
    options.onFailure(error);
  };

  worker.on('message', (message: WorkerMessage) => {
    if (message.failed) {
      fail(Object.assign(new Error(`checkpointer: ${message.failed.message}`), { code: message.failed.code }));
    } else if (message.full !== undefined && !stopping && !failed) {
      restartWanted = true;
      if (!options.isWriting()) beginRestart();
    } else if (message.restarted !== undefined) {
      openGate();
    }
  });
  worker.on('error', fail);
  worker.on('exit', (code) => fail(new Error(`checkpointer: the thread exited (code ${code})`)));

  return {
    gate: {
      closed: () => restarting?.done,
      committed: () => {
        if (restartWanted) beginRestart();
      },
    },
    async close() {
      if (!stopping) {
        stopping = true;
        restartWanted = false;
        worker.postMessage('stop');
      }
      const timer = setTimeout(() => void worker.terminate(), STOP_WAIT_MS);
      await exited;
      clearTimeout(timer);
      openGate();
      handBack();
    },
  };
}
