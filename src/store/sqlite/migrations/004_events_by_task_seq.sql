-- A task's events found by the task's seq instead of its id. The id is a random UUID, so an index on it put every
-- new event on a random page of the index, and each commit wrote one page more per task it touched. The seq
-- grows with every task: the events of recent tasks share the last pages of the new index.

ALTER TABLE events ADD COLUMN task_seq INTEGER;

UPDATE events SET task_seq = (SELECT seq FROM tasks WHERE tasks.id = events.task_id) WHERE task_id IS NOT NULL;

DROP INDEX events_by_task;

CREATE INDEX events_by_task_seq ON events (task_seq, id) WHERE task_seq IS NOT NULL;
