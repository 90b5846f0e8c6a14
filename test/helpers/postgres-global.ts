import type { TestProject } from 'vitest/node';
import { findPostgresBinDir, startPostgresCluster } from './postgres-cluster.js';

declare module 'vitest' {
  export interface ProvidedContext {
    /** The throwaway cluster's maintenance database URL; '' when this run has no PostgreSQL. */
    postgresUrl: string;
  }
}

/**
 * vitest globalSetup: starts ONE throwaway PostgreSQL cluster for the whole run and hands its URL to every test
 * file (`inject('postgresUrl')`); the returned teardown removes it, whether the tests passed or not. vitest.config.ts
 * includes this file only when PostgreSQL tests are to run, so a missing PostgreSQL here is a failure.
 */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const binDir = findPostgresBinDir();
  if (!binDir) {
    throw new Error('PostgreSQL tests must run (CI=true) but no initdb/postgres was found: apt-get install -y postgresql');
  }
  const cluster = await startPostgresCluster(binDir);
  project.provide('postgresUrl', cluster.url);
  // A run interrupted with Ctrl-C still removes the cluster.
  const onSignal = () => void cluster.stop().finally(() => process.exit(130));
  process.once('SIGINT', onSignal);
  return async () => {
    process.off('SIGINT', onSignal);
    await cluster.stop();
  };
}
