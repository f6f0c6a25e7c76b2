-- Quotas (src/model/quota.ts) count a user's ports by session on every insert; without an index
-- SQLite builds a temporary one each time (13 ms with 27,000 ports). The reference's code does
-- not notice an extra index.
CREATE INDEX IF NOT EXISTS x2go_used_ports_session_id ON used_ports (session_id);
