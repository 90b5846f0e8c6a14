-- Email: the durable outbox of mail to agents without an open stream, and the dev mailbox of the embedded SMTP
-- listener. Times are INTEGER milliseconds since the epoch (UTC).

-- One row per (event, recipient) that must be mailed, written in the transaction of the event itself, so a
-- committed event is never without its mail and a rolled-back one never has one. The mail is composed at send
-- time from the event row (events are kept as the audit trail; only their replay index is pruned).
CREATE TABLE outbox (
  id              INTEGER PRIMARY KEY,
  event_id        INTEGER NOT NULL REFERENCES events (id),
  agent           TEXT NOT NULL,
  -- The address registered when the event happened: a later change of address does not redirect old mail.
  email           TEXT NOT NULL,
  status          TEXT NOT NULL DEFAULT 'queued' CHECK (status IN ('queued', 'sent', 'failed')),
  -- Sends started so far (a claim counts, so a crash mid-send is not retried forever unnoticed).
  attempts        INTEGER NOT NULL DEFAULT 0,
  -- When the row may next be sent; a sender claiming a row pushes this forward (its visibility timeout).
  next_attempt_at INTEGER NOT NULL,
  created_at      INTEGER NOT NULL,
  sent_at         INTEGER,
  last_error      TEXT,
  UNIQUE (event_id, agent)
) STRICT;

CREATE INDEX outbox_due ON outbox (next_attempt_at, id) WHERE status = 'queued';
CREATE INDEX outbox_by_status ON outbox (status);

-- Mail the embedded listener accepted for addresses that are not reply addresses (only when no
-- TASKHUB_SMTP_URL is set): what `GET /api/mailbox` shows. Capped by the mailbox module, oldest dropped first.
CREATE TABLE dev_mailbox (
  id          INTEGER PRIMARY KEY AUTOINCREMENT,
  sender      TEXT NOT NULL,
  recipient   TEXT NOT NULL,
  subject     TEXT NOT NULL,
  headers     TEXT NOT NULL,
  text        TEXT NOT NULL,
  json        TEXT,
  received_at INTEGER NOT NULL
) STRICT;

CREATE INDEX dev_mailbox_by_recipient ON dev_mailbox (recipient, id);
