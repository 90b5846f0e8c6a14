/**
 * RPC throughput under concurrency: callers waiting on agents that complete each task at once.
 */
import { summarize, type Latency } from '../stats.js';
import { createJsonClient } from './http.js';
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
  callsPerS: number;
  errors: number;
  cpu: CpuUse;
}

export async function rpcThroughput(p: ThroughputParams): Promise<RpcThroughput> {
  const client = createJsonClient(p.url, p.clients);
  const callers = await createAgents(client, p.adminToken, names('caller', p.clients));
  const workers = await createAgents(client, p.adminToken, names('worker', p.agents), { capabilities: ['echo'] });
  const running = [...workers.values()].map((token) => startEchoWorker(p.url, token, createJsonClient(p.url, 8)));
  const samples: number[] = [];
  let errors = 0;
  let window = { serverCpuMs: null as number | null, loadCpuMs: 0 };
  try {
    await Promise.all(running.map((w) => w.opened));
    const tokens = [...callers.values()];
    window = await timedLoops(p.clients, p.warmupMs, p.durationMs, async (w, inWindow, stop) => {
      for (let i = 0; !stop(); i++) {
        const started = performance.now();
        const answer = await client.post('/api/tasks/rpc', tokens[w], { capability: 'echo', task: 'echo', payload: { w, i } });
        const ended = performance.now();
        const ok = answer.status === 200 && answer.body.status === 'completed' && answer.body.result?.i === i;
        if (!ok) errors += 1;
        else if (inWindow(started, ended)) samples.push(ended - started);
      }
    }, p.pid);
  } finally {
    for (const w of running) w.close();
    client.close();
  }
  return {
    ...summarize(samples),
    callsPerS: Math.round(samples.length / (p.durationMs / 1000)),
    errors,
    cpu: cpuUse(samples.length, p.durationMs, window),
  };
}
