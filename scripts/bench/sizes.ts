/** How big each measurement is. `FULL` is what the issue asks for; `SMOKE` only proves the harness works. */
export interface BenchSizes {
  /** Sequential calls of the floor and the RPC round trip, after `warmupCalls`. */
  roundtripCalls: number;
  /**
   * Calls before the measured ones, for every sequential loop alike (taskhub's, BullMQ's, the floor's). Long
   * enough for the hub's JIT to settle: its CPU per sequential rpc fell from 1.7 ms over the first 500 calls to
   * 0.8 ms from about the 2,000th on (docs/performance.md, "Sequential round trips").
   */
  warmupCalls: number;
  rpcCallers: number;
  /**
   * Echo agents of the rpc runs that have more than one (the main run has one, as BullMQ has one worker process),
   * and the concurrency of BullMQ's worker.
   */
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
  warmupCalls: 2000,
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
