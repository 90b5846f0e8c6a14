// The throwaway cluster lives under scripts/ so that the benchmarks can start one without importing from test/.
export * from '../../scripts/postgres-cluster.js';
