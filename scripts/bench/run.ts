/**
 * `npm run bench`: measures taskhub on this machine and writes `bench/results.json` and `bench/results.md`.
 *
 *   npm run bench [-- --only roundtrip,streams,postgres] [--smoke] [--postgres] [--postgres-url URL]
 *                    [--out DIR] [--cpu-prof-dir DIR]
 *
 * `--smoke` runs every measurement at tiny sizes (seconds, not minutes), leaving the PostgreSQL part out unless
 * `--postgres` (or `--only postgres`) asks for it; `--postgres-url` runs that part on a server of your own (its
 * maintenance database, where the bench creates and drops its databases) instead of a throwaway cluster;
 * `--cpu-prof-dir` puts every hub under `node --cpu-prof` and leaves its `.cpuprofile` there.
 *
 * Only a full run (none of `--only`, `--smoke`, `--cpu-prof-dir`) writes to `bench/` by default: the results kept
 * in the repository are always a whole run of every measurement. A partial run writes to `bench/partial/`, which
 * git ignores, unless `--out` says otherwise.
 */
import path from 'node:path';
import { parseArgs } from 'node:util';
import { runBench, SCENARIOS, type Scenario } from './harness.js';
import { REPO_ROOT } from './processes.js';
import { renderMarkdown, writeResults } from './report.js';
import { FULL, SMOKE } from './sizes.js';

const { values } = parseArgs({
  options: {
    only: { type: 'string' },
    smoke: { type: 'boolean', default: false },
    postgres: { type: 'boolean', default: false },
    'postgres-url': { type: 'string' },
    out: { type: 'string' },
    'cpu-prof-dir': { type: 'string' },
  },
});

const only = values.only?.split(',').map((name) => {
  if (!SCENARIOS.includes(name as Scenario)) throw new Error(`--only: unknown measurement ${name} (${SCENARIOS.join(', ')})`);
  return name as Scenario;
});
const profileDir = values['cpu-prof-dir'];

const results = await runBench({
  sizes: values.smoke ? SMOKE : FULL,
  only,
  postgres: values['postgres-url'] ? { url: values['postgres-url'] } : !values.smoke || values.postgres,
  hubNodeArgs: profileDir ? ['--cpu-prof', `--cpu-prof-dir=${path.resolve(profileDir)}`] : [],
  log: (line) => process.stdout.write(`[bench] ${line}\n`),
});
const partial = only !== undefined || values.smoke || profileDir !== undefined;
const written = writeResults(values.out ?? path.join(REPO_ROOT, partial ? 'bench/partial' : 'bench'), results);
process.stdout.write(`\n${renderMarkdown(results)}\nwrote ${written.json} and ${written.md}\n`);
