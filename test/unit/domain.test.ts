import { describe, expect, it } from 'vitest';
import {
  EVENT_AUDIENCE,
  isTerminal,
  OPEN_STATUSES,
  PRIORITIES,
  priorityFromRank,
  priorityRank,
  TERMINAL_STATUSES,
  TRANSITIONS,
} from '../../src/domain/task-status.js';
import { pickAgent } from '../../src/hub/routing.js';
import { taskEventRecipients } from '../../src/hub/task-events.js';

describe('the transition table', () => {
  it('never leaves a terminal status', () => {
    for (const transition of Object.values(TRANSITIONS)) {
      for (const from of transition.from) expect(isTerminal(from)).toBe(false);
    }
  });

  it('lets cancel and expire end any open task, and complete and fail start from assigned', () => {
    expect(TRANSITIONS.cancel.from).toEqual(OPEN_STATUSES);
    expect(TRANSITIONS.expire.from).toEqual(OPEN_STATUSES);
    expect(TRANSITIONS.complete.from).toContain('assigned');
    expect(TRANSITIONS.fail.from).toContain('assigned');
    expect(TRANSITIONS.claim.from).toEqual(['assigned']);
    expect(TRANSITIONS.progress.from).not.toContain('assigned');
    expect(TERMINAL_STATUSES.every(isTerminal)).toBe(true);
  });

  it('sends work to the target and news of it to the assigner', () => {
    expect(EVENT_AUDIENCE['task.assigned']).toEqual(['target']);
    expect(EVENT_AUDIENCE['task.cancelled']).toEqual(['assigner', 'target']);
    expect(taskEventRecipients('task.cancelled', { assigner: 'me', target: 'me' })).toEqual(['me']);
    expect(taskEventRecipients('task.completed', { assigner: 'a', target: 'b' })).toEqual(['a']);
  });

  it('ranks priorities so that urgent sorts first', () => {
    expect(PRIORITIES.map(priorityRank)).toEqual([0, 1, 2, 3]);
    expect(priorityFromRank(3)).toBe('urgent');
    expect(() => priorityFromRank(9)).toThrow();
  });
});

describe('pickAgent', () => {
  const connected = new Set(['c']);
  const isConnected = (name: string) => connected.has(name);

  it('picks nobody from nobody', () => {
    expect(pickAgent([], isConnected)).toBeUndefined();
  });

  it('orders by connected, then open tasks, then least recently assigned, then name', () => {
    expect(
      pickAgent(
        [
          { name: 'a', openTasks: 0, lastAssignedAt: null },
          { name: 'c', openTasks: 9, lastAssignedAt: 5 },
        ],
        isConnected,
      ),
    ).toBe('c');
    expect(
      pickAgent(
        [
          { name: 'a', openTasks: 2, lastAssignedAt: null },
          { name: 'b', openTasks: 1, lastAssignedAt: 100 },
        ],
        isConnected,
      ),
    ).toBe('b');
    expect(
      pickAgent(
        [
          { name: 'a', openTasks: 1, lastAssignedAt: 200 },
          { name: 'b', openTasks: 1, lastAssignedAt: 100 },
          { name: 'd', openTasks: 1, lastAssignedAt: null },
        ],
        isConnected,
      ),
    ).toBe('d');
    expect(
      pickAgent(
        [
          { name: 'b', openTasks: 0, lastAssignedAt: null },
          { name: 'a', openTasks: 0, lastAssignedAt: null },
        ],
        isConnected,
      ),
    ).toBe('a');
  });
});
