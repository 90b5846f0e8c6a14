import type { Task } from '../domain/types.js';

/**
 * Characters of a task's `payload` or `result` (as JSON) above which an event row keeps a reference to the task
 * row instead of a copy. Both are written once — the payload at creation, the result at completion, which is
 * terminal — so every later read of the task row gives back exactly the value the event saw.
 */
export const EVENT_INLINE_VALUE_CHARS = 1024;

/** The task fields an event may keep by reference. */
const WRITTEN_ONCE = ['payload', 'result'] as const;
type WrittenOnce = (typeof WRITTEN_ONCE)[number];

/** Key of the stored event data listing the fields to read back from the task row; never on the wire. */
const REFS_KEY = '$taskRefs';

/**
 * The stored form of a task event's data when it carries a large payload or result: those set to `null` and
 * named under `REFS_KEY`. `undefined` when the event is stored as it is (the common case: nothing large).
 * `wireLength` is the length of the event's full data, which spares measuring small events field by field.
 */
export function compactTaskEventData(task: Task, extra: Record<string, unknown>, wireLength: number): string | undefined {
  if (wireLength <= EVENT_INLINE_VALUE_CHARS) return undefined;
  const refs: WrittenOnce[] = [];
  const stored: Record<string, unknown> = { ...task };
  for (const field of WRITTEN_ONCE) {
    const value = task[field];
    if (value === null || value === undefined) continue;
    const length = typeof value === 'string' ? value.length : (JSON.stringify(value)?.length ?? 0);
    if (length <= EVENT_INLINE_VALUE_CHARS) continue;
    stored[field] = null;
    refs.push(field);
  }
  return refs.length === 0 ? undefined : JSON.stringify({ taskId: task.id, task: stored, ...extra, [REFS_KEY]: refs });
}

/** A task row's written-once values as stored (JSON text). */
export interface TaskValues {
  payload: string | null;
  result: string | null;
}

/**
 * Turns stored event data back into what the event carried, reading referenced values from the task row. One
 * expander serves one read (a page of events); it remembers the task rows it has read, since the events of a page
 * are often about the same task. `read` gives a task row's stored values (each backend reads its own table).
 */
export function createEventExpander(read: (taskId: string) => TaskValues | undefined) {
  return () => {
    const rows = new Map<string, TaskValues | undefined>();
    return (taskId: string | null, data: string): string => {
      // Cheap test first: most rows have no references. A user value that merely contains the key parses below
      // without a top-level REFS_KEY and is returned unchanged.
      if (taskId === null || !data.includes(`"${REFS_KEY}":`)) return data;
      const parsed = JSON.parse(data) as { task?: Record<string, unknown>; [REFS_KEY]?: WrittenOnce[] };
      const refs = parsed[REFS_KEY];
      if (!Array.isArray(refs) || !parsed.task) return data;
      delete parsed[REFS_KEY];
      if (!rows.has(taskId)) rows.set(taskId, read(taskId));
      const row = rows.get(taskId);
      for (const field of refs) {
        const stored = row?.[field];
        parsed.task[field] = stored === null || stored === undefined ? null : (JSON.parse(stored) as unknown);
      }
      return JSON.stringify(parsed);
    };
  };
}
