-- Routing picks, among the agents offering a capability, the one with the fewest open tasks. Counting each
-- candidate's open tasks on every routed task cost as much as inserting the task (three index seeks per
-- candidate), so the figure now lives on the agent's row. The store keeps it in the statements that move tasks
-- (tasks.ts: insert and transition, the only writes to tasks); triggers did the same, but each fired for every
-- change of status and cost more than the count saved.

-- The rows of existing agents are counted by the store when it opens the file, right after the migrations
-- (db.ts: recountOpenTasks), as at every open.
ALTER TABLE agents ADD COLUMN open_tasks INTEGER NOT NULL DEFAULT 0;

-- An agent registered under a name that open tasks still target (a removal that left them) starts from their
-- count, not from zero. Registrations are rare: a trigger here costs nothing on the hot path.
CREATE TRIGGER agents_open_tasks_on_insert AFTER INSERT ON agents
BEGIN
  UPDATE agents SET open_tasks = (
    SELECT count(*) FROM tasks t WHERE t.target = new.name AND t.status IN ('assigned', 'claimed', 'in_progress'))
  WHERE name = new.name;
END;
