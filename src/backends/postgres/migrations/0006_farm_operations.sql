-- The tables the farm is run from (operations, monitoring, placement):
--
--   * nodes: one row per x2gosessiond, refreshed by its heartbeat. A node not seen for
--     [sessiond] node_timeout is down (derived from last_seen, never stored, so a node that
--     died cannot leave itself marked up). state/weight/capacity are the administrator's
--     placement settings; load is what the service last reported (sessions by status, load
--     average per core, memory available). Perl nodes never appear here.
--   * session_events: the history of every session, written in the same transaction as the
--     change it describes. Each user reads only the events of their own sessions; a user's role
--     may append only the kinds of event its own helpers cause, for sessions it may create.
--     Nothing but root's role updates or deletes (retention pruning).
--   * admin_requests: terminate/suspend requests queued for the node that runs the session's
--     agent; that node's service carries them out and records the outcome. Root's role only.
--
-- NOTIFY payloads carry no identities: any role may LISTEN on any channel, so the event
-- channel says only which event row is new (readers fetch it under their own role, where
-- row-level security applies) and the request channel only which node should look.

CREATE TABLE IF NOT EXISTS nodes (
  server text PRIMARY KEY CHECK (x2go_is_host_name(server)),
  version text NOT NULL,
  pid integer,
  started_at timestamptz NOT NULL DEFAULT now(),
  last_seen timestamptz NOT NULL DEFAULT now(),
  state text NOT NULL DEFAULT 'active' CHECK (state IN ('active', 'draining')),
  weight real NOT NULL DEFAULT 1 CHECK (weight > 0),
  capacity integer CHECK (capacity IS NULL OR capacity >= 0),
  load jsonb);

CREATE TABLE IF NOT EXISTS session_events (
  id bigserial PRIMARY KEY,
  at timestamptz NOT NULL DEFAULT clock_timestamp(),
  session_id text NOT NULL,
  uname text NOT NULL,
  server text NOT NULL,
  event text NOT NULL CHECK (event IN
    ('created', 'started', 'suspended', 'resumed', 'finished', 'purged', 'expired', 'cleaned', 'fixed')),
  client text,
  by_uid integer,
  node text,
  detail text,
  creator_id text NOT NULL DEFAULT current_user);
CREATE INDEX IF NOT EXISTS session_events_at ON session_events (at);
CREATE INDEX IF NOT EXISTS session_events_uname_at ON session_events (uname, at);
CREATE INDEX IF NOT EXISTS session_events_session ON session_events (session_id);

CREATE TABLE IF NOT EXISTS admin_requests (
  id bigserial PRIMARY KEY,
  node text NOT NULL,
  session_id text NOT NULL,
  action text NOT NULL CHECK (action IN ('terminate', 'suspend')),
  requested_by integer NOT NULL,
  requested_at timestamptz NOT NULL DEFAULT now(),
  state text NOT NULL DEFAULT 'queued' CHECK (state IN ('queued', 'done', 'failed')),
  outcome text,
  done_at timestamptz);
CREATE INDEX IF NOT EXISTS admin_requests_queued ON admin_requests (node) WHERE state = 'queued';

CREATE OR REPLACE FUNCTION x2go_notify_session_event() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM pg_notify('x2go_session_events', NEW.id::text);
  RETURN NULL;
END
$$;
DROP TRIGGER IF EXISTS x2go_notify_session_event ON session_events;
CREATE TRIGGER x2go_notify_session_event AFTER INSERT ON session_events
  FOR EACH ROW EXECUTE FUNCTION x2go_notify_session_event();

CREATE OR REPLACE FUNCTION x2go_notify_admin_request() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM pg_notify('x2go_admin_requests', NEW.node);
  RETURN NULL;
END
$$;
DROP TRIGGER IF EXISTS x2go_notify_admin_request ON admin_requests;
CREATE TRIGGER x2go_notify_admin_request AFTER INSERT ON admin_requests
  FOR EACH ROW EXECUTE FUNCTION x2go_notify_admin_request();

-- Policies are dropped first, so that applying the migration again (doctor --fix after a lost
-- migration record) gives the same result.
ALTER TABLE session_events ENABLE ROW LEVEL SECURITY;
DROP POLICY IF EXISTS x2go_admin ON session_events;
DROP POLICY IF EXISTS x2go_read ON session_events;
DROP POLICY IF EXISTS x2go_insert ON session_events;
CREATE POLICY x2go_admin ON session_events TO x2godbuser USING (true) WITH CHECK (true);
CREATE POLICY x2go_read ON session_events FOR SELECT TO x2go_users
  USING (uname = x2go_caller() OR creator_id = current_user);
CREATE POLICY x2go_insert ON session_events FOR INSERT TO x2go_users
  WITH CHECK (creator_id = current_user AND x2go_may_create(session_id, uname)
    AND event IN ('created', 'started', 'suspended', 'resumed', 'finished', 'purged'));

REVOKE ALL ON nodes, session_events, admin_requests FROM PUBLIC;
GRANT SELECT ON nodes TO x2go_users;
GRANT SELECT, INSERT ON session_events TO x2go_users;
GRANT USAGE ON SEQUENCE session_events_id_seq TO x2go_users;
GRANT ALL ON nodes, session_events, admin_requests TO x2godbuser;
GRANT ALL ON SEQUENCE session_events_id_seq, admin_requests_id_seq TO x2godbuser;
