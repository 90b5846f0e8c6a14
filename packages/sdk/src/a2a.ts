import { Role, TaskState, type Message, type Part, type Task as A2ATask } from '@a2a-js/sdk';
import { ClientFactory, ClientFactoryOptions, DefaultAgentCardResolver, JsonRpcTransportFactory, type Client } from '@a2a-js/sdk/client';
import type { TaskHandler } from './worker.js';

export interface A2AForwardOptions {
  /** URL of the remote agent's card (`…/.well-known/agent-card.json`) or of its base (the well-known path is added). */
  card: string;
  /** Bearer token sent to the remote agent, if it needs one. */
  token?: string;
  /** Fetch used for the card and the calls. Default: the global `fetch`. */
  fetch?: typeof fetch;
}

const CARD_PATH = '/.well-known/agent-card.json';

const part = (content: Part['content']): Part => ({ content, metadata: undefined, filename: '', mediaType: '' });

/** A part's value: its text, its data, or its URL. */
function valueOf(p: Part): unknown {
  return p.content?.value;
}

/** What a remote answer's parts become as a taskhub result: one part is its value, several an array of them. */
function resultOf(parts: Part[]): unknown {
  const values = parts.map(valueOf).filter((v) => v !== undefined);
  if (values.length === 0) return null;
  return values.length === 1 ? values[0] : values;
}

const textOf = (message: Message | undefined) =>
  (message?.parts ?? []).map((p) => (p.content?.$case === 'text' ? p.content.value : '')).filter(Boolean).join('\n');

/** The taskhub result of a remote task, or a throw saying why it did not complete. */
function settle(task: A2ATask): unknown {
  const state = task.status?.state;
  if (state === TaskState.TASK_STATE_COMPLETED) {
    const parts = task.artifacts.flatMap((a) => a.parts);
    return parts.length > 0 ? resultOf(parts) : (textOf(task.status?.message) || null);
  }
  const why = textOf(task.status?.message) || `the remote task ended ${state === undefined ? 'without a state' : TaskState[state]}`;
  throw new Error(`remote A2A agent: ${why}`);
}

/**
 * A worker handler that hands each task to a remote A2A agent (the official `@a2a-js/sdk` client, JSON-RPC or
 * REST as its card offers) and answers with what it answered: the task's text as a text part, its payload as a
 * data part; the remote result's artifact parts become the taskhub result. The message id is derived from the
 * taskhub task id, so a redelivered task is the same message to the remote agent. Cancelling the taskhub task
 * aborts the call.
 */
export function a2aForwarder(options: A2AForwardOptions): TaskHandler {
  const doFetch = options.fetch ?? fetch;
  const authFetch: typeof fetch = (input, init = {}) => {
    if (!options.token) return doFetch(input, init);
    const headers = new Headers(init.headers);
    headers.set('authorization', `Bearer ${options.token}`);
    return doFetch(input, { ...init, headers });
  };
  let client: Promise<Client> | undefined;
  const connect = () => {
    const factory = new ClientFactory(ClientFactoryOptions.createFrom(ClientFactoryOptions.default, {
      transports: [new JsonRpcTransportFactory({ fetchImpl: authFetch })],
      cardResolver: new DefaultAgentCardResolver({ fetchImpl: authFetch }),
    }));
    const url = options.card.endsWith('.json') ? options.card : `${options.card.replace(/\/+$/, '')}${CARD_PATH}`;
    // A failed fetch of the card is tried again on the next task.
    return factory.createFromUrl(url, '').catch((error: unknown) => {
      client = undefined;
      throw error;
    });
  };

  return async (payload, ctx) => {
    const remote = await (client ??= connect());
    const parts = [part({ $case: 'text', value: ctx.task.task })];
    if (payload !== null && payload !== undefined) parts.push(part({ $case: 'data', value: payload }));
    const message: Message = {
      messageId: `taskhub-${ctx.task.id}`, contextId: '', taskId: '', role: Role.ROLE_USER, parts,
      metadata: undefined, extensions: [], referenceTaskIds: [],
    };
    const answer = await remote.sendMessage(
      { tenant: '', message, configuration: { acceptedOutputModes: [], taskPushNotificationConfig: undefined, returnImmediately: false }, metadata: undefined },
      { signal: ctx.signal },
    );
    if ('messageId' in answer) return resultOf(answer.parts);
    return settle(answer);
  };
}
