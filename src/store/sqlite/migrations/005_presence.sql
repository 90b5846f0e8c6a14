-- Presence and rate limits, kept in the database so that several processes on one store share them. Times are
-- INTEGER milliseconds since the epoch (UTC).

-- One row per running hub, re-asserted by its heartbeat: a hub whose row has expired counts for nothing.
CREATE TABLE hubs (
  hub_id     TEXT PRIMARY KEY,
  started_at INTEGER NOT NULL,
  expires_at INTEGER NOT NULL
) STRICT;

CREATE INDEX hubs_by_expiry ON hubs (expires_at);

-- Open streams per agent on each hub. No foreign key to hubs: a hub whose row was swept while it was cut off
-- keeps counting its streams here, and its next heartbeat brings the hub row back.
CREATE TABLE hub_streams (
  hub_id  TEXT NOT NULL,
  agent   TEXT NOT NULL,
  streams INTEGER NOT NULL CHECK (streams >= 0),
  PRIMARY KEY (hub_id, agent)
) STRICT;

CREATE INDEX hub_streams_by_agent ON hub_streams (agent);

-- GCRA state of each rate-limit bucket: when it is full again. A row whose time has passed says nothing a
-- missing row would not, so such rows are pruned.
CREATE TABLE rate_limits (
  policy  TEXT NOT NULL,
  key     TEXT NOT NULL,
  full_at INTEGER NOT NULL,
  PRIMARY KEY (policy, key)
) STRICT;

CREATE INDEX rate_limits_by_full_at ON rate_limits (full_at);
