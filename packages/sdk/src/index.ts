/**
 * The taskhub SDK: `import { TaskhubClient } from '@taskhub/sdk'` (or, in a project with the server installed,
 * `from 'taskhub/client'`). It speaks the HTTP API, depends only on `eventsource` and the
 * client side of `@a2a-js/sdk` (for `a2aForwarder`; pure JavaScript), and nothing in the server.
 */
export { TaskhubClient, type TaskhubClientOptions, type ProgressReport, type SetWebhookOptions, type WebhookTarget } from './client.js';
export { ConnectionError, HttpError, RpcTimeoutError, TaskFailedError, TaskhubError, type ErrorDetail } from './errors.js';
export { a2aForwarder, type A2AForwardOptions } from './a2a.js';
export type { FetchLike } from './http.js';
export type { EventHandler, OpenInfo, SubscribeOptions, Subscription } from './subscribe.js';
export { describeError, stderrReporter, type ErrorInfo, type ErrorReporter } from './report.js';
export type { TaskHandler, Worker, WorkerContext, WorkerOptions } from './worker.js';
export { createTaskReporter, type ReportingClient, type TaskReporter } from './reporter.js';
export * from './webhooks.js';
export * from './types.js';
