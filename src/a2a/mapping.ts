import type { TaskStatus } from '../domain/task-status.js';
import type { HubEvent, Task } from '../domain/types.js';

/** A2A v1.0 task states, as the protobuf JSON mapping spells them. */
export type A2AState =
  | 'TASK_STATE_SUBMITTED'
  | 'TASK_STATE_WORKING'
  | 'TASK_STATE_COMPLETED'
  | 'TASK_STATE_FAILED'
  | 'TASK_STATE_CANCELED';

/** The contract's table: taskhub status → A2A state. */
export const STATE_OF: Record<TaskStatus, A2AState> = {
  assigned: 'TASK_STATE_SUBMITTED',
  claimed: 'TASK_STATE_SUBMITTED',
  in_progress: 'TASK_STATE_WORKING',
  completed: 'TASK_STATE_COMPLETED',
  failed: 'TASK_STATE_FAILED',
  cancelled: 'TASK_STATE_CANCELED',
  expired: 'TASK_STATE_FAILED',
};

/** A2A state → the taskhub statuses that show as it (for `ListTasks`' `status` filter). */
export function statusesOf(state: string): TaskStatus[] {
  return (Object.keys(STATE_OF) as TaskStatus[]).filter((s) => STATE_OF[s] === state);
}

type Part = { text: string } | { data: unknown };
export interface A2AMessage {
  messageId: string;
  role: 'ROLE_USER' | 'ROLE_AGENT';
  parts: Part[];
  taskId?: string;
  contextId?: string;
  metadata?: Record<string, unknown>;
}
export interface A2AStatus {
  state: A2AState;
  timestamp: string;
  message?: A2AMessage;
}
export interface A2AArtifact {
  artifactId: string;
  name: string;
  parts: Part[];
}

const agentMessage = (task: Task, suffix: string, text: string, metadata?: Record<string, unknown>): A2AMessage => ({
  messageId: `${task.id}:${suffix}`,
  role: 'ROLE_AGENT',
  parts: [{ text }],
  taskId: task.id,
  contextId: task.id,
  ...(metadata && { metadata }),
});

/** The status message a task's state carries: why it failed or expired, who claimed it, what progress said. */
function statusMessage(task: Task, progress?: { message: string | null; progress: number | null }): A2AMessage | undefined {
  if (task.status === 'expired') return agentMessage(task, 'expired', `The task expired: ${task.error ?? 'its deadline passed'}.`);
  if (task.status === 'failed') return agentMessage(task, 'failed', task.error ?? 'The task failed.');
  if (task.status === 'claimed') return agentMessage(task, 'claimed', `Claimed by ${task.target}.`);
  if (progress && (progress.message !== null || progress.progress !== null)) {
    const text = progress.message ?? `${Math.round((progress.progress ?? 0) * 100)}%`;
    return agentMessage(task, `progress:${task.updatedAt}`, text, progress.progress === null ? undefined : { progress: progress.progress });
  }
  return undefined;
}

export function statusOf(task: Task, progress?: { message: string | null; progress: number | null }): A2AStatus {
  const message = statusMessage(task, progress);
  return { state: STATE_OF[task.status], timestamp: task.updatedAt, ...(message && { message }) };
}

/** A completed task's result as its one artifact: a string as a text part, anything else as a data part. */
export function artifactsOf(task: Task): A2AArtifact[] {
  if (task.status !== 'completed' || task.result === null || task.result === undefined) return [];
  const part: Part = typeof task.result === 'string' ? { text: task.result } : { data: task.result };
  return [{ artifactId: `${task.id}:result`, name: 'result', parts: [part] }];
}

/** The message that created the task, rebuilt from its text and payload (taskhub stores no A2A message). */
function requestMessage(task: Task): A2AMessage {
  const parts: Part[] = [{ text: task.task }];
  if (task.payload !== null && task.payload !== undefined) parts.push({ data: task.payload });
  return { messageId: `${task.id}:request`, role: 'ROLE_USER', parts, taskId: task.id, contextId: task.id };
}

/** The A2A `Task` for a taskhub task. The A2A id (and context id) is the taskhub task id. */
export function toA2ATask(task: Task, historyLength?: number) {
  const history = historyLength === 0 ? [] : [requestMessage(task)];
  return {
    id: task.id,
    contextId: task.id,
    status: statusOf(task),
    artifacts: artifactsOf(task),
    history,
    metadata: { taskhub: { status: task.status, target: task.target, assigner: task.assigner, capability: task.capability } },
  };
}

/** A task event as stream results: a status update, preceded by the result artifact when it completes the task. */
export function streamResultsOf(event: HubEvent): object[] {
  const data = JSON.parse(event.data) as { task: Task; progress?: { message: string | null; progress: number | null } };
  const task = data.task;
  const status = { statusUpdate: { taskId: task.id, contextId: task.id, status: statusOf(task, data.progress) } };
  const artifacts = artifactsOf(task).map((artifact) => ({
    artifactUpdate: { taskId: task.id, contextId: task.id, artifact, lastChunk: true },
  }));
  return [...artifacts, status];
}

/** The text parts of a message joined, and its first data part (the task's `payload`). */
export function taskInputOf(message: { parts?: unknown[] }): { task: string; payload?: unknown } {
  const parts = (message.parts ?? []) as Record<string, unknown>[];
  const texts = parts.filter((p) => typeof p.text === 'string').map((p) => p.text as string);
  const data = parts.find((p) => 'data' in p);
  return { task: texts.join('\n'), ...(data && { payload: data.data }) };
}
