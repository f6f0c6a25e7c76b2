-- Security enforced by PostgreSQL itself, for every client: our programs, the reference's Perl
-- nodes in a mixed farm, and a user who connects with psql and the password in ~/.x2go/pgsqlpass.
--
--   * Each x2gouser_<name> role reads and changes only its own rows of sessions, used_ports and
--     mounts (row-level security), cannot insert rows in anyone else's name, and cannot change
--     creator_id, uname, session_id, display or server (column privileges).
--   * What everyone needs for allocation is exposed without identities: servers_view (server,
--     display, status) and ports_view (server, port). The reference let every user read
--     used_ports, i.e. every session id and so every user name; now only one's own rows.
--   * Values that root's tools later pass to a shell (session ids, user and server names) must
--     have the reference's formats, whoever writes them (CHECK constraints; NOT VALID, so rows
--     already stored are kept).
--   * x2godbuser (root's role) sees and changes everything.
--   * The reference's views and their update/delete rules stay, so Perl nodes keep working.
--
-- Privileges are granted to the group role x2go_users; x2godbadmin --adduser makes each user's
-- role a member. Roles belong to the whole cluster, so they are created only if missing.

DO $$
BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'x2go_users') THEN
    CREATE ROLE x2go_users NOLOGIN;
  END IF;
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'x2godbuser') THEN
    CREATE ROLE x2godbuser LOGIN;
  END IF;
END $$;

-- The reference's rules turned forbidden changes into silent no-ops; the policies below refuse
-- them with an error instead.
DROP RULE IF EXISTS update_sess_priv ON sessions;
DROP RULE IF EXISTS insert_sess_priv ON sessions;
DROP RULE IF EXISTS delete_sess_priv ON sessions;
DROP RULE IF EXISTS insert_port_priv ON used_ports;
DROP RULE IF EXISTS update_port_priv ON used_ports;
DROP RULE IF EXISTS delete_port_priv ON used_ports;
DROP RULE IF EXISTS insert_mount_priv ON mounts;
DROP RULE IF EXISTS update_mount_priv ON mounts;
DROP RULE IF EXISTS delete_mount_priv ON mounts;

