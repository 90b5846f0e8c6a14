// The SQLite store's checkpointer, run in a worker thread (checkpoints.ts starts it and talks to it). Plain
// CommonJS, so that the same file runs under tsx, vitest and from dist/ without a build step of its own.
//
// Every `intervalMs` a PASSIVE checkpoint copies committed pages from the WAL into the database file beside the
// writer (it takes no lock the writer needs). Once the WAL holds `restartFrames` frames it asks the hub for a
// moment without a writer ({ full }); when the hub answers 'restart' (it has just committed and holds new batches
// back), a RESTART checkpoint copies the little that is left and lets the next write start the WAL over from its
// beginning, and it answers { restarted }.
'use strict';
const { parentPort, workerData } = require('node:worker_threads');
const Database = require(workerData.betterSqlite3);

const db = new Database(workerData.file);
// Never wait for a lock: the hub holds new batches back for the RESTART, and another process's writer or
// checkpoint only means trying again on the next tick.
db.pragma('busy_timeout = 0');
// As the writer's: a checkpoint syncs the WAL before it copies, and the database file after.
db.pragma('synchronous = NORMAL');
const passive = db.prepare('PRAGMA wal_checkpoint(PASSIVE)');
const restart = db.prepare('PRAGMA wal_checkpoint(RESTART)');

const isBusy = (error) => String(error && error.code).startsWith('SQLITE_BUSY');
let timer;
let asked = false;

/** Runs a checkpoint; undefined when another connection's lock stood in the way. Any other error ends the thread. */
const checkpoint = (stmt) => {
  try {
    return stmt.get();
  } catch (error) {
    if (isBusy(error)) return undefined;
    parentPort.postMessage({ failed: { message: String(error && error.message), code: error && error.code } });
    stop();
    return undefined;
  }
};

const tick = () => {
  const result = checkpoint(passive);
  if (!db.open) return;
  if (result && result.log >= workerData.restartFrames && !asked) {
    asked = true;
    parentPort.postMessage({ full: result.log });
  }
  timer = setTimeout(tick, workerData.intervalMs);
};

const onMessage = (message) => {
  if (message === 'stop') return stop();
  if (message === 'restart') {
    const result = checkpoint(restart);
    if (!db.open) return;
    asked = false;
    parentPort.postMessage({ restarted: result !== undefined && result.busy === 0 });
  }
};

function stop() {
  clearTimeout(timer);
  parentPort.off('message', onMessage);
  if (db.open) db.close();
}

parentPort.on('message', onMessage);
tick();
