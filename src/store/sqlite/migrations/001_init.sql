-- The core schema: agents, tasks, the hub-wide event log and who each event is for.
-- Times are INTEGER milliseconds since the epoch (UTC); JSON values are TEXT.

CREATE TABLE agents (
  name             TEXT PRIMARY KEY,
  capabilities     TEXT NOT NULL DEFAULT '[]',
  email            TEXT,
  description      TEXT,
  created_at       INTEGER NOT NULL,
  last_seen        INTEGER,
  last_assigned_at INTEGER
) STRICT;

-- One row per (capability, agent) so that routing by capability is an index lookup.
CREATE TABLE agent_capabilities (
  capability TEXT NOT NULL,
  agent      TEXT NOT NULL REFERENCES agents (name) ON DELETE CASCADE,
  PRIMARY KEY (capability, agent)
) STRICT, WITHOUT ROWID;

-- Token versions outlive their agent: a name that is removed and created again must not accept old tokens.
CREATE TABLE agent_token_versions (
  name    TEXT PRIMARY KEY,
  version INTEGER NOT NULL
) STRICT;

CREATE TABLE tasks (
  seq              INTEGER PRIMARY KEY,
  id               TEXT NOT NULL UNIQUE,
  kind             TEXT NOT NULL CHECK (kind IN ('task', 'rpc')),
  task             TEXT NOT NULL,
  payload          TEXT,
  capability       TEXT,
  priority         INTEGER NOT NULL CHECK (priority BETWEEN 0 AND 3),
  status           TEXT NOT NULL CHECK (status IN
                     ('assigned', 'claimed', 'in_progress', 'completed', 'failed', 'cancelled', 'expired')),
  assigner         TEXT NOT NULL,
  target           TEXT NOT NULL,
  deadline         INTEGER,
  result           TEXT,
  error            TEXT,
  attempts         INTEGER NOT NULL DEFAULT 0,
  lease_expires_at INTEGER,
  lease_seconds    INTEGER,
  idempotency_key  TEXT,
  created_at       INTEGER NOT NULL,
  updated_at       INTEGER NOT NULL,
  claimed_at       INTEGER,
  completed_at     INTEGER
) STRICT;

CREATE UNIQUE INDEX tasks_by_idempotency_key ON tasks (assigner, idempotency_key) WHERE idempotency_key IS NOT NULL;
CREATE INDEX tasks_by_target ON tasks (target, status, priority DESC, seq);
CREATE INDEX tasks_by_assigner ON tasks (assigner, status, seq);
CREATE INDEX tasks_by_status ON tasks (status, seq);
CREATE INDEX tasks_by_lease ON tasks (lease_expires_at) WHERE lease_expires_at IS NOT NULL;
CREATE INDEX tasks_by_deadline ON tasks (deadline)
  WHERE deadline IS NOT NULL AND status IN ('assigned', 'claimed', 'in_progress');

-- AUTOINCREMENT: event ids are never reused, even after the newest rows are gone, so Last-Event-ID stays valid.
CREATE TABLE events (
  id      INTEGER PRIMARY KEY AUTOINCREMENT,
  type    TEXT NOT NULL,
  at      INTEGER NOT NULL,
  task_id TEXT,
  data    TEXT NOT NULL
) STRICT;

CREATE INDEX events_by_task ON events (task_id, id) WHERE task_id IS NOT NULL;

-- The delivery log behind replay: which agent each event is for. Pruned after the retention period; the events
-- themselves stay as the tasks' audit trail.
CREATE TABLE event_recipients (
  agent    TEXT NOT NULL,
  event_id INTEGER NOT NULL,
  PRIMARY KEY (agent, event_id)
) STRICT, WITHOUT ROWID;

CREATE TABLE meta (
  key   TEXT PRIMARY KEY,
  value TEXT NOT NULL
) STRICT;
