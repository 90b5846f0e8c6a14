-- Webhooks: one URL per agent that holds no stream, and its deliveries as a second channel of the outbox, so the
-- queue (enqueue in the event's own transaction, one claimant per row, retries, counts) serves mail and webhooks.

-- An agent's webhook. `events` is a JSON array of event types, NULL for every type. The secret is kept as given
-- (it is the HMAC key; the hub must be able to sign with it). A PUT replaces url, events and secret.
CREATE TABLE webhooks (
  agent      TEXT PRIMARY KEY REFERENCES agents (name) ON DELETE CASCADE,
  url        TEXT NOT NULL,
  events     TEXT,
  secret     TEXT NOT NULL,
  created_at INTEGER NOT NULL
) STRICT;

-- Which way a row goes: 'email' (the column `email` holds the address) or 'webhook' (it holds the URL the event was
-- queued for; the delivery goes to the webhook's URL and secret at send time). UNIQUE (event_id, agent) stays: an
-- event reaches an agent by one channel at most.
ALTER TABLE outbox ADD COLUMN channel TEXT NOT NULL DEFAULT 'email' CHECK (channel IN ('email', 'webhook'));
-- When the last send started (the claim), for the failed deliveries that GET /api/agents/:name/webhook lists.
ALTER TABLE outbox ADD COLUMN last_attempt_at INTEGER;

DROP INDEX outbox_due;
CREATE INDEX outbox_due ON outbox (channel, next_attempt_at, id) WHERE status = 'queued';
DROP INDEX outbox_by_status;
CREATE INDEX outbox_by_status ON outbox (channel, status);
-- One agent's rows of a channel by status, newest first: its counts and its newest failed deliveries.
CREATE INDEX outbox_by_agent ON outbox (agent, channel, status, id);
