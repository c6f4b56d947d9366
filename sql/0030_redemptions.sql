-- Redemptions (核销): one row per use of a coupon at a till, or back-filled from a till that was
-- offline. A coupon's own row (status, uses_left, redeemed_at) is the state; these rows are the
-- history that reports and refunds read.
CREATE TABLE redemptions (
    id            bigserial PRIMARY KEY,
    coupon_id     bigint NOT NULL,
    -- The till's id for the request. A retried request finds its first result here instead of
    -- redeeming twice; the UNIQUE index also settles two requests racing with the same id.
    request_id    text NOT NULL,
    store         text NOT NULL,
    -- The order the coupon was used on (before the discount), and what the coupon took off it.
    -- A gift coupon's discount is the gift's value.
    amount_fen    bigint NOT NULL CHECK (amount_fen >= 0),
    discount_fen  bigint NOT NULL CHECK (discount_fen >= 0),
    gift_sku      text,
    -- When the coupon was used (the till's time for back-filled rows).
    at            timestamptz NOT NULL,
    source        text NOT NULL CHECK (source IN ('till', 'import')),
    -- The `redemptions import` run that back-filled the row; NULL for tills.
    run_id        bigint,
    recorded_at   timestamptz NOT NULL DEFAULT now(),
    -- A refund (`redeem --reverse`): the row stays for the audit trail, reports skip it.
    reversed_at   timestamptz,
    CONSTRAINT redemptions_request_id_key UNIQUE (request_id)
);
COMMENT ON INDEX redemptions_request_id_key IS
    'Idempotent redeem and back-fill: a request id is redeemed once; also serves redeem --reverse R.';

CREATE INDEX redemptions_coupon ON redemptions (coupon_id);
COMMENT ON INDEX redemptions_coupon IS
    'Report joins of redemptions to their coupons, and a punch card''s first remaining use after a reversal.';

COMMENT ON TABLE redemptions IS
    'Uses of coupons: till redemptions and back-filled offline ones; money in integer fen.';
