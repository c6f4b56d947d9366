-- What a report groups a redemption by, copied from its coupon when the redemption is recorded
-- (these never change on a coupon): the report then reads redemption figures from `redemptions`
-- alone, instead of joining every redemption to `coupons` (a hash of all the period's redeemed
-- coupons, which cost twice a scan of the whole coupon table). Issuance writes nothing new.
ALTER TABLE redemptions
    ADD COLUMN template_key     text,
    ADD COLUMN coupon_run_id    bigint,
    ADD COLUMN member_id        bigint,
    ADD COLUMN coupon_issued_at timestamptz;

UPDATE redemptions r
SET template_key = c.template_key, coupon_run_id = c.run_id, member_id = c.member_id, coupon_issued_at = c.issued_at
FROM coupons c
WHERE c.id = r.coupon_id;

-- Not NOT NULL: a redemption whose coupon row is gone keeps NULLs. The product never deletes a
-- coupon, but bench databases truncate `coupons` and keep `redemptions`, and this migration must
-- not fail there. Redemptions are recorded with all four (CouponRedeemer); reports leave out
-- those without, as their join to coupons used to.

COMMENT ON COLUMN redemptions.template_key IS 'The coupon''s template key (copied when recorded; reports group by it).';
COMMENT ON COLUMN redemptions.coupon_run_id IS 'The run that issued the coupon (reports group by its job); run_id is the import''s.';
COMMENT ON COLUMN redemptions.member_id IS 'The coupon''s member (reports: home store and tier).';
COMMENT ON COLUMN redemptions.coupon_issued_at IS 'When the coupon was issued (reports: the coupons issued in a period).';
