import { createRequest, type FetchLike, type HttpSettings, type Request } from './http.js';
import { callRpc } from './rpc.js';
import { createRpcSender, type RpcSend } from './rpc-sender.js';
import { subscribe, type EventHandler, type SubscribeOptions, type Subscription } from './subscribe.js';
import type {
  Agent,
  AssignTaskInput,
  CreateAgentInput,
  HubEvent,
  InboxPage,
  InboxQuery,
  ListTasksQuery,
  Message,
  RpcInput,
  SendMessageInput,
  Task,
  TaskPage,
  TaskReport,
  TaskReportOutcome,
  TaskReportsAnswer,
  Thread,
  UpdateAgentInput,
  WebhookCreated,
  WebhookState,
} from './types.js';
import { readTokenClaims } from './token.js';
import { pollTask } from './wait.js';
import { createWorker, type Worker, type WorkerOptions } from './worker.js';

export interface TaskhubClientOptions extends HttpSettings {
  /** Interval of `waitForTask` and of the rpc polling fallback, ms. Default 1000. */
  pollMs?: number;
}

/** Whose webhook a webhook method acts on. */
export interface WebhookTarget {
  /** The agent. Default: the token's own agent; an admin token must name one. */
  agent?: string;
}

export interface SetWebhookOptions extends WebhookTarget {
  /** Only these event types are POSTed (the others are neither POSTed nor mailed). Default: every type. */
  events?: string[];
}

export type ProgressReport = string | { message?: string; progress?: number };

const seg = encodeURIComponent;

/**
 * A client of one taskhub, acting with one token. Every method is one call of the HTTP contract, except `rpc`
 * (which survives a dropped connection), `waitForTask`, `subscribe` and `worker`. Errors: `HttpError` (the
 * hub's status and code), `ConnectionError` (no answer), and for rpc `RpcTimeoutError` and `TaskFailedError`.
 */
export class TaskhubClient {
  /** The hub's base URL, without a trailing slash. */
  readonly url: string;
  private readonly request: Request;
  private readonly token: string;
  private readonly fetchImpl: FetchLike;
  private readonly pollMs: number;
  private readonly sendRpc: RpcSend;

  constructor(options: TaskhubClientOptions) {
    if (!options.url) throw new TypeError('TaskhubClient needs the hub url.');
    if (!options.token) throw new TypeError('TaskhubClient needs a token.');
    const { request, open, baseUrl, fetch } = createRequest(options);
    this.request = request;
    this.url = baseUrl;
    this.token = options.token;
    this.fetchImpl = fetch;
    this.pollMs = options.pollMs ?? 1000;
    this.sendRpc = createRpcSender({ request, open, baseUrl });
  }

  // Agents

  /** Agents, optionally only those offering `capability`. */
  async agents(query: { capability?: string } = {}): Promise<Agent[]> {
    return (await this.request<{ agents: Agent[] }>('GET', '/api/agents', { query })).agents;
  }

  async agent(name: string): Promise<Agent> {
    return (await this.request<{ agent: Agent }>('GET', `/api/agents/${seg(name)}`)).agent;
  }

  /** Admin: registers an agent and returns it with its first token. */
  createAgent(input: CreateAgentInput): Promise<{ agent: Agent; token: string }> {
    return this.request('POST', '/api/agents', { body: input });
  }

  /** The agent itself or an admin: changes capabilities, email or description. */
  async updateAgent(name: string, patch: UpdateAgentInput): Promise<Agent> {
    return (await this.request<{ agent: Agent }>('PATCH', `/api/agents/${seg(name)}`, { body: patch })).agent;
  }

  /** Admin: removes an agent; its streams close and its open tasks fail with `agent_removed`. */
  async removeAgent(name: string): Promise<void> {
    await this.request('DELETE', `/api/agents/${seg(name)}`);
  }

  /** Admin: issues a new token for the agent, revoking every older one. */
  async rotateToken(name: string): Promise<string> {
    return (await this.request<{ token: string }>('POST', `/api/agents/${seg(name)}/token`)).token;
  }

  // Webhooks

