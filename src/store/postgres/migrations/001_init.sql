-- The whole schema as SQLite has it after its migrations 001–004, for PostgreSQL 15 or newer.
-- Times are bigint milliseconds since the epoch (UTC), as on SQLite, so both stores hand the layers above the same
-- numbers. JSON values (payloads, results, event data, capabilities) are text, not jsonb: the hub never queries
-- inside them, and text gives back exactly the bytes that were stored (jsonb reorders keys and drops duplicates,
-- so a task's payload would come back changed, and each event would be parsed on write and re-serialised on every
-- replay). Names sort with the "C" collation, byte order as on SQLite, whatever the database's locale.

CREATE TABLE agents (
  name             text COLLATE "C" PRIMARY KEY,
  capabilities     text NOT NULL DEFAULT '[]',
  email            text,
  description      text,
  created_at       bigint NOT NULL,
  last_seen        bigint,
  last_assigned_at bigint
);

-- One row per (capability, agent) so that routing by capability is an index lookup.
CREATE TABLE agent_capabilities (
  capability text NOT NULL,
  agent      text COLLATE "C" NOT NULL REFERENCES agents (name) ON DELETE CASCADE,
  PRIMARY KEY (capability, agent)
);
CREATE INDEX agent_capabilities_by_agent ON agent_capabilities (agent);

-- Token versions outlive their agent: a name that is removed and created again must not accept old tokens.
CREATE TABLE agent_token_versions (
  name    text COLLATE "C" PRIMARY KEY,
  version integer NOT NULL
);

CREATE TABLE tasks (
  seq              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  id               text NOT NULL UNIQUE,
  kind             text NOT NULL CHECK (kind IN ('task', 'rpc')),
  task             text NOT NULL,
  payload          text,
  capability       text,
  priority         integer NOT NULL CHECK (priority BETWEEN 0 AND 3),
  status           text NOT NULL CHECK (status IN
                     ('assigned', 'claimed', 'in_progress', 'completed', 'failed', 'cancelled', 'expired')),
  assigner         text COLLATE "C" NOT NULL,
  target           text COLLATE "C" NOT NULL,
  deadline         bigint,
  result           text,
  error            text,
  attempts         integer NOT NULL DEFAULT 0,
  lease_expires_at bigint,
  lease_seconds    integer,
  idempotency_key  text,
  created_at       bigint NOT NULL,
  updated_at       bigint NOT NULL,
  claimed_at       bigint,
  completed_at     bigint
);

CREATE UNIQUE INDEX tasks_by_idempotency_key ON tasks (assigner, idempotency_key) WHERE idempotency_key IS NOT NULL;
CREATE INDEX tasks_by_target ON tasks (target, status, priority DESC, seq);
CREATE INDEX tasks_by_assigner ON tasks (assigner, status, seq);
CREATE INDEX tasks_by_status ON tasks (status, seq);
CREATE INDEX tasks_by_lease ON tasks (lease_expires_at)
  WHERE lease_expires_at IS NOT NULL AND status IN ('claimed', 'in_progress');
CREATE INDEX tasks_by_deadline ON tasks (deadline)
  WHERE deadline IS NOT NULL AND status IN ('assigned', 'claimed', 'in_progress');

-- The hub-wide event log. Ids must become visible in increasing order: a reader that has seen id n must never later
-- find a committed id below n (ids from a plain sequence commit out of order). So an id is drawn only by
-- next_event_id(), which first takes a transaction-scoped advisory lock (the key is EVENTS_LOCK in locks.ts) that is
-- held until the transaction ends: at most one open transaction holds drawn ids at a time, and they are greater
-- than every committed one. Being the column default, it holds for every writer, not only for the store's code.
-- A sequence never reuses a value, so Last-Event-ID stays valid; a rolled-back transaction leaves a hole, not a gap.
CREATE SEQUENCE events_id_seq;

CREATE FUNCTION next_event_id() RETURNS bigint LANGUAGE plpgsql VOLATILE AS $$
BEGIN
  PERFORM pg_advisory_xact_lock(7310412760313856002);
  RETURN nextval('events_id_seq');
END
$$;

CREATE TABLE events (
  id       bigint PRIMARY KEY DEFAULT next_event_id(),
  type     text NOT NULL,
  at       bigint NOT NULL,
  task_id  text,
  -- A task's history is read by the task's seq, which grows, rather than by its random UUID.
  task_seq bigint,
  data     text NOT NULL
);

ALTER SEQUENCE events_id_seq OWNED BY events.id;

CREATE INDEX events_by_task_seq ON events (task_seq, id) WHERE task_seq IS NOT NULL;
CREATE INDEX events_by_at ON events (at);

-- The delivery log behind replay: which agent each event is for. Pruned after the retention period; the events
-- themselves stay as the tasks' audit trail.
CREATE TABLE event_recipients (
  agent    text COLLATE "C" NOT NULL,
  event_id bigint NOT NULL,
  PRIMARY KEY (agent, event_id)
);
CREATE INDEX event_recipients_by_event ON event_recipients (event_id);

CREATE TABLE meta (
  key   text PRIMARY KEY,
  value text NOT NULL
);

-- One row per (event, recipient) that must be mailed, written in the transaction of the event itself.
CREATE TABLE outbox (
  id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  event_id        bigint NOT NULL REFERENCES events (id),
  agent           text COLLATE "C" NOT NULL,
  -- The address registered when the event happened: a later change of address does not redirect old mail.
  email           text NOT NULL,
  status          text NOT NULL DEFAULT 'queued' CHECK (status IN ('queued', 'sent', 'failed')),
  -- Sends started so far (a claim counts, so a crash mid-send is not retried forever unnoticed).
  attempts        integer NOT NULL DEFAULT 0,
  -- When the row may next be sent; a sender claiming a row pushes this forward (its visibility timeout).
  next_attempt_at bigint NOT NULL,
  created_at      bigint NOT NULL,
  sent_at         bigint,
  last_error      text,
  UNIQUE (event_id, agent)
);

CREATE INDEX outbox_due ON outbox (next_attempt_at, id) WHERE status = 'queued';
CREATE INDEX outbox_by_status ON outbox (status);

-- Mail the embedded listener accepted (only when no TASKHUB_SMTP_URL is set): what `GET /api/mailbox` shows.
CREATE TABLE dev_mailbox (
  id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  sender      text NOT NULL,
  recipient   text NOT NULL,
  subject     text NOT NULL,
  headers     text NOT NULL,
  text        text NOT NULL,
  json        text,
  received_at bigint NOT NULL
);

CREATE INDEX dev_mailbox_by_recipient ON dev_mailbox (recipient, id);

-- Messages between agents, one row per recipient, all copies of one send sharing a thread_id.
CREATE TABLE messages (
  seq         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  id          text NOT NULL UNIQUE,
  thread_id   text NOT NULL,
  sender      text COLLATE "C" NOT NULL,
  recipient   text COLLATE "C" NOT NULL,
  subject     text NOT NULL,
  body        text NOT NULL,
  in_reply_to text,
  created_at  bigint NOT NULL,
  read_at     bigint
);

CREATE INDEX messages_by_recipient ON messages (recipient, seq);
CREATE INDEX messages_unread_by_recipient ON messages (recipient, seq) WHERE read_at IS NULL;
CREATE INDEX messages_by_thread ON messages (thread_id, seq);
