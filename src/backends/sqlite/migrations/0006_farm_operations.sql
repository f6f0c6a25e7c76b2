-- The tables the farm is run from, as on PostgreSQL (0006_farm_operations.sql there says what
-- each holds). On SQLite there is one node, the host itself: nodes holds at most its row and
-- admin_requests stays empty; session_events is the history of every session, written in the
-- same transaction as the change it describes. Who may read which events is decided above the
-- file (the file is the service's and root's; users reach it only through our programs).
-- Times are UTC text with milliseconds, ordered as text.

CREATE TABLE IF NOT EXISTS nodes (
  server varchar(100) PRIMARY KEY,
  version text NOT NULL,
  pid integer,
  started_at text NOT NULL DEFAULT (strftime('%Y-%m-%d %H:%M:%f', 'now')),
  last_seen text NOT NULL DEFAULT (strftime('%Y-%m-%d %H:%M:%f', 'now')),
  state text NOT NULL DEFAULT 'active' CHECK (state IN ('active', 'draining')),
  weight real NOT NULL DEFAULT 1 CHECK (weight > 0),
  capacity integer CHECK (capacity IS NULL OR capacity >= 0),
  load text);

CREATE TABLE IF NOT EXISTS session_events (
  id integer PRIMARY KEY AUTOINCREMENT,
  at text NOT NULL DEFAULT (strftime('%Y-%m-%d %H:%M:%f', 'now')),
  session_id varchar(500) NOT NULL,
  uname varchar(100) NOT NULL,
  server varchar(100) NOT NULL,
  event text NOT NULL CHECK (event IN
    ('created', 'started', 'suspended', 'resumed', 'finished', 'purged', 'expired', 'cleaned', 'fixed')),
  client text,
  by_uid integer,
  node text,
  detail text);
CREATE INDEX IF NOT EXISTS session_events_at ON session_events (at);
CREATE INDEX IF NOT EXISTS session_events_uname_at ON session_events (uname, at);
CREATE INDEX IF NOT EXISTS session_events_session ON session_events (session_id);

CREATE TABLE IF NOT EXISTS admin_requests (
  id integer PRIMARY KEY AUTOINCREMENT,
  node text NOT NULL,
  session_id varchar(500) NOT NULL,
  action text NOT NULL CHECK (action IN ('terminate', 'suspend')),
  requested_by integer NOT NULL,
  requested_at text NOT NULL DEFAULT (strftime('%Y-%m-%d %H:%M:%f', 'now')),
  state text NOT NULL DEFAULT 'queued' CHECK (state IN ('queued', 'done', 'failed')),
  outcome text,
  done_at text);
