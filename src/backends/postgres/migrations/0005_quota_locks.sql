-- Per-user quotas (src/model/quota.ts) are counted and checked inside the transaction that
-- inserts, and two starters of one user (on any server of the farm) must not both pass the check
-- before either has inserted. So each user's transactions that create sessions or ports first
-- lock a row of their own here, then count, then insert.
--
-- A row lock rather than an advisory lock: any role may take any advisory lock, so a user with
-- psql could hold another user's key and stall their logins. Row-level security lets each role
-- see, insert and lock only its own row here; root's role (x2godbuser) is not limited and needs
-- no row, but may clear the table.

CREATE TABLE IF NOT EXISTS x2go_quota_locks (holder text PRIMARY KEY DEFAULT current_user);
ALTER TABLE x2go_quota_locks ENABLE ROW LEVEL SECURITY;
CREATE POLICY x2go_admin ON x2go_quota_locks TO x2godbuser USING (true) WITH CHECK (true);
CREATE POLICY x2go_own ON x2go_quota_locks TO x2go_users USING (holder = current_user) WITH CHECK (holder = current_user);
REVOKE ALL ON x2go_quota_locks FROM PUBLIC;
GRANT SELECT, INSERT, UPDATE ON x2go_quota_locks TO x2go_users;
GRANT ALL ON x2go_quota_locks TO x2godbuser;

-- What a user holds is counted by creator on every insert: keep that an index lookup.
CREATE INDEX IF NOT EXISTS sessions_creator_id ON sessions (creator_id);
CREATE INDEX IF NOT EXISTS used_ports_creator_id ON used_ports (creator_id);