-- The two views that filter by creator are recreated as security barriers (a user's own
-- function in a WHERE clause cannot see the rows the view hides), and sessions.client becomes
-- text: a desktop-sharing session's client is the server's host name, which inet refused (so
-- desktop sharing failed on the reference's PostgreSQL backend). Host addresses keep their form.
DROP VIEW IF EXISTS sessions_view;
DROP VIEW IF EXISTS mounts_view;
ALTER TABLE sessions ALTER COLUMN client TYPE text USING
  CASE WHEN masklen(client) = CASE family(client) WHEN 4 THEN 32 ELSE 128 END THEN host(client) ELSE client::text END;

CREATE VIEW sessions_view WITH (security_barrier) AS
  SELECT agent_pid, session_id, display, server, status, init_time, cookie, client, gr_port,
    sound_port, last_time, uname, fs_port, tekictrl_port, tekidata_port FROM sessions
  WHERE creator_id = current_user;

CREATE RULE update_sess_view AS ON UPDATE TO sessions_view DO INSTEAD
  UPDATE sessions SET
    status = NEW.status, last_time = NEW.last_time, cookie = NEW.cookie, agent_pid = NEW.agent_pid,
    client = NEW.client, gr_port = NEW.gr_port, sound_port = NEW.sound_port, fs_port = NEW.fs_port,
    tekictrl_port = NEW.tekictrl_port, tekidata_port = NEW.tekidata_port
  WHERE session_id = OLD.session_id AND creator_id = current_user;

CREATE VIEW mounts_view WITH (security_barrier) AS
  SELECT client, path, session_id FROM mounts WHERE creator_id = current_user;

CREATE RULE delete_mounts_view AS ON DELETE TO mounts_view DO INSTEAD
  DELETE FROM mounts WHERE session_id = OLD.session_id AND creator_id = current_user AND path = OLD.path;

-- Formats of what is stored (the reference's x2gosid format for session ids).
CREATE OR REPLACE FUNCTION x2go_is_session_id(sid text) RETURNS boolean LANGUAGE sql IMMUTABLE AS $$
  SELECT length(sid) <= 500
    AND sid ~ '^[a-zA-Z0-9._][a-zA-Z0-9._@-]*-[0-9]{2,4}-[0-9]{9,12}_[a-zA-Z0-9._-]*_dp[0-9]{1,2}[a-zA-Z0-9._-]*$'
$$;

CREATE OR REPLACE FUNCTION x2go_is_host_name(name text) RETURNS boolean LANGUAGE sql IMMUTABLE AS $$
  SELECT length(name) BETWEEN 1 AND 100 AND name ~ '^[A-Za-z0-9_][A-Za-z0-9._-]*$'
$$;

ALTER TABLE sessions
  ADD CONSTRAINT x2go_session_id_format CHECK (x2go_is_session_id(session_id)) NOT VALID,
  ADD CONSTRAINT x2go_uname_format CHECK (uname ~ '^[^[:cntrl:]|:]{1,100}$') NOT VALID,
  ADD CONSTRAINT x2go_server_format CHECK (x2go_is_host_name(server)) NOT VALID,
  ADD CONSTRAINT x2go_status CHECK (status IN ('R', 'S', 'T', 'F')) NOT VALID,
  ADD CONSTRAINT x2go_display_range CHECK (display BETWEEN 1 AND 59535) NOT VALID,
  ADD CONSTRAINT x2go_client_format CHECK (client IS NULL OR client ~ '^[A-Za-z0-9_.:%-]{1,253}$') NOT VALID,
  ADD CONSTRAINT x2go_cookie_format CHECK (cookie IS NULL OR rtrim(cookie) ~ '^[A-Za-z0-9]+$') NOT VALID,
  ADD CONSTRAINT x2go_ports_range CHECK (
    coalesce(gr_port, 1) BETWEEN 1 AND 65535 AND coalesce(sound_port, 1) BETWEEN 1 AND 65535
    AND coalesce(fs_port, 1) BETWEEN 1 AND 65535
    AND coalesce(tekictrl_port, -1) BETWEEN -1 AND 65535 AND coalesce(tekidata_port, -1) BETWEEN -1 AND 65535) NOT VALID;

ALTER TABLE used_ports
  ADD CONSTRAINT x2go_port_range CHECK (port BETWEEN 1 AND 65535) NOT VALID,
  ADD CONSTRAINT x2go_server_format CHECK (x2go_is_host_name(server)) NOT VALID;

ALTER TABLE mounts
  ADD CONSTRAINT x2go_path_format CHECK (length(path) <= 512 AND path !~ '[[:cntrl:]|]') NOT VALID;

-- Who is calling: the UNIX name behind an x2gouser_<name> role (without a domain's backslash,
-- as session ids and uname have it), or NULL for any other role.
CREATE OR REPLACE FUNCTION x2go_caller() RETURNS text LANGUAGE sql STABLE AS $$
  SELECT CASE WHEN current_user LIKE 'x2gouser\_%' THEN replace(substr(current_user, 10), '\', '') END
$$;

-- alice-51-1700000000_stD...: a desktop session of alice (types D and R).
CREATE OR REPLACE FUNCTION x2go_names_desktop_of(sid text, usr text) RETURNS boolean LANGUAGE sql IMMUTABLE AS $$
  SELECT starts_with(sid, usr || '-') AND substr(sid, length(usr) + 2) ~ '^[0-9]{2,}-[0-9]{10,}_st[DR]'
$$;

-- bob-52-1700000000_stS1XSHADaliceXSHAD...: a session sharing alice's desktop (with bob).
CREATE OR REPLACE FUNCTION x2go_shares_desktop_of(sid text, usr text) RETURNS boolean LANGUAGE sql IMMUTABLE AS $$
  SELECT coalesce(starts_with(substring(sid FROM '^.*?-[0-9]{2,}-[0-9]{10,}_stS[01]XSHAD(.*)$'), usr || 'XSHAD'), false)
$$;

-- Who may create a row for `owner`: the owner, for a session id naming them; or the owner of a
-- shared desktop, for the viewer who asked (the id is named after the viewer, who must exist).
CREATE OR REPLACE FUNCTION x2go_may_create(sid text, owner text) RETURNS boolean LANGUAGE sql STABLE AS $$
  SELECT CASE
    WHEN owner = x2go_caller() THEN x2go_names_desktop_of(sid, owner) OR x2go_shares_desktop_of(sid, owner)
    ELSE starts_with(sid, owner || '-') AND x2go_shares_desktop_of(sid, x2go_caller())
      AND EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'x2gouser_' || owner)
  END
$$;

-- A session holds at most 16 ports (X2Go uses five at most); a user cannot reserve them all.
CREATE OR REPLACE FUNCTION x2go_limit_ports() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF (SELECT count(*) FROM used_ports WHERE session_id = NEW.session_id) >= 16 THEN
    RAISE EXCEPTION 'session holds 16 ports already' USING ERRCODE = 'X2P01';
  END IF;
  RETURN NEW;
END
$$;
DROP TRIGGER IF EXISTS x2go_limit_ports ON used_ports;
CREATE TRIGGER x2go_limit_ports BEFORE INSERT ON used_ports FOR EACH ROW EXECUTE FUNCTION x2go_limit_ports();

ALTER TABLE sessions ENABLE ROW LEVEL SECURITY;
ALTER TABLE used_ports ENABLE ROW LEVEL SECURITY;
ALTER TABLE mounts ENABLE ROW LEVEL SECURITY;

CREATE POLICY x2go_admin ON sessions TO x2godbuser USING (true) WITH CHECK (true);
CREATE POLICY x2go_read ON sessions FOR SELECT TO x2go_users
  USING (creator_id = current_user OR uname = x2go_caller());
CREATE POLICY x2go_insert ON sessions FOR INSERT TO x2go_users
  WITH CHECK (creator_id = current_user AND x2go_may_create(session_id, uname));
CREATE POLICY x2go_update ON sessions FOR UPDATE TO x2go_users
  USING (creator_id = current_user) WITH CHECK (creator_id = current_user);
CREATE POLICY x2go_delete ON sessions FOR DELETE TO x2go_users USING (creator_id = current_user);

CREATE POLICY x2go_admin ON used_ports TO x2godbuser USING (true) WITH CHECK (true);
CREATE POLICY x2go_own ON used_ports TO x2go_users
  USING (creator_id = current_user)
  WITH CHECK (creator_id = current_user AND EXISTS (
    SELECT 1 FROM sessions s WHERE s.session_id = used_ports.session_id AND s.creator_id = current_user));

CREATE POLICY x2go_admin ON mounts TO x2godbuser USING (true) WITH CHECK (true);
CREATE POLICY x2go_own ON mounts TO x2go_users
  USING (creator_id = current_user)
  WITH CHECK (creator_id = current_user AND EXISTS (
    SELECT 1 FROM sessions s WHERE s.session_id = mounts.session_id AND s.creator_id = current_user));

-- Deny by default, then grant. Users get column-level UPDATE on sessions only.
REVOKE ALL ON sessions, used_ports, mounts, messages, user_messages,
  sessions_view, servers_view, ports_view, mounts_view FROM PUBLIC;
GRANT SELECT, INSERT, DELETE ON sessions, used_ports, mounts TO x2go_users;
GRANT UPDATE (status, last_time, cookie, agent_pid, client, gr_port, sound_port, fs_port, tekictrl_port, tekidata_port)
  ON sessions TO x2go_users;
GRANT SELECT, UPDATE, DELETE ON sessions_view, mounts_view TO x2go_users;
GRANT SELECT ON servers_view, ports_view TO x2go_users;
GRANT ALL ON sessions, used_ports, mounts, messages, user_messages,
  sessions_view, servers_view, ports_view, mounts_view TO x2godbuser;

-- No temporary objects: a user's own (temporary) function is the classic way to make a view
-- leak rows, and nothing in X2Go needs one.
DO $$
BEGIN
  EXECUTE format('REVOKE TEMPORARY ON DATABASE %I FROM PUBLIC', current_database());
  EXECUTE format('REVOKE CREATE ON DATABASE %I FROM PUBLIC', current_database());
END $$;
REVOKE CREATE ON SCHEMA public FROM PUBLIC;

-- Users the reference added hold direct grants (among them UPDATE of every column of sessions
-- and SELECT on used_ports); they lose those and join the group instead.
DO $$
DECLARE
  r record;
BEGIN
  FOR r IN SELECT rolname FROM pg_roles WHERE rolname LIKE 'x2gouser\_%' LOOP
    EXECUTE format('REVOKE ALL ON sessions, used_ports, mounts, sessions_view, servers_view, ports_view, mounts_view FROM %I', r.rolname);
    EXECUTE format('GRANT x2go_users TO %I', r.rolname);
  END LOOP;
END $$;
