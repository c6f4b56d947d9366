-- A claim is a HOT update, so the rows a deliverer holds (claimed, being sent, acknowledged and
-- not yet marked) keep their entries at the front of notifications_due, and every claim stepped
-- over them again, heap visit by heap visit: with two deliverers up to 3,000 rows a claim of 500,
-- which doubled the database's time a notification. With the id in the key, a deliverer's next
-- claim starts where its last one ended ((next_try_at, id) > its last row's, an index condition);
-- a pass ends with a claim from the start, which finds whatever came due behind it.
DROP INDEX notifications_due;
CREATE INDEX notifications_due ON notifications (sink, next_try_at, id) WHERE status = 'pending';
COMMENT ON INDEX notifications_due IS
    'Delivery claims: pending notifications of a sink, due first; a deliverer''s next claim starts after its last (next_try_at, id).';
