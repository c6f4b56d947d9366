-- Subscription bundles (券包订阅): members who paid for a plan get its coupons every period.
--
-- The plan itself (coupons, day, time, zone) lives in jobs/plans.yaml; a subscription names it by
-- key. Which periods are due is calendar arithmetic done by the runner (BundleSchedule); the
-- database holds the facts it needs and, in bundle_deliveries, what was settled per period.

CREATE TABLE subscriptions (
    id            bigserial PRIMARY KEY,
    -- The merchant's id for the subscription (its order id); imports upsert by it.
    external_id   text NOT NULL,
    member_id     bigint NOT NULL,
    plan          text NOT NULL,
    -- 'cancelled' once cancel was asked for; paused and ended are read from the dates.
    status        text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'cancelled')),
    started_at    timestamptz NOT NULL,
    -- Day of the month it started on, in the plan's zone when imported: the anniversary day.
    anchor_day    smallint NOT NULL CHECK (anchor_day BETWEEN 1 AND 31),
    -- The last day paid for, in the plan's zone.
    paid_through  date NOT NULL,
    -- The latest pause: periods due in [paused_from, paused_until) are skipped.
    paused_from   timestamptz,
    paused_until  timestamptz,
    cancelled_at  timestamptz,
    -- paid_through when the cancel was asked for: nothing is delivered after it.
    ends_on       date,
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT subscriptions_external_id_key UNIQUE (external_id),
    CONSTRAINT subscriptions_pause_order CHECK (paused_until IS NULL OR paused_from IS NULL OR paused_until >= paused_from)
);
COMMENT ON INDEX subscriptions_external_id_key IS 'subscriptions import upserts by external id (ON CONFLICT).';

CREATE INDEX subscriptions_member ON subscriptions (member_id);
COMMENT ON INDEX subscriptions_member IS
    'Bundle chunks read the subscriptions of a member id range (all of a member''s subscriptions in one chunk).';

-- Every change to a subscription, with its time, for `subscriptions show`.
CREATE TABLE subscription_events (
    id              bigserial PRIMARY KEY,
    subscription_id bigint NOT NULL REFERENCES subscriptions (id) ON DELETE CASCADE,
    at              timestamptz NOT NULL DEFAULT now(),
    action          text NOT NULL CHECK (action IN ('imported', 'updated', 'paused', 'resumed', 'cancelled', 'renewed')),
    detail          jsonb NOT NULL DEFAULT '{}'
);
CREATE INDEX subscription_events_subscription ON subscription_events (subscription_id, id);
COMMENT ON INDEX subscription_events_subscription IS 'subscriptions show ID: its changes in order.';

-- One row per settled (or waiting) period of a subscription. The primary key is the exactly-once
-- guarantee: a period's coupons are written in the same transaction as its 'delivered' row, and a
-- second runner (or a replayed chunk) inserting the same period finds it taken.
-- No foreign key to subscriptions: a bundle chunk inserts tens of thousands of rows, each of
-- which would fire a check, and subscriptions are never deleted (a cancel keeps the row).
CREATE TABLE bundle_deliveries (
    subscription_id bigint NOT NULL,
    period          integer NOT NULL CHECK (period >= 1),
    member_id       bigint NOT NULL,
    plan            text NOT NULL,
    due_at          timestamptz NOT NULL,
    -- delivered: its coupons exist; skipped: due inside a pause; waiting_stock: a template had too
    -- little stock for the whole bundle, so nothing was written and later runs retry it.
    status          text NOT NULL CHECK (status IN ('delivered', 'skipped', 'waiting_stock')),
    -- The run that settled it (for waiting_stock, the latest run that tried).
    run_id          bigint NOT NULL,
    coupons         integer NOT NULL DEFAULT 0,
    recorded_at     timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (subscription_id, period)
);
COMMENT ON INDEX bundle_deliveries_pkey IS
    'Exactly once per (subscription, period); also serves a subscription''s last settled period and `show`.';

CREATE INDEX bundle_deliveries_waiting ON bundle_deliveries (due_at) WHERE status = 'waiting_stock';
COMMENT ON INDEX bundle_deliveries_waiting IS 'Reports of periods waiting for stock (a handful of rows, normally none).';

-- The plan's exclusive label (会员专享) on bundle coupons, shown in exports: member-exclusive
-- coupons look different from public ones. NULL for issued coupons; adding it rewrites nothing.
ALTER TABLE coupons ADD COLUMN label text;
