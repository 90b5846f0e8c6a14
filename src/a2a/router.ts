import express, { Router, type Request, type RequestHandler, type Response } from 'express';
import type { Actor } from '../domain/types.js';
import type { Hub } from '../hub/index.js';
import { buildCard, type CardScope } from './cards.js';
import { A2A_CODES, RpcError, errorBody, parseRequest, resultBody, toRpcError, type RpcRequest } from './jsonrpc.js';
import { cancelTask, createFromMessage, getTask, listTasks, sendMessage, type MethodDeps } from './methods.js';
import { lastEventIdOf, streamTask } from './stream.js';

export interface A2AOptions {
  /** Base of every URL in a card (`TASKHUB_PUBLIC_URL`); undefined: the request's own scheme and host. */
  publicUrl: string | undefined;
  /** Serve cards without a token (`TASKHUB_A2A_PUBLIC_CARDS`). Default false. */
  publicCards: boolean;
  /** The card's `version`. */
  version: string;
  /** Interval of the store read that waiting calls and streams fall back on, ms. */
  pollMs: number;
  /** Body limit of a JSON-RPC request. */
  bodyLimit: string;
  /** Aborted when the hub stops: blocking calls answer at once and streams end. */
  shutdown: AbortSignal;
}

const PUSH_METHODS = new Set(['CreateTaskPushNotificationConfig', 'GetTaskPushNotificationConfig', 'ListTaskPushNotificationConfigs', 'DeleteTaskPushNotificationConfig']);
const STREAM_METHODS = new Set(['SendStreamingMessage', 'SubscribeToTask']);

/** `A2A-Version` 1.0 (or none, with a v1.0 method) is served; v0.3 (`message/send`, …) and others are -32009. */
function checkVersion(req: Request, method: string): void {
  const version = req.get('a2a-version');
  if ((version !== undefined && !/^1(\.0)?$/.test(version.trim())) || method.includes('/')) {
    throw new RpcError(A2A_CODES.versionNotSupported, `taskhub serves A2A 1.0 only (got ${version ? `A2A-Version ${version}` : 'no A2A-Version header'}, method ${method}).`);
  }
}

function lastEventIdHeader(req: Request): number {
  const raw = req.get('last-event-id');
  if (raw === undefined || raw === '') return 0;
  if (!/^\d{1,15}$/.test(raw)) throw new RpcError(A2A_CODES.invalidParams, 'Last-Event-ID must be an event id this hub sent.');
  return Number(raw);
}

/** The A2A facade: cards and JSON-RPC endpoints for the hub, each agent and each capability. */
export function a2aRoutes(hub: Hub, authenticate: RequestHandler, options: A2AOptions): Router {
  const router = Router();
  const deps: MethodDeps = { hub, pollMs: options.pollMs };
  const raw = express.raw({ type: () => true, limit: options.bodyLimit });
  const cardAuth: RequestHandler = options.publicCards ? (_req, _res, next) => next() : authenticate;
  const everyone: Actor = { name: 'a2a-card', role: 'admin' };

  const agentsBehind = async (scope: CardScope) => {
    if (scope.kind === 'agent') return [await hub.agents.get(everyone, scope.name!)];
    return hub.agents.list(everyone, scope.kind === 'capability' ? scope.name : undefined);
  };
  const serveCard = (scopeOf: (req: Request) => CardScope): RequestHandler => async (req, res) => {
    const scope = scopeOf(req);
    const agents = await agentsBehind(scope); // an unknown agent is the usual 404
    res.json(buildCard(scope, agents, options.publicUrl ?? `${req.protocol}://${req.host}`, { version: options.version, pushNotifications: false }));
  };

  async function dispatch(req: Request, res: Response, scope: CardScope, call: RpcRequest, signal: AbortSignal): Promise<unknown> {
    const actor = res.locals.actor as Actor;
    switch (call.method) {
      case 'SendMessage':
        return sendMessage(deps, actor, scope, call.params, signal);
      case 'GetTask':
        return getTask(deps, actor, call.params);
      case 'ListTasks':
        return listTasks(deps, actor, call.params);
      case 'CancelTask':
        return cancelTask(deps, actor, call.params);
      case 'GetExtendedAgentCard':
        throw new RpcError(A2A_CODES.extendedCardNotConfigured, 'taskhub has no extended card.');
      default:
        if (PUSH_METHODS.has(call.method)) throw new RpcError(A2A_CODES.pushNotSupported, 'Push notifications are not supported yet.');
        throw new RpcError(A2A_CODES.methodNotFound, `Method not found: ${call.method}`);
    }
  }

  async function openStream(req: Request, res: Response, scope: CardScope, call: RpcRequest, signal: AbortSignal): Promise<void> {
    const actor = res.locals.actor as Actor;
    if (call.method === 'SendStreamingMessage') {
      const { task } = await createFromMessage(deps, actor, scope, call.params);
      return streamTask(res, { hub, actor, rpcId: call.id, pollMs: deps.pollMs, snapshot: task, taskId: task.id, afterId: await lastEventIdOf(hub, actor, task.id), signal });
    }
    const resumeAfter = lastEventIdHeader(req);
    const task = await getTask(deps, actor, call.params);
    const hubTask = await hub.tasks.get(actor, task.id);
    const afterId = resumeAfter || (await lastEventIdOf(hub, actor, task.id));
    return streamTask(res, { hub, actor, rpcId: call.id, pollMs: deps.pollMs, ...(!resumeAfter && { snapshot: hubTask }), taskId: task.id, afterId, signal });
  }

  const endpoint = (scopeOf: (req: Request) => CardScope): RequestHandler[] => [authenticate, raw, async (req, res) => {
    let call: RpcRequest | undefined;
    // One signal per call: the client going away or the hub stopping ends its wait or stream. A response closes
    // after every answer too; aborting then would only build the abort's DOMException (a stack trace) for nothing.
    const controller = new AbortController();
    const abort = () => controller.abort();
    res.on('close', () => {
      if (!res.writableFinished) abort();
    });
    options.shutdown.addEventListener('abort', abort);
    try {
      call = parseRequest(Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0));
      checkVersion(req, call.method);
      if (STREAM_METHODS.has(call.method)) return await openStream(req, res, scopeOf(req), call, controller.signal);
      const result = await dispatch(req, res, scopeOf(req), call, controller.signal);
      if (!res.destroyed) res.json(resultBody(call.id, result));
    } catch (error) {
      if (res.headersSent) return void res.end();
      res.json(errorBody(call?.id ?? null, toRpcError(error)));
    } finally {
      options.shutdown.removeEventListener('abort', abort);
    }
  }];

  const hubScope = (): CardScope => ({ kind: 'hub' });
  const agentScope = (req: Request): CardScope => ({ kind: 'agent', name: String(req.params.name) });
  const capScope = (req: Request): CardScope => ({ kind: 'capability', name: String(req.params.cap) });
  router.get('/.well-known/agent-card.json', cardAuth, serveCard(hubScope));
  router.get('/a2a/.well-known/agent-card.json', cardAuth, serveCard(hubScope));
  router.get('/a2a/agents/:name/.well-known/agent-card.json', cardAuth, serveCard(agentScope));
  router.get('/a2a/capabilities/:cap/.well-known/agent-card.json', cardAuth, serveCard(capScope));
  router.post('/a2a', ...endpoint(hubScope));
  router.post('/a2a/agents/:name', ...endpoint(agentScope));
  router.post('/a2a/capabilities/:cap', ...endpoint(capScope));
  return router;
}
