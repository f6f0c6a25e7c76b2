-- The second telekinesis port, added separately as the reference's --updatedb does.
alter table sessions add column tekidata_port int;
