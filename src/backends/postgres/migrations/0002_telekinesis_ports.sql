-- Databases created before telekinesis (x2goserver < 4.1) lack the two ports; the reference's
-- --updatedb adds them and redefines sessions_view and its update rule. Found in place in
-- databases 0001 created.
alter table sessions add column if not exists tekictrl_port int;
alter table sessions add column if not exists tekidata_port int;

create or replace VIEW sessions_view as
  SELECT agent_pid, session_id, display, server, status, init_time, cookie, client, gr_port,
    sound_port, last_time, uname, fs_port, tekictrl_port, tekidata_port from sessions
  where creator_id = current_user;

create or replace RULE update_sess_view AS ON UPDATE
  TO sessions_view DO INSTEAD
  update sessions set
    status=NEW.status, last_time=NEW.last_time, cookie=NEW.cookie, agent_pid=NEW.agent_pid,
    client=NEW.client, gr_port=NEW.gr_port, sound_port=NEW.sound_port, fs_port=NEW.fs_port,
    tekictrl_port=NEW.tekictrl_port, tekidata_port=NEW.tekidata_port
  where session_id=OLD.session_id and creator_id=current_user;
