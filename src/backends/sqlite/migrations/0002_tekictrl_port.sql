-- Files created before telekinesis (x2goserver < 4.1) lack this column; the reference's
-- `x2godbadmin --updatedb` adds it, and so do we. Present already in files 0001 created.
alter table sessions add column tekictrl_port int;
