-- The schema of x2goserver 4.1.0.3's `x2godbadmin --createdb` (SQLite), statement for statement,
-- so that files created by either implementation are interchangeable.
-- Display numbers and ports are unique across the whole file, as in the reference.

create table sessions(
  session_id varchar(500) primary key,
  display integer not null,
  uname varchar(100) not null,
  server varchar(100) not null,
  client inet,
  status char(1) not null default 'R',
  init_time timestamp not null default CURRENT_TIMESTAMP,
  last_time timestamp not null default CURRENT_TIMESTAMP,
  cookie char(33),
  agent_pid int,
  gr_port int,
  sound_port int,
  fs_port int,
  tekictrl_port int,
  tekidata_port int,
  unique(display));

create table messages(mess_id varchar(20) primary key, message text);

create table user_messages(
  mess_id varchar(20) not null,
  uname varchar(100) not null);

create table used_ports(
  server varchar(100) not null,
  session_id varchar(500) references sessions on delete cascade,
  port integer primary key);

create table mounts(
  session_id varchar(500) references sessions on delete restrict,
  path varchar(512) not null,
  client inet not null,
  primary key(path,client));

-- SQLite does not enforce the foreign keys above unless asked to, and the reference never asks;
-- these two triggers are how it keeps mounts and ports in step with sessions.
CREATE TRIGGER fkd_mounts_session_id
  BEFORE DELETE ON sessions
  FOR EACH ROW BEGIN
  SELECT CASE
  WHEN ((SELECT session_id FROM mounts WHERE session_id = OLD.session_id) IS NOT NULL)
  THEN RAISE(ABORT, 'delete on table "sessions" violates foreign key on table "mounts"')
  END;
  END;

CREATE TRIGGER fkd_ports_session_id
  BEFORE DELETE ON sessions
  FOR EACH ROW
  BEGIN
  DELETE FROM used_ports WHERE session_id = OLD.session_id;
  END;
