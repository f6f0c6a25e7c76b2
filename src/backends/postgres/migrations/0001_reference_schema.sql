-- The schema of x2goserver 4.1.0.3's `x2godbadmin --createdb` (PostgreSQL), statement for
-- statement, so that a database made by either implementation starts out the same. Migration
-- 0003 then replaces the reference's rules with row-level security; a database the reference
-- made is recognised as being at this version (or at 0002) and upgraded from there.

create table sessions(
  session_id text primary key,
  display integer not null,
  uname text not null,
  server text not null,
  client inet,
  status char(1) not null default 'R',
  init_time timestamp not null default now(),
  last_time timestamp not null default now(),
  cookie char(33),
  agent_pid int,
  gr_port int,
  sound_port int,
  fs_port int,
  tekictrl_port int,
  tekidata_port int,
  creator_id text NOT NULL default current_user,
  unique(display));

create VIEW sessions_view as
  SELECT agent_pid, session_id, display, server, status, init_time, cookie, client, gr_port,
    sound_port, last_time, uname, fs_port, tekictrl_port, tekidata_port from sessions
  where creator_id = current_user;

create VIEW servers_view as
  SELECT server, display, status from sessions;

create or replace RULE update_sess_priv AS ON UPDATE
  TO sessions where (OLD.creator_id <> current_user or OLD.creator_id <> NEW.creator_id) and current_user <> 'x2godbuser'
  DO INSTEAD NOTHING;

create or replace RULE insert_sess_priv AS ON INSERT
  TO sessions where NEW.creator_id <> current_user and current_user <> 'x2godbuser'
  DO INSTEAD NOTHING;

create or replace RULE delete_sess_priv AS ON DELETE
  TO sessions where OLD.creator_id <> current_user and current_user <> 'x2godbuser'
  DO INSTEAD NOTHING;

create or replace RULE update_sess_view AS ON UPDATE
  TO sessions_view DO INSTEAD
  update sessions set
    status=NEW.status,
    last_time=NEW.last_time,
    cookie=NEW.cookie,
    agent_pid=NEW.agent_pid,
    client=NEW.client,
    gr_port=NEW.gr_port,
    sound_port=NEW.sound_port,
    fs_port=NEW.fs_port,
    tekictrl_port=NEW.tekictrl_port,
    tekidata_port=NEW.tekidata_port
  where session_id=OLD.session_id and creator_id=current_user;

create table messages(mess_id varchar(20) primary key, message text);

create table user_messages(
  mess_id text not null,
  uname text not null);

create table used_ports(
  server text not null,
  session_id text references sessions on delete cascade,
  creator_id text NOT NULL default current_user,
  port integer primary key);

create VIEW ports_view as
  SELECT server, port from used_ports;

create or replace RULE insert_port_priv AS ON INSERT
  TO used_ports where NEW.creator_id <> current_user and current_user <> 'x2godbuser'
  DO INSTEAD NOTHING;

create or replace RULE update_port_priv AS ON UPDATE
  TO used_ports where (NEW.creator_id <> current_user or OLD.creator_id <> current_user) and current_user <> 'x2godbuser'
  DO INSTEAD NOTHING;

create or replace RULE delete_port_priv AS ON DELETE
  TO used_ports where OLD.creator_id <> current_user and current_user <> 'x2godbuser'
  DO INSTEAD NOTHING;

create table mounts(
  session_id text references sessions on delete restrict,
  path text not null,
  client inet not null,
  creator_id text NOT NULL default current_user,
  primary key(path,client));

create VIEW mounts_view as
  SELECT client,path, session_id from mounts
  where creator_id = current_user;

create or replace RULE delete_mounts_view AS ON DELETE
  TO mounts_view DO INSTEAD
  delete from mounts
  where session_id=OLD.session_id and creator_id=current_user and path=OLD.path;

create or replace RULE insert_mount_priv AS ON INSERT
  TO mounts where NEW.creator_id <> current_user and current_user <> 'x2godbuser'
  DO INSTEAD NOTHING;

create or replace RULE update_mount_priv AS ON UPDATE
  TO mounts where (NEW.creator_id <> current_user or OLD.creator_id <> current_user) and current_user <> 'x2godbuser'
  DO INSTEAD NOTHING;

create or replace RULE delete_mount_priv AS ON DELETE
  TO mounts where OLD.creator_id <> current_user and current_user <> 'x2godbuser'
  DO INSTEAD NOTHING;

GRANT ALL PRIVILEGES ON sessions, messages, user_messages, used_ports, mounts TO x2godbuser;
