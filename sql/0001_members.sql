-- The merchant's members with their RFM aggregates: who coupons are issued to.
CREATE TABLE members (
    id               bigint PRIMARY KEY,
    tier             text NOT NULL DEFAULT 'standard'
                     CHECK (tier IN ('standard', 'silver', 'gold', 'platinum')),
    tags             text[] NOT NULL DEFAULT '{}',
    registered_at    timestamptz NOT NULL,
    last_order_at    timestamptz,
    order_count      integer NOT NULL DEFAULT 0 CHECK (order_count >= 0),
    total_spend_fen  bigint NOT NULL DEFAULT 0 CHECK (total_spend_fen >= 0),
    home_store       text,
    openid           text
);

COMMENT ON TABLE members IS 'Members with RFM aggregates; money in integer fen.';
COMMENT ON COLUMN members.openid IS 'WeChat openid used by message sinks; synthetic in demo data.';
