-- What a delivery costs the database, per notification (measured with EXPLAIN ANALYZE on the
-- bench's outbox): the claim's payload::text, turning jsonb back into text, was about a quarter of
-- it, and marking delivered paid an entry in every index of the table (the status change is not a
-- HOT update: notifications_due's predicate reads status).
--
-- 1. The payload is stored as json, that is as its text: the deliverer sends it as it is (splicing
--    in the codes), so reading it is a copy. Writers keep building it with jsonb functions; the
--    assignment cast stores jsonb's text, the same bytes as before. Nothing queries inside it.
ALTER TABLE notifications ALTER COLUMN payload TYPE json USING payload::json;

-- 2. notifications_status_created served only `notifications list` and `retry --dead`, yet every
--    notification paid an entry in it when written (sweeps, bundles) and another when delivered.
--    Listing newest first walks the primary key backwards instead (ids come from one identity), and
--    the dead letters, which are few, get a partial index that a delivered notification never enters.
DROP INDEX notifications_status_created;

CREATE INDEX notifications_dead ON notifications (id) WHERE status = 'dead';
COMMENT ON INDEX notifications_dead IS 'notifications list --status dead and retry --dead: the dead letters, which are few.';
