/**
 * RPC throughput under concurrency: callers waiting on agents that complete each task at once.
 */
import { summarize, type Latency } from '../stats.js';
import { createJsonClient } from './http.js';
import { createRpcBatcher } from './rpc-batcher.js';
import { startEchoWorker } from './roundtrip.js';
import { createAgents, names, timedLoops } from './setup.js';

export interface ThroughputParams {
  url: string;
  adminToken: string;
  /** Concurrent callers or creators. */
  clients: number;
  /** Agents answering or listening. */
  agents: number;
  durationMs: number;
  warmupMs: number;
  /** The hub's pid, whose CPU time is read from /proc. */
  pid?: number;
}

export interface RpcThroughputParams extends ThroughputParams {
  /**
   * `one client` (default): one caller token shared by every loop, its calls of one event-loop turn sent together
   * as the SDK's client sends them (rpc-batcher.ts), as BullMQ's callers share one queue. `a token each`: a caller
   * agent per loop, each call its own `POST /api/tasks/rpc`, the measurement of before 2026-12-06.
   */
  callers?: 'one client' | 'a token each';
}

/** CPU the hub and the load generator used in the measured window, per operation (µs) and as cores busy. */
export interface CpuUse {
  hubCpuUsPerOp: number | null;
  hubCores: number | null;
  loadCores: number;
}

export function cpuUse(ops: number, durationMs: number, window: { serverCpuMs: number | null; loadCpuMs: number }): CpuUse {
  const round2 = (n: number) => Math.round(n * 100) / 100;
  return {
    hubCpuUsPerOp: window.serverCpuMs === null || ops === 0 ? null : Math.round((window.serverCpuMs * 1000) / ops),
    hubCores: window.serverCpuMs === null ? null : round2(window.serverCpuMs / durationMs),
    loadCores: round2(window.loadCpuMs / durationMs),
  };
}

export interface RpcThroughput extends Latency {
  /** Echo agents that answered. */
  agents: number;
  callsPerS: number;
  errors: number;
  cpu: CpuUse;
  /** Calls per request of the caller's client, warm-up included (only with one client). */
  callsPerRequest?: number;
}

export async function rpcThroughput(p: RpcThroughputParams): Promise<RpcThroughput> {
  const client = createJsonClient(p.url, p.clients);
  const shared = (p.callers ?? 'one client') === 'one client';
  const callers = await createAgents(client, p.adminToken, names('caller', shared ? 1 : p.clients));
  const workers = await createAgents(client, p.adminToken, names('worker', p.agents), { capabilities: ['echo'] });
  const running = [...workers.values()].map((token) => startEchoWorker(p.url, token, createJsonClient(p.url, 8)));
  const samples: number[] = [];
  let errors = 0;
  let window = { serverCpuMs: null as number | null, loadCpuMs: 0 };
  let requests: { requests: number; calls: number } | undefined;
  try {
    await Promise.all(running.map((w) => w.opened));
    const tokens = [...callers.values()];
    const batcher = shared ? createRpcBatcher(client, tokens[0]!) : undefined;
    window = await timedLoops(p.clients, p.warmupMs, p.durationMs, async (w, inWindow, stop) => {
      for (let i = 0; !stop(); i++) {
        const started = performance.now();
        const body = { capability: 'echo', task: 'echo', payload: { w, i } };
        const answer = batcher ? await batcher.call(body) : await client.post('/api/tasks/rpc', tokens[w], body);
        const ended = performance.now();
        const ok = answer.status === 200 && answer.body.status === 'completed' && answer.body.result?.w === w && answer.body.result?.i === i;
        if (!ok) errors += 1;
        else if (inWindow(started, ended)) samples.push(ended - started);
      }
    }, p.pid);
    requests = batcher?.counts();
  } finally {
    for (const w of running) w.close();
    client.close();
  }
  return {
    ...summarize(samples),
    agents: p.agents,
    callsPerS: Math.round(samples.length / (p.durationMs / 1000)),
    errors,
    cpu: cpuUse(samples.length, p.durationMs, window),
    ...(requests && { callsPerRequest: Math.round((requests.calls / requests.requests) * 10) / 10 }),
  };
}
