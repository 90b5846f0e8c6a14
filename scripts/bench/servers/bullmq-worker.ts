/**
 * The BullMQ baseline's worker process: one `Worker` with `BULLMQ_CONCURRENCY` (default 8) slots on queue
 * `BULLMQ_QUEUE`, Redis at 127.0.0.1:`REDIS_PORT`, whose processor answers each job with its own data (the echo
 * agent's counterpart). Tells its parent `ready` over IPC once the worker is connected; SIGTERM closes it.
 */
import { Worker } from 'bullmq';

const connection = { host: '127.0.0.1', port: Number(process.env.REDIS_PORT), maxRetriesPerRequest: null };
const worker = new Worker(process.env.BULLMQ_QUEUE!, async (job) => job.data, {
  connection,
  concurrency: Number(process.env.BULLMQ_CONCURRENCY ?? 8),
});
worker.on('error', (error) => process.stderr.write(`bullmq worker: ${String(error)}\n`));
await worker.waitUntilReady();
process.send!('ready');
process.once('SIGTERM', () => {
  worker.close().then(
    () => process.exit(0),
    () => process.exit(1),
  );
});
