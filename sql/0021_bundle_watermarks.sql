-- Bundle watermarks: a bundle chunk knows what each subscription has settled without probing
-- bundle_deliveries once per subscription (that probe was a third of a chunk's server time).
--
-- A watermark says: "every period of this plan due by `through` is recorded in bundle_deliveries
-- (delivered, skipped or waiting) for every subscription whose terms last changed in a transaction
-- before `horizon`". Only a bundle run that settled every chunk and stopped at no catch-up limit
-- writes one, in its final step, with its own slot and the snapshot horizon taken when it was
-- planned (every transaction below it had ended, so each chunk saw those terms). A chunk then
-- treats a subscription three ways (BundleChunkStatement):
--   changed before the horizon, no period waiting: settled = its periods due by `through`,
--     computed by the runner from its terms;
--   created at or after `fresh_after`: nothing settled yet, assumed (a run in progress may have
--     recorded some: the insert then collides on the periods' key and the chunk is redone with probes);
--   anything else (changed since, or a period waiting for stock): probed, as before.
-- Imports, renewals, pauses, resumes and cancels change the terms, so they move the subscription
-- out of the watermark's cover (the trigger below), and its old periods that became due are found.

-- The transaction that created the row, and the last one that changed what decides its periods.
-- Rows from before this migration get 0: never "created after" a horizon, so probed until a run
-- covers them.
ALTER TABLE subscriptions ADD COLUMN created_xid xid8 NOT NULL DEFAULT '0';
ALTER TABLE subscriptions ADD COLUMN terms_xid xid8 NOT NULL DEFAULT '0';
ALTER TABLE subscriptions ALTER COLUMN created_xid SET DEFAULT pg_current_xact_id();
ALTER TABLE subscriptions ALTER COLUMN terms_xid SET DEFAULT pg_current_xact_id();

-- Every path that changes a subscription's terms (the commands, an import's upsert, a hand-made
-- UPDATE) marks it, so no caller can forget to. The WHEN clause is checked in C: unchanged rows
-- and other columns cost no function call.
CREATE FUNCTION subscriptions_terms_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    NEW.terms_xid := pg_current_xact_id();
    RETURN NEW;
END $$;

CREATE TRIGGER subscriptions_terms_changed BEFORE UPDATE ON subscriptions FOR EACH ROW
    WHEN ((OLD.member_id, OLD.plan, OLD.status, OLD.started_at, OLD.anchor_day, OLD.paid_through, OLD.paused_from,
           OLD.paused_until, OLD.cancelled_at, OLD.ends_on)
          IS DISTINCT FROM
          (NEW.member_id, NEW.plan, NEW.status, NEW.started_at, NEW.anchor_day, NEW.paid_through, NEW.paused_from,
           NEW.paused_until, NEW.cancelled_at, NEW.ends_on))
    EXECUTE FUNCTION subscriptions_terms_changed();

CREATE TABLE bundle_watermarks (
    plan       text PRIMARY KEY,
    -- Every period due by this instant is recorded, for subscriptions whose terms_xid < horizon.
    through    timestamptz NOT NULL,
    horizon    xid8 NOT NULL,
    -- The first transaction id not yet assigned when the run was planned: a subscription created
    -- by a transaction at or above it was unknown to the run's plan (a chunk may still have read
    -- it, so "created since" is an assumption the periods' key checks, never a claim).
    fresh_after xid8 NOT NULL,
    -- The plan's schedule (every, day, time, zone) the run used: a changed schedule numbers and
    -- times periods differently, so a watermark of another schedule covers nothing.
    schedule   text NOT NULL,
    run_id     bigint NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now()
);

-- A chunk's subscriptions with a period waiting for stock, found by member range (a handful of
-- rows, normally none; period rows of other statuses are not in it, so it costs their inserts
-- only the predicate check).
CREATE INDEX bundle_deliveries_waiting_member ON bundle_deliveries (member_id) WHERE status = 'waiting_stock';
COMMENT ON INDEX bundle_deliveries_waiting_member IS
    'Bundle chunks: which of the member range''s subscriptions wait for stock (those are probed, not covered by a watermark).';
