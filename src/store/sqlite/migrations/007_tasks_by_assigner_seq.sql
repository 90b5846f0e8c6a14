-- The assigner's tasks by seq alone. With the status in the key every change of status moved the task's entry
-- from one place of the index to another: a delete and an insert, and a page more for the commit to write, on
-- every claim and every completion. The assigner's list, newest first, now reads the index in order instead of
-- sorting all of the assigner's tasks; a list filtered by status checks the status on the rows it reads.

DROP INDEX tasks_by_assigner;

CREATE INDEX tasks_by_assigner ON tasks (assigner, seq);
