/** How big each measurement is. `FULL` is what the issue asks for; `SMOKE` only proves the harness works. */
export interface BenchSizes {
  /** Sequential calls of the floor and the RPC round trip, after `warmupCalls`. */
  roundtripCalls: number;
  warmupCalls: number;
  rpcCallers: number;
  rpcAgents: number;
  creators: number;
  listeners: number;
  /** Measured window of each throughput run, after `warmupMs`. */
  durationMs: number;
  warmupMs: number;
  streamAgents: number;
  streamsPerAgent: number;
  broadcasts: number;
  emailTasks: number;
}

export const FULL: BenchSizes = {
  roundtripCalls: 1000,
  warmupCalls: 200,
  rpcCallers: 64,
  rpcAgents: 8,
  creators: 32,
  listeners: 16,
  durationMs: 10_000,
  warmupMs: 1000,
  streamAgents: 1000,
  streamsPerAgent: 5,
  broadcasts: 3,
  emailTasks: 100,
};

export const SMOKE: BenchSizes = {
  roundtripCalls: 20,
  warmupCalls: 5,
  rpcCallers: 4,
  rpcAgents: 2,
  creators: 4,
  listeners: 2,
  durationMs: 1000,
  warmupMs: 200,
  streamAgents: 10,
  streamsPerAgent: 2,
  broadcasts: 1,
  emailTasks: 3,
};
