import type { ErrorDetail, Task, TaskStatus } from './wire.js';

export type { ErrorDetail };

/** The base of every error the SDK throws on purpose. */
export class TaskhubError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** The hub answered with an error status; `code` is the hub's error code (`not_found`, `invalid_transition`, …). */
export class HttpError extends TaskhubError {
  readonly status: number;
  readonly code: string;
  readonly details: ErrorDetail[] | undefined;
  /** Seconds from the `Retry-After` header (429, 503), when the hub sent one. */
  readonly retryAfterSeconds: number | undefined;

  constructor(status: number, code: string, message: string, extra: { details?: ErrorDetail[]; retryAfterSeconds?: number } = {}) {
    super(message);
    this.status = status;
    this.code = code;
    this.details = extra.details;
    this.retryAfterSeconds = extra.retryAfterSeconds;
  }
}

/** The hub could not be reached, or the connection broke before an answer arrived. */
export class ConnectionError extends TaskhubError {}

/** An rpc got no answer in time. `taskId` is the task, cancelled by then unless `keepOnTimeout` was set. */
export class RpcTimeoutError extends TaskhubError {
  readonly taskId: string;

  constructor(taskId: string, timeoutMs: number) {
    super(`No answer to task ${taskId} within ${Math.round(timeoutMs / 1000)} s.`);
    this.taskId = taskId;
  }
}

/** A task ended without a result: `status` is `failed`, `cancelled` or `expired`; `error` is the target's reason. */
export class TaskFailedError extends TaskhubError {
  readonly taskId: string;
  readonly status: TaskStatus;
  readonly error: string | null;
  /** The task as it ended, when it was read. */
  readonly task: Task | undefined;

  constructor(taskId: string, status: TaskStatus, error: string | null, task?: Task) {
    super(`Task ${taskId} ${status}${error ? `: ${error}` : ''}.`);
    this.taskId = taskId;
    this.status = status;
    this.error = error;
    this.task = task;
  }
}
