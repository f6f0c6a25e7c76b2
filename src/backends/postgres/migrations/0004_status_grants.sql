-- Root's role may read which migrations ran: x2go-sessiondb status reports the schema version.
GRANT SELECT ON x2go_schema_migrations TO x2godbuser;
