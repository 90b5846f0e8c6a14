/**
 * A load generator process: `node --import tsx scripts/bench/load/main.ts '<job JSON>'` runs one job
 * (`{scenario, params}`), reports `{ok, value}` or `{ok: false, error}` to its parent over IPC and exits.
 */
import { email } from './email.js';
import { a2aRoundtrip, floor, floorThroughput, rpcRoundtrip } from './roundtrip.js';
import { streams } from './streams.js';
import { assignThroughput } from './assign.js';
import { rpcThroughput } from './throughput.js';
import { webhooks } from './webhooks.js';

const SCENARIOS: Record<string, (params: any) => Promise<unknown>> = {
  floor,
  floorThroughput,
  rpcRoundtrip,
  a2aRoundtrip,
  rpcThroughput,
  assignThroughput,
  streams,
  email,
  webhooks,
};

async function main(): Promise<void> {
  const job = JSON.parse(process.argv[2] ?? '{}') as { scenario: string; params: object };
  const run = SCENARIOS[job.scenario];
  if (!run) throw new Error(`unknown scenario ${job.scenario}`);
  const value = await run(job.params);
  process.send!({ ok: true, value }, () => process.exit(0));
}

main().catch((error: unknown) => {
  process.send!({ ok: false, error: error instanceof Error ? (error.stack ?? error.message) : String(error) }, () =>
    process.exit(1),
  );
});
