-- Routing counts each candidate's open tasks inside the creating transaction. Through tasks_by_target that count
-- walks every index entry the target's tasks ever had while open: each transition writes a new entry (status is in
-- that index), and the old ones stay until vacuum, each costing a heap visit. This index holds open tasks only: a
-- task that finishes adds nothing to it.
CREATE INDEX tasks_open_by_target ON tasks (target) WHERE status IN ('assigned', 'claimed', 'in_progress');
