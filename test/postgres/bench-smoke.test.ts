import { expect, it } from 'vitest';
import { HUB_ENV } from '../../scripts/bench/harness.js';
import { measurePostgres } from '../../scripts/bench/postgres.js';
import { SMOKE } from '../../scripts/bench/sizes.js';
import { postgresUrl } from '../helpers/postgres-db.js';

// The bench's PostgreSQL part at tiny sizes, on the test run's cluster, so that it cannot rot (the SQLite smoke
// run in test/integration/bench-smoke.test.ts leaves it out to stay short). Correctness only, never speed.
it('runs the PostgreSQL measurements end to end: one hub, then two hubs on one database', async () => {
  const results = await measurePostgres({ sizes: SMOKE, url: postgresUrl(), hubEnv: HUB_ENV, log: () => {} });
  expect(results.skipped).toBeUndefined();
  expect(results.serverVersion).toMatch(/^\d+/);
  expect(results.rpcRoundtrip!.count).toBe(SMOKE.roundtripCalls);
  expect(results.rpcThroughput!.errors).toBe(0);
  expect(results.rpcThroughput!.count).toBeGreaterThan(0);
  const assign = results.assign!;
  expect(assign.created).toBeGreaterThan(0);
  expect({ errors: assign.errors, missing: assign.missing, duplicates: assign.duplicates }).toEqual({
    errors: 0,
    missing: 0,
    duplicates: 0,
  });
  expect(results.crossHubRoundtrip!.count).toBe(SMOKE.roundtripCalls);
}, 180_000);
