/**
 * Sequential round trips: the floor (a trivial echo server) and the RPC round trip (one caller, one agent that
 * completes each task as its `task.assigned` event arrives). Same client, same loop, same number of calls.
 */
import { createTaskReporter } from '@taskhub/sdk';
import { summarize, type Latency } from '../stats.js';
import { createJsonClient, openSse } from './http.js';
import { createAgents, timedLoops } from './setup.js';

export interface RoundtripParams {
  url: string;
  calls: number;
  warmup: number;
  /** Absent for the floor. */
  adminToken?: string;
  /**
   * The hub the echo agent streams from and completes through, when it is not `url` (the cross-hub round trip:
   * caller on one hub, agent on another, both on one PostgreSQL database). Default `url`.
   */
  agentUrl?: string;
  /** The caller's and the echo agent's names, for a second run on the same hub. Default `caller`, `worker`. */
  names?: { caller: string; worker: string };
}

async function sequential(calls: number, warmup: number, once: (i: number) => Promise<void>): Promise<Latency> {
  const samples: number[] = [];
  for (let i = 0; i < warmup + calls; i++) {
    const started = performance.now();
    await once(i);
    if (i >= warmup) samples.push(performance.now() - started);
  }
  return summarize(samples);
}

export async function floor({ url, calls, warmup }: RoundtripParams): Promise<Latency> {
  const client = createJsonClient(url, 1);
  try {
    return await sequential(calls, warmup, async (i) => {
      const answer = await client.post('/echo', undefined, { i });
      if (answer.body?.i !== i) throw new Error(`echo answered ${JSON.stringify(answer.body)}`);
    });
  } finally {
    client.close();
  }
}

/**
 * An agent that completes each task it is given with its payload as the result. It reports through the SDK's
 * reporter, as the SDK's worker does (one request in flight, the completions that come up meanwhile sent together
 * as one `POST /api/tasks/reports`), over this bench's own light HTTP client.
 */
export function startEchoWorker(url: string, token: string, client = createJsonClient(url, 16)) {
  const post = async (path: string, body: unknown) => client.postOk(path, token, body);
  const onlyCompletes = () => Promise.reject(new Error('echo worker: it only completes'));
  const reporter = createTaskReporter({
    reportTasks: async (reports) => (await post('/api/tasks/reports', { reports })).results,
    completeTask: async (id, result) => (await post(`/api/tasks/${id}/complete`, { result })).task,
    claimTask: onlyCompletes,
    progress: onlyCompletes,
    failTask: onlyCompletes,
  });
  // The last reports may still wait for their answer when the run ends (the hub answers the caller first): their
  // connection closing then is the end of the run, not an error.
  let closed = false;
  const stream = openSse(`${url}/api/events`, token, (event) => {
    if (event.type !== 'task.assigned') return;
    const { task } = JSON.parse(event.data) as { task: { id: string; payload: unknown } };
    reporter.report({ op: 'complete', taskId: task.id, result: task.payload }).catch((error: unknown) => {
      if (!closed) process.stderr.write(`echo worker: ${String(error)}\n`);
    });
  });
  return {
    opened: stream.opened,
    close() {
      closed = true;
      stream.close();
      client.close();
    },
  };
}

export async function rpcRoundtrip(params: RoundtripParams): Promise<Latency> {
  const { url, calls, warmup, adminToken, agentUrl = url, names = { caller: 'caller', worker: 'worker' } } = params;
  const client = createJsonClient(url, 1);
  const tokens = await createAgents(client, adminToken!, [names.caller]);
  const workerToken = (await createAgents(client, adminToken!, [names.worker], { capabilities: ['echo'] })).get(names.worker)!;
  const worker = startEchoWorker(agentUrl, workerToken);
  try {
    await worker.opened;
    const caller = tokens.get(names.caller)!;
    return await sequential(calls, warmup, async (i) => {
      const answer = await client.post('/api/tasks/rpc', caller, { capability: 'echo', task: 'echo', payload: { i } });
      if (answer.body?.status !== 'completed' || answer.body.result?.i !== i) {
        throw new Error(`rpc answered ${answer.status} ${JSON.stringify(answer.body)}`);
      }
    });
  } finally {
    worker.close();
    client.close();
  }
}

/**
 * The A2A round trip on the same kind of hub: a blocking JSON-RPC `SendMessage` to the capability endpoint, answered
 * once the echo agent completes the task. Same client and loop as the rpc round trip.
 */
export async function a2aRoundtrip({ url, calls, warmup, adminToken }: RoundtripParams): Promise<Latency> {
  const client = createJsonClient(url, 1);
  const tokens = await createAgents(client, adminToken!, ['a2a-caller']);
  const workerToken = (await createAgents(client, adminToken!, ['a2a-worker'], { capabilities: ['a2a-echo'] })).get('a2a-worker')!;
  const worker = startEchoWorker(url, workerToken);
  try {
    await worker.opened;
    const caller = tokens.get('a2a-caller')!;
    return await sequential(calls, warmup, async (i) => {
      const answer = await client.post('/a2a/capabilities/a2a-echo', caller, {
        jsonrpc: '2.0', id: i, method: 'SendMessage',
        params: { message: { messageId: `bench-${i}`, role: 'ROLE_USER', parts: [{ text: 'echo' }, { data: { i } }] } },
      });
      const task = answer.body?.result?.task;
      if (task?.status?.state !== 'TASK_STATE_COMPLETED' || task.artifacts?.[0]?.parts?.[0]?.data?.i !== i) {
        throw new Error(`a2a answered ${answer.status} ${JSON.stringify(answer.body)}`);
      }
    });
  } finally {
    worker.close();
    client.close();
  }
}

export interface FloorThroughputParams {
  url: string;
  clients: number;
  durationMs: number;
  warmupMs: number;
  pid: number;
}

export interface FloorThroughput extends Latency {
  requestsPerS: number;
  /** The echo server's CPU per request (µs): what one request costs before any application code. */
  serverCpuUsPerRequest: number | null;
}

/** The throughput floor: `clients` concurrent keep-alive clients against the echo server. */
export async function floorThroughput(p: FloorThroughputParams): Promise<FloorThroughput> {
  const client = createJsonClient(p.url, p.clients);
  const samples: number[] = [];
  try {
    const window = await timedLoops(p.clients, p.warmupMs, p.durationMs, async (w, inWindow, stop) => {
      for (let i = 0; !stop(); i++) {
        const started = performance.now();
        const answer = await client.post('/echo', undefined, { w, i });
        const ended = performance.now();
        if (answer.body?.i !== i) throw new Error(`echo answered ${JSON.stringify(answer.body)}`);
        if (inWindow(started, ended)) samples.push(ended - started);
      }
    }, p.pid);
    const cpu = window.serverCpuMs === null || samples.length === 0 ? null : Math.round((window.serverCpuMs * 1000) / samples.length);
    return { ...summarize(samples), requestsPerS: Math.round(samples.length / (p.durationMs / 1000)), serverCpuUsPerRequest: cpu };
  } finally {
    client.close();
  }
}
