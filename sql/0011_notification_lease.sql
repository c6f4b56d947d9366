-- Delivery claims keep their lease in a column of its own instead of in next_try_at. A claim then
-- changes no indexed column (attempts, claim, lease_until), and with room left on every page
-- (fillfactor 50: each notification is claimed once before it is delivered) PostgreSQL makes it a
-- HOT update: no new entry in any of the table's four indexes. Claims were about half of a
-- deliverer's database time. next_try_at keeps meaning "not sent before this" (backoff, quiet
-- hours); a row is claimable when it is due and holds no lease that has not lapsed.
ALTER TABLE notifications ADD COLUMN lease_until timestamptz;
COMMENT ON COLUMN notifications.lease_until IS
    'While claimed: the claim''s lease. Another deliverer may take the row once it has passed (the holder died).';
ALTER TABLE notifications SET (fillfactor = 50);
