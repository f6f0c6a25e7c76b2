-- The formats root's tools rely on, held by the file itself: x2gocleansessions and friends pass
-- listed session ids and user names to `su ... -c`, so a row written directly into the file (by
-- anyone holding group x2gouser, as the reference's setgid wrapper let every user) with
-- uname=root or session_id='x;id>pwned;#' would make root run a command. SQLite has no CHECK
-- constraints that can be added to a table, so these triggers refuse such an INSERT or UPDATE,
-- as PostgreSQL's CHECK constraints of 0003_row_level_security.sql do (named alike). Like those
-- (NOT VALID), they leave rows stored before alone: listings still read them (and root's
-- listings skip them with a warning, see src/model/stored-rows.ts).
--
-- GLOB and length only (no regular expressions in plain SQLite), in the same character sets as
-- the CLI's validation (src/model/validate.ts); the reference's Perl code writes only values that
-- pass them. A user name must also be the one the session id is named after, or the owner of
-- the desktop the id shares (XSHAD<user>XSHAD): no row in root's name for someone's session.

CREATE TRIGGER x2go_check_sessions_insert BEFORE INSERT ON sessions FOR EACH ROW BEGIN
  SELECT CASE
    WHEN typeof(NEW.session_id) != 'text' OR length(NEW.session_id) NOT BETWEEN 1 AND 500
      OR NEW.session_id GLOB '*[^a-zA-Z0-9._@-]*'
      OR NEW.session_id NOT GLOB '[a-zA-Z0-9._]*-[0-9][0-9]*-[0-9][0-9][0-9][0-9][0-9][0-9][0-9][0-9][0-9]*_*_dp[0-9]*'
      THEN RAISE(ABORT, 'x2go_session_id_format')
    WHEN typeof(NEW.uname) != 'text' OR length(NEW.uname) NOT BETWEEN 1 AND 100
      OR NEW.uname GLOB '*[^a-zA-Z0-9._@-]*' OR NEW.uname NOT GLOB '[a-zA-Z0-9._]*'
      OR (substr(NEW.session_id, 1, length(NEW.uname) + 1) != NEW.uname || '-'
        AND instr(NEW.session_id, 'XSHAD' || NEW.uname || 'XSHAD') = 0)
      THEN RAISE(ABORT, 'x2go_uname_format')
    WHEN typeof(NEW.server) != 'text' OR length(NEW.server) NOT BETWEEN 1 AND 100
      OR NEW.server GLOB '*[^A-Za-z0-9._-]*' OR NEW.server NOT GLOB '[A-Za-z0-9_]*'
      THEN RAISE(ABORT, 'x2go_server_format')
    WHEN NEW.status IS NULL OR NEW.status NOT IN ('R', 'S', 'T', 'F')
      THEN RAISE(ABORT, 'x2go_status')
    WHEN typeof(NEW.display) != 'integer' OR NEW.display NOT BETWEEN 1 AND 59535
      THEN RAISE(ABORT, 'x2go_display_range')
    WHEN NEW.client IS NOT NULL AND (length(CAST(NEW.client AS TEXT)) NOT BETWEEN 1 AND 253
      OR CAST(NEW.client AS TEXT) GLOB '*[^A-Za-z0-9_.:%-]*')
      THEN RAISE(ABORT, 'x2go_client_format')
    WHEN NEW.cookie IS NOT NULL AND (typeof(NEW.cookie) != 'text' OR length(rtrim(NEW.cookie)) NOT BETWEEN 1 AND 33
      OR rtrim(NEW.cookie) GLOB '*[^A-Za-z0-9]*')
      THEN RAISE(ABORT, 'x2go_cookie_format')
    WHEN NEW.agent_pid IS NOT NULL AND (typeof(NEW.agent_pid) != 'integer' OR NEW.agent_pid < 1)
      THEN RAISE(ABORT, 'x2go_agent_pid')
    WHEN (NEW.gr_port IS NOT NULL AND (typeof(NEW.gr_port) != 'integer' OR NEW.gr_port NOT BETWEEN 1 AND 65535))
      OR (NEW.sound_port IS NOT NULL AND (typeof(NEW.sound_port) != 'integer' OR NEW.sound_port NOT BETWEEN 1 AND 65535))
      OR (NEW.fs_port IS NOT NULL AND (typeof(NEW.fs_port) != 'integer' OR NEW.fs_port NOT BETWEEN 1 AND 65535))
      OR (NEW.tekictrl_port IS NOT NULL AND (typeof(NEW.tekictrl_port) != 'integer' OR NEW.tekictrl_port NOT BETWEEN -1 AND 65535))
      OR (NEW.tekidata_port IS NOT NULL AND (typeof(NEW.tekidata_port) != 'integer' OR NEW.tekidata_port NOT BETWEEN -1 AND 65535))
      THEN RAISE(ABORT, 'x2go_ports_range')
  END;
END;

CREATE TRIGGER x2go_check_sessions_update BEFORE UPDATE ON sessions FOR EACH ROW BEGIN
  SELECT CASE
    WHEN typeof(NEW.session_id) != 'text' OR length(NEW.session_id) NOT BETWEEN 1 AND 500
      OR NEW.session_id GLOB '*[^a-zA-Z0-9._@-]*'
      OR NEW.session_id NOT GLOB '[a-zA-Z0-9._]*-[0-9][0-9]*-[0-9][0-9][0-9][0-9][0-9][0-9][0-9][0-9][0-9]*_*_dp[0-9]*'
      THEN RAISE(ABORT, 'x2go_session_id_format')
    WHEN typeof(NEW.uname) != 'text' OR length(NEW.uname) NOT BETWEEN 1 AND 100
      OR NEW.uname GLOB '*[^a-zA-Z0-9._@-]*' OR NEW.uname NOT GLOB '[a-zA-Z0-9._]*'
      OR (substr(NEW.session_id, 1, length(NEW.uname) + 1) != NEW.uname || '-'
        AND instr(NEW.session_id, 'XSHAD' || NEW.uname || 'XSHAD') = 0)
      THEN RAISE(ABORT, 'x2go_uname_format')
    WHEN typeof(NEW.server) != 'text' OR length(NEW.server) NOT BETWEEN 1 AND 100
      OR NEW.server GLOB '*[^A-Za-z0-9._-]*' OR NEW.server NOT GLOB '[A-Za-z0-9_]*'
      THEN RAISE(ABORT, 'x2go_server_format')
    WHEN NEW.status IS NULL OR NEW.status NOT IN ('R', 'S', 'T', 'F')
      THEN RAISE(ABORT, 'x2go_status')
    WHEN typeof(NEW.display) != 'integer' OR NEW.display NOT BETWEEN 1 AND 59535
      THEN RAISE(ABORT, 'x2go_display_range')
    WHEN NEW.client IS NOT NULL AND (length(CAST(NEW.client AS TEXT)) NOT BETWEEN 1 AND 253
      OR CAST(NEW.client AS TEXT) GLOB '*[^A-Za-z0-9_.:%-]*')
      THEN RAISE(ABORT, 'x2go_client_format')
    WHEN NEW.cookie IS NOT NULL AND (typeof(NEW.cookie) != 'text' OR length(rtrim(NEW.cookie)) NOT BETWEEN 1 AND 33
      OR rtrim(NEW.cookie) GLOB '*[^A-Za-z0-9]*')
      THEN RAISE(ABORT, 'x2go_cookie_format')
    WHEN NEW.agent_pid IS NOT NULL AND (typeof(NEW.agent_pid) != 'integer' OR NEW.agent_pid < 1)
      THEN RAISE(ABORT, 'x2go_agent_pid')
    WHEN (NEW.gr_port IS NOT NULL AND (typeof(NEW.gr_port) != 'integer' OR NEW.gr_port NOT BETWEEN 1 AND 65535))
      OR (NEW.sound_port IS NOT NULL AND (typeof(NEW.sound_port) != 'integer' OR NEW.sound_port NOT BETWEEN 1 AND 65535))
      OR (NEW.fs_port IS NOT NULL AND (typeof(NEW.fs_port) != 'integer' OR NEW.fs_port NOT BETWEEN 1 AND 65535))
      OR (NEW.tekictrl_port IS NOT NULL AND (typeof(NEW.tekictrl_port) != 'integer' OR NEW.tekictrl_port NOT BETWEEN -1 AND 65535))
      OR (NEW.tekidata_port IS NOT NULL AND (typeof(NEW.tekidata_port) != 'integer' OR NEW.tekidata_port NOT BETWEEN -1 AND 65535))
      THEN RAISE(ABORT, 'x2go_ports_range')
  END;
END;

CREATE TRIGGER x2go_check_used_ports_insert BEFORE INSERT ON used_ports FOR EACH ROW BEGIN
  SELECT CASE
    WHEN typeof(NEW.port) != 'integer' OR NEW.port NOT BETWEEN 1 AND 65535 THEN RAISE(ABORT, 'x2go_port_range')
    WHEN typeof(NEW.server) != 'text' OR length(NEW.server) NOT BETWEEN 1 AND 100
      OR NEW.server GLOB '*[^A-Za-z0-9._-]*' OR NEW.server NOT GLOB '[A-Za-z0-9_]*'
      THEN RAISE(ABORT, 'x2go_server_format')
  END;
END;

CREATE TRIGGER x2go_check_used_ports_update BEFORE UPDATE ON used_ports FOR EACH ROW BEGIN
  SELECT CASE
    WHEN typeof(NEW.port) != 'integer' OR NEW.port NOT BETWEEN 1 AND 65535 THEN RAISE(ABORT, 'x2go_port_range')
    WHEN typeof(NEW.server) != 'text' OR length(NEW.server) NOT BETWEEN 1 AND 100
      OR NEW.server GLOB '*[^A-Za-z0-9._-]*' OR NEW.server NOT GLOB '[A-Za-z0-9_]*'
      THEN RAISE(ABORT, 'x2go_server_format')
  END;
END;

-- Listed as client|path lines that x2goumount-session splits on '|' and on newlines.
CREATE TRIGGER x2go_check_mounts_insert BEFORE INSERT ON mounts FOR EACH ROW BEGIN
  SELECT CASE
    WHEN typeof(NEW.path) != 'text' OR length(NEW.path) NOT BETWEEN 1 AND 512
      OR NEW.path GLOB '*[|' || char(1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31, 127) || ']*'
      THEN RAISE(ABORT, 'x2go_path_format')
    WHEN length(CAST(NEW.client AS TEXT)) NOT BETWEEN 1 AND 253 OR CAST(NEW.client AS TEXT) GLOB '*[^A-Za-z0-9_.:%-]*'
      THEN RAISE(ABORT, 'x2go_client_format')
  END;
END;

CREATE TRIGGER x2go_check_mounts_update BEFORE UPDATE ON mounts FOR EACH ROW BEGIN
  SELECT CASE
    WHEN typeof(NEW.path) != 'text' OR length(NEW.path) NOT BETWEEN 1 AND 512
      OR NEW.path GLOB '*[|' || char(1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31, 127) || ']*'
      THEN RAISE(ABORT, 'x2go_path_format')
    WHEN length(CAST(NEW.client AS TEXT)) NOT BETWEEN 1 AND 253 OR CAST(NEW.client AS TEXT) GLOB '*[^A-Za-z0-9_.:%-]*'
      THEN RAISE(ABORT, 'x2go_client_format')
  END;
END;
