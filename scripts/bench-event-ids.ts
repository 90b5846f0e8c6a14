/**
 * What gapless event ids cost on PostgreSQL: N concurrent writers, each committing transactions shaped like a task
 * creation (a task row, then its event for two agents), for a fixed time each. Three ways:
 * - `store`: the PostgreSQL store as the hub runs it (group commit: concurrent transactions share one COMMIT and one
 *   hold of the events advisory lock, see src/store/postgres/group-commit.ts);
 * - `lock`: the same statements in raw SQL, the lock taken with BEGIN (as the store does before a first write);
 * - `sequence`: the same without the lock: a plain sequence, NOT gapless (ids commit out of order), the baseline.
 * Reports events/s and commit latency (the whole transaction, BEGIN to COMMIT) p50/p99 per writer count.
 * Run: `npx tsx scripts/bench-event-ids.ts` (starts a throwaway cluster; or set TASKHUB_DATABASE_URL to an empty
 * database of your own). Options: `--seconds 3 --writers 1,4,16`.
 */
import { randomUUID } from 'node:crypto';
import { parseArgs } from 'node:util';
import pg from 'pg';
import { EVENTS_LOCK } from '../src/store/postgres/locks.js';
import { openPostgresStore, type PostgresStore } from '../src/store/postgres/index.js';
import { findPostgresBinDir, startPostgresCluster, type PostgresCluster } from './postgres-cluster.js';

const { values } = parseArgs({ options: { seconds: { type: 'string', default: '3' }, writers: { type: 'string', default: '1,2,4,8,16' } } });
const SECONDS = Number(values.seconds);
const WRITER_COUNTS = values.writers!.split(',').map(Number);

const TASK = `INSERT INTO tasks (id, kind, task, priority, status, assigner, target, created_at, updated_at)
  VALUES ($1, 'task', 'bench', 1, 'assigned', 'caller', 'worker', $2, $2) RETURNING seq`;
// `sequence` bypasses next_event_id() (the column default that takes the lock) and draws from the sequence directly.
const event = (id: string) => `WITH e AS (INSERT INTO events (id, type, at, task_id, task_seq, data)
  VALUES (${id}, 'task.assigned', $1, $2, $3, '{}') RETURNING id),
  r AS (INSERT INTO event_recipients (agent, event_id) SELECT unnest($4::text[]), e.id FROM e) SELECT id FROM e`;

type Once = () => Promise<void>;

function rawWriter(pool: pg.Pool, withLock: boolean): Once {
  return async () => {
    const client = await pool.connect();
    try {
      // As the store does: BEGIN and the lock in one round trip before the first write.
      await client.query(withLock ? `BEGIN; SELECT pg_advisory_xact_lock(${EVENTS_LOCK})` : 'BEGIN');
      const id = randomUUID();
      const now = Date.now();
      const task = await client.query({ name: 'task', text: TASK, values: [id, now] });
      const text = event(withLock ? 'next_event_id()' : "nextval('events_id_seq')");
      await client.query({ name: withLock ? 'lock' : 'plain', text, values: [now, id, task.rows[0].seq, ['caller', 'worker']] });
      await client.query('COMMIT');
    } finally {
      client.release();
    }
  };
}

function storeWriter(store: PostgresStore): Once {
  return () =>
    store.transaction(async (tx) => {
      const now = Date.now();
      const task = await tx.tasks.insert({
        id: randomUUID(), kind: 'task', task: 'bench', payload: null, capability: null, priority: 1,
        assigner: 'caller', target: 'worker', deadline: null, idempotencyKey: null, createdAt: now,
      });
      await tx.events.append({ type: 'task.assigned', at: now, taskId: task.id, taskSeq: task.seq, recipients: ['caller', 'worker'], data: '{}' });
    });
}

async function measure(writers: number, once: Once) {
  const latencies: number[] = [];
  const end = performance.now() + SECONDS * 1000;
  await Promise.all(
    Array.from({ length: writers }, async () => {
      while (performance.now() < end) {
        const start = performance.now();
        await once();
        latencies.push(performance.now() - start);
      }
    }),
  );
  latencies.sort((a, b) => a - b);
  const at = (q: number) => latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))]!.toFixed(2);
  return { eventsPerSecond: Math.round(latencies.length / SECONDS), p50: at(0.5), p99: at(0.99) };
}

async function main() {
  let cluster: PostgresCluster | undefined;
  let url = process.env.TASKHUB_DATABASE_URL;
  if (!url) {
    const binDir = findPostgresBinDir();
    if (!binDir) throw new Error('no PostgreSQL binaries found; set TASKHUB_DATABASE_URL');
    cluster = await startPostgresCluster(binDir);
    url = cluster.url;
  }
  const max = Math.max(...WRITER_COUNTS);
  const store = await openPostgresStore(url, { max });
  const pool = new pg.Pool({ connectionString: url, max });
  pool.on('error', () => {}); // idle clients ended by the cluster's shutdown
  try {
    console.log(`${SECONDS} s per row; each transaction: a task row + one event for two agents, synchronous_commit on`);
    console.log('mode      writers  events/s  commit p50 ms  commit p99 ms');
    for (const writers of WRITER_COUNTS) {
      for (const [mode, once] of [['store', storeWriter(store)], ['lock', rawWriter(pool, true)], ['sequence', rawWriter(pool, false)]] as const) {
        const r = await measure(writers, once);
        console.log(`${mode.padEnd(9)} ${String(writers).padStart(7)}  ${String(r.eventsPerSecond).padStart(8)}  ${r.p50.padStart(13)}  ${r.p99.padStart(13)}`);
      }
    }
  } finally {
    await pool.end();
    await store.close();
    await cluster?.stop();
  }
}

await main();
