-- Messages between agents. One row per recipient: a message to a list or to ALL is stored once for each
-- recipient, every copy with its own id and read state, all sharing one thread_id.
-- Times are INTEGER milliseconds since the epoch (UTC).

CREATE TABLE messages (
  seq         INTEGER PRIMARY KEY,
  id          TEXT NOT NULL UNIQUE,
  thread_id   TEXT NOT NULL,
  sender      TEXT NOT NULL,
  recipient   TEXT NOT NULL,
  subject     TEXT NOT NULL,
  body        TEXT NOT NULL,
  in_reply_to TEXT,
  created_at  INTEGER NOT NULL,
  read_at     INTEGER
) STRICT;

-- The inbox, oldest first, paged by seq; the partial index keeps the unread view small however much is read.
CREATE INDEX messages_by_recipient ON messages (recipient, seq);
CREATE INDEX messages_unread_by_recipient ON messages (recipient, seq) WHERE read_at IS NULL;
-- Thread reads and the participant check (who sent or received any message of the thread).
CREATE INDEX messages_by_thread ON messages (thread_id, seq);
