import { HttpError } from './errors.js';
import { REPORTS_PER_REQUEST, type Task, type TaskReport, type TaskReportOutcome } from './wire.js';

/** What the reporter needs from the client: the batch endpoint, and the single-task ones for a lone report. */
export interface ReportingClient {
  reportTasks(reports: TaskReport[]): Promise<TaskReportOutcome[]>;
  claimTask(id: string, options?: { leaseSeconds?: number }): Promise<Task>;
  progress(id: string, report: { message?: string; progress?: number }): Promise<Task>;
  completeTask(id: string, result?: unknown): Promise<Task>;
  failTask(id: string, error: string, options?: { retry?: boolean }): Promise<Task>;
}

/** An agent's claims, progress, completions and failures, each resolving with the task as its endpoint answers it. */
export interface TaskReporter {
  report(report: TaskReport): Promise<Task>;
}

interface Queued {
  report: TaskReport;
  resolve: (task: Task) => void;
  reject: (error: unknown) => void;
}

/**
 * Sends reports with at most one request in flight: a report made while none is goes out at once, on its own
 * endpoint, exactly as a direct call would; those made while one is in flight wait for it and then go together as
 * one `POST /api/tasks/reports`. A busy worker so sends a request per few tasks instead of one each (the hub's
 * cost per request is what it saves), and an idle one waits for nothing. Each report settles as its own endpoint
 * would: the task, or an `HttpError` with that endpoint's status and code; a request that fails as a whole (the
 * connection, a 503) rejects each of its reports with that error. A hub older than the batch endpoint answers it
 * 404: the reporter then sends every report on its own endpoint from then on.
 */
export function createTaskReporter(client: ReportingClient): TaskReporter {
  const queued: Queued[] = [];
  let sending = false;
  let batchesRefused = false;

  const single = (r: TaskReport): Promise<Task> => {
    switch (r.op) {
      case 'claim':
        return client.claimTask(r.taskId, r.leaseSeconds !== undefined ? { leaseSeconds: r.leaseSeconds } : {});
      case 'progress':
        return client.progress(r.taskId, { ...(r.message !== undefined && { message: r.message }), ...(r.progress !== undefined && { progress: r.progress }) });
      case 'complete':
        return client.completeTask(r.taskId, r.result);
      case 'fail':
        return client.failTask(r.taskId, r.error, r.retry !== undefined ? { retry: r.retry } : {});
    }
  };

  const alone = (q: Queued) => single(q.report).then(q.resolve, q.reject);

  const together = async (batch: Queued[]) => {
    let outcomes: TaskReportOutcome[];
    try {
      outcomes = await client.reportTasks(batch.map((q) => q.report));
    } catch (error) {
      if (error instanceof HttpError && error.status === 404) {
        batchesRefused = true;
        await Promise.all(batch.map(alone));
        return;
      }
      for (const q of batch) q.reject(error);
      return;
    }
    batch.forEach((q, i) => {
      const outcome = outcomes[i];
      if (outcome?.status === 200 && 'task' in outcome) q.resolve(outcome.task);
      else if (outcome && 'error' in outcome) q.reject(new HttpError(outcome.status, outcome.error.code, outcome.error.message, outcome.error.details ? { details: outcome.error.details } : {}));
      else q.reject(new HttpError(502, 'internal_error', `The hub answered ${outcomes.length} outcomes for ${batch.length} reports.`));
    });
  };

  const send = () => {
    if (sending || queued.length === 0) return;
    sending = true;
    const batch = queued.splice(0, REPORTS_PER_REQUEST);
    const sent = batch.length === 1 || batchesRefused ? Promise.all(batch.map(alone)) : together(batch);
    void sent.finally(() => {
      sending = false;
      send();
    });
  };

  return {
    report: (report) =>
      new Promise<Task>((resolve, reject) => {
        queued.push({ report, resolve, reject });
        send();
      }),
  };
}
