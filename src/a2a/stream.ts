import type { Response } from 'express';
import type { Actor, HubEvent, Task } from '../domain/types.js';
import type { Hub } from '../hub/index.js';
import { type RpcId, RpcError, errorBody, resultBody, toRpcError } from './jsonrpc.js';
import { streamResultsOf, toA2ATask } from './mapping.js';
import { eventsAfter, watchTask } from './watch.js';

/** Interval of the keep-alive comment on an A2A stream, ms (proxies drop idle connections). */
export const A2A_HEARTBEAT_MS = 15_000;

const SSE_HEADERS = {
  'Content-Type': 'text/event-stream; charset=utf-8',
  'Cache-Control': 'no-cache, no-transform',
  Connection: 'keep-alive',
  'X-Accel-Buffering': 'no',
};

export interface StreamStart {
  hub: Hub;
  actor: Actor;
  rpcId: RpcId;
  pollMs: number;
  /** The task as it stands, sent first; omitted on a resume, which sends only what the client missed. */
  snapshot?: Task;
  taskId: string;
  /** Events up to this id are not sent (the snapshot's newest event, or the client's `Last-Event-ID`). */
  afterId: number;
  /** Aborted when the client goes away or the hub stops. */
  signal: AbortSignal;
}

/**
 * Streams a task over SSE as JSON-RPC results: the `Task` first (unless resuming), then one status update per
 * recorded event (a completion's result artifact just before its status), each frame after the last of an event
 * carrying that event's id as `id:`. Ends when the task ends or the client goes away; owns its heartbeat.
 */
export async function streamTask(res: Response, start: StreamStart): Promise<void> {
  const { rpcId } = start;
  res.writeHead(200, SSE_HEADERS);
  const frame = (result: object, id?: number) =>
    res.write(`${id === undefined ? '' : `id: ${id}\n`}data: ${JSON.stringify(resultBody(rpcId, result))}\n\n`);
  const heartbeat = setInterval(() => res.write(': keep-alive\n\n'), A2A_HEARTBEAT_MS);
  try {
    if (start.snapshot) frame({ task: toA2ATask(start.snapshot) }, start.afterId || undefined);
    await watchTask(start.hub, start.actor, start.taskId, (event: HubEvent) => {
      const results = streamResultsOf(event);
      results.forEach((result, i) => frame(result, i === results.length - 1 ? event.id : undefined));
    }, { afterId: start.afterId, pollMs: start.pollMs, signal: start.signal });
  } catch (error) {
    const rpcError = error instanceof RpcError ? error : toRpcError(error);
    if (!res.destroyed) res.write(`data: ${JSON.stringify(errorBody(rpcId, rpcError))}\n\n`);
  } finally {
    clearInterval(heartbeat);
    res.end();
  }
}

/** The newest recorded event id of a task (what a stream's first frame stands for). */
export async function lastEventIdOf(hub: Hub, actor: Actor, taskId: string): Promise<number> {
  let last = 0;
  for await (const event of eventsAfter(hub, actor, taskId, 0)) last = event.id;
  return last;
}
