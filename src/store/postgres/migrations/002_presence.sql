-- Presence and rate limits, shared by every hub on the database. Times are bigint milliseconds since the epoch.

-- One row per running hub, re-asserted by its heartbeat: a hub whose row has expired counts for nothing.
CREATE TABLE hubs (
  hub_id     text COLLATE "C" PRIMARY KEY,
  started_at bigint NOT NULL,
  expires_at bigint NOT NULL
);

CREATE INDEX hubs_by_expiry ON hubs (expires_at);

-- Open streams per agent on each hub. No foreign key to hubs: a hub whose row was swept while it was cut off
-- keeps counting its streams here, and its next heartbeat brings the hub row back.
CREATE TABLE hub_streams (
  hub_id  text COLLATE "C" NOT NULL,
  agent   text COLLATE "C" NOT NULL,
  streams integer NOT NULL CHECK (streams >= 0),
  PRIMARY KEY (hub_id, agent)
);

CREATE INDEX hub_streams_by_agent ON hub_streams (agent);

-- GCRA state of each rate-limit bucket: when it is full again. A row whose time has passed says nothing a
-- missing row would not, so such rows are pruned.
CREATE TABLE rate_limits (
  policy  text COLLATE "C" NOT NULL,
  key     text COLLATE "C" NOT NULL,
  full_at bigint NOT NULL,
  PRIMARY KEY (policy, key)
);

CREATE INDEX rate_limits_by_full_at ON rate_limits (full_at);