  /**
   * Sends the agent's events to `url` while it holds no stream, instead of email; replaces any webhook it had.
   * Resolves with the webhook and its new `secret` (`whsec_…`), shown only here: keep it for `verifyWebhook`.
   * The hub refuses a private or loopback URL with `422 webhook_url_refused` unless it allows private ones.
   */
  async setWebhook(url: string, options: SetWebhookOptions = {}): Promise<WebhookCreated> {
    const body = { url, ...(options.events !== undefined && { events: options.events }) };
    return this.request('PUT', this.webhookPath(options), { body });
  }

  /** The agent's webhook, its delivery counts and its newest failed deliveries; `HttpError` 404 when it has none. */
  async getWebhook(options: WebhookTarget = {}): Promise<WebhookState> {
    return this.request('GET', this.webhookPath(options));
  }

  /** Removes the agent's webhook: later events go to its email, if it has one. */
  async removeWebhook(options: WebhookTarget = {}): Promise<void> {
    await this.request('DELETE', this.webhookPath(options));
  }

  /** Sends the agent's failed deliveries again; resolves with how many were queued. */
  async retryWebhook(options: WebhookTarget = {}): Promise<number> {
    return (await this.request<{ requeued: number }>('POST', `${this.webhookPath(options)}/retry`)).requeued;
  }

  private webhookPath(target: WebhookTarget): string {
    return `/api/agents/${seg(target.agent ?? this.ownAgent())}/webhook`;
  }

  /** The token's agent, for the calls an agent makes about itself; the methods reject with its TypeError. */
  private ownAgent(): string {
    const claims = readTokenClaims(this.token);
    if (claims?.role === 'agent') return claims.sub;
    throw new TypeError(
      claims?.role === 'admin' ? 'An admin token acts for no agent of its own: pass { agent: name }.' : 'The token is not a taskhub JWT: pass { agent: name }.',
    );
  }

  // Tasks

  async assignTask(input: AssignTaskInput): Promise<Task> {
    const deadline = input.deadline instanceof Date ? input.deadline.toISOString() : input.deadline;
    return (await this.request<{ task: Task }>('POST', '/api/tasks', { body: { ...input, deadline } })).task;
  }

  async getTask(id: string): Promise<Task> {
    return (await this.request<{ task: Task }>('GET', `/api/tasks/${seg(id)}`)).task;
  }

  /** The task's whole recorded history, oldest first, read page by page (see `taskEventsPage`). */
  async taskEvents(id: string): Promise<HubEvent[]> {
    const events: HubEvent[] = [];
    let cursor: string | undefined;
    do {
      const page = await this.taskEventsPage(id, { ...(cursor !== undefined && { cursor }) });
      events.push(...page.events);
      cursor = page.nextCursor ?? undefined;
    } while (cursor !== undefined);
    return events;
  }

  /** One page of the task's history, oldest first; `nextCursor` is `null` on the last page. */
  taskEventsPage(id: string, query: { limit?: number; cursor?: string } = {}): Promise<{ events: HubEvent[]; nextCursor: string | null }> {
    return this.request('GET', `/api/tasks/${seg(id)}/events`, { query: { ...query } });
  }

  /** Tasks the caller assigned or is the target of (an admin: all), newest first. */
  listTasks(query: ListTasksQuery = {}): Promise<TaskPage> {
    return this.request('GET', '/api/tasks', { query: { ...query } });
  }

  /** Agent: its tasks waiting to be claimed, urgent first, then oldest first. */
  async pendingTasks(query: { limit?: number } = {}): Promise<Task[]> {
    return (await this.request<{ tasks: Task[] }>('GET', '/api/tasks/pending', { query })).tasks;
  }

  async claimTask(id: string, options: { leaseSeconds?: number } = {}): Promise<Task> {
    return (await this.request<{ task: Task }>('POST', `/api/tasks/${seg(id)}/claim`, { body: options })).task;
  }

  /** Reports progress (a message, a fraction in [0, 1], or both); renews the lease. */
  async progress(id: string, report: ProgressReport): Promise<Task> {
    const body = typeof report === 'string' ? { message: report } : report;
    return (await this.request<{ task: Task }>('POST', `/api/tasks/${seg(id)}/progress`, { body })).task;
  }

