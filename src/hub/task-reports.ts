import type { TaskReport } from '@taskhub/sdk/wire';
import { HubError } from '../domain/errors.js';
import type { Actor, Task } from '../domain/types.js';
import type { TaskService } from './tasks.js';

/** What one report came to: its task, or the refusal its single-task endpoint would have answered. */
export type ReportOutcome = { task: Task } | { error: HubError };

/**
 * Runs an agent's reports (`POST /api/tasks/reports`). Each is the change its single-task endpoint makes, with the
 * same checks, and stands alone: one refused leaves the others as they are. Reports on different tasks run at once,
 * so their changes share the store's group commit; those on one task run in the order sent (a claim, then its
 * completion). Resolves when every report has ended; an error that is not a refusal (a bug) is thrown once all
 * have ended, so that nothing runs on behind the answer.
 */
export async function runTaskReports(
  tasks: Pick<TaskService, 'claim' | 'progress' | 'complete' | 'fail'>,
  actor: Actor,
  reports: readonly TaskReport[],
): Promise<ReportOutcome[]> {
  const apply = (report: TaskReport): Promise<Task> => {
    switch (report.op) {
      case 'claim':
        return tasks.claim(actor, report.taskId, report.leaseSeconds);
      case 'progress':
        return tasks.progress(actor, report.taskId, { message: report.message, progress: report.progress });
      case 'complete':
        return tasks.complete(actor, report.taskId, report.result);
      case 'fail':
        return tasks.fail(actor, report.taskId, report.error, report.retry);
    }
  };
  const lastOnTask = new Map<string, Promise<unknown>>();
  const runs = reports.map((report) => {
    const run = (lastOnTask.get(report.taskId) ?? Promise.resolve()).then(() => apply(report));
    lastOnTask.set(report.taskId, run.catch(() => {}));
    return run;
  });
  const settled = await Promise.allSettled(runs);
  const bug = settled.find((s) => s.status === 'rejected' && !(s.reason instanceof HubError));
  if (bug) throw (bug as PromiseRejectedResult).reason;
  return settled.map((s) => (s.status === 'fulfilled' ? { task: s.value } : { error: (s as PromiseRejectedResult).reason as HubError }));
}
