-- The sweeps' index becomes a BRIN (issue 9): the partial B-tree of 0010 added one entry per issued
-- coupon, which made bulk issuance about a fifth slower (measured in make bench); a BRIN adds
-- nothing per row until its block range is summarized. The coupons of an issuance run share their
-- expiry and are appended in member id order, so a block range's min/max of both columns are
-- narrow: a sweep's chunk (its expiry window and member id range) reads only the ranges that may
-- hold its coupons, rechecking every row (status included). The sweep's plan summarizes new ranges
-- first (SweepIndex.swift). With status in no index, an expiry or redemption may be a HOT update.
DROP INDEX coupons_active_expiry_member;
CREATE INDEX coupons_expiry_member_brin ON coupons USING brin (expires_at, member_id) WITH (pages_per_range = 16);
COMMENT ON INDEX coupons_expiry_member_brin IS
    'remind and expire sweeps: the block ranges that may hold coupons expiring in a window for a member id range '
    '(each chunk); summarized by the sweep''s plan.';