  async completeTask(id: string, result?: unknown): Promise<Task> {
    const body = result === undefined ? {} : { result };
    return (await this.request<{ task: Task }>('POST', `/api/tasks/${seg(id)}/complete`, { body })).task;
  }

  /** Fails the task; with `retry` and deliveries left it goes back to the queue instead. */
  async failTask(id: string, error: string, options: { retry?: boolean } = {}): Promise<Task> {
    const body = { error, ...(options.retry !== undefined && { retry: options.retry }) };
    return (await this.request<{ task: Task }>('POST', `/api/tasks/${seg(id)}/fail`, { body })).task;
  }

  /**
   * Agent: several claims, progress reports, completions and failures in one request. Resolves with one outcome per
   * report, in order: `{status: 200, task}`, or the `{status, error}` its single-task endpoint would have answered;
   * one refused leaves the others applied. Rejects with `HttpError` 400 (nothing applied) when any report is malformed.
   * A worker sends its reports this way by itself (see `worker`).
   */
  async reportTasks(reports: TaskReport[]): Promise<TaskReportOutcome[]> {
    return (await this.request<TaskReportsAnswer>('POST', '/api/tasks/reports', { body: { reports } })).results;
  }

  async cancelTask(id: string): Promise<Task> {
    return (await this.request<{ task: Task }>('POST', `/api/tasks/${seg(id)}/cancel`)).task;
  }

  /**
   * Reads the task every `pollMs` until it is terminal or `timeoutMs` (default 30,000) passes, and returns it
   * as last read, terminal or not.
   */
  waitForTask(id: string, options: { timeoutMs?: number; signal?: AbortSignal } = {}): Promise<Task> {
    const deadline = Date.now() + (options.timeoutMs ?? 30_000);
    return pollTask((taskId) => this.getTask(taskId), id, { deadline, pollMs: this.pollMs, signal: options.signal });
  }

  /**
   * Asks an agent (by `target` or `capability`) and waits for the answer: resolves with the result, rejects with
   * `TaskFailedError` (failed, cancelled, expired), `RpcTimeoutError`, or `HttpError`. If the connection drops,
   * the call is sent again under its idempotency key every `pollMs` until the timeout: the hub never creates it
   * twice, so a network blip or a hub restart never loses an answer. Calls made in the same event-loop turn share
   * one request (`POST /api/tasks/rpcs`).
   */
  rpc<T = unknown>(input: RpcInput): Promise<T> {
    return callRpc<T>({ send: this.sendRpc }, input, { pollMs: this.pollMs, graceMs: 10_000 });
  }

  // Messages

  /** Sends one message per recipient, all in one thread. */
  async sendMessage(input: SendMessageInput): Promise<Message[]> {
    return (await this.request<{ messages: Message[] }>('POST', '/api/messages', { body: input })).messages;
  }

  /** Agent: its messages, newest last. */
  inbox(query: InboxQuery = {}): Promise<InboxPage> {
    return this.request('GET', '/api/inbox', { query: { ...query } });
  }

  /** Recipient: marks a message read and returns it. */
  async markRead(messageId: string): Promise<Message> {
    return (await this.request<{ message: Message }>('POST', `/api/messages/${seg(messageId)}/read`)).message;
  }

  /** A thread's messages, oldest first; `nextCursor` pages on through long threads. */
  thread(threadId: string, query: { limit?: number; cursor?: string } = {}): Promise<Thread> {
    return this.request('GET', `/api/threads/${seg(threadId)}`, { query });
  }

  // Events and agents at work

  /** Holds the caller's event stream, reconnecting with backoff and resuming without a gap. */
  subscribe(handler: EventHandler, options: SubscribeOptions = {}): Subscription {
    return subscribe({ baseUrl: this.url, token: this.token, fetch: this.fetchImpl }, handler, options);
  }

  /** Turns this process into the agent of the token: claims, runs and reports each delivered task. */
  worker(options: WorkerOptions): Worker {
    return createWorker(this, options);
  }

  /** Admin: the hub's counters. */
  stats(): Promise<Record<string, unknown>> {
    return this.request('GET', '/api/stats');
  }
}
