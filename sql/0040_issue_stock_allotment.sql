-- Stock set aside for a run when it is planned, so its chunks can run in parallel and still
-- serve members lowest id first: the plan allots stock to chunks up front (from per-chunk
-- eligible counts) and takes it from template_stock at once (counted in template_stock.issued).
-- A chunk draws on its run's row; the run returns what is left when it finishes. A run that ended
-- without finishing (failed, cancelled) has its remainder returned by the next run that plans the
-- same template.
CREATE TABLE issue_stock_reservations (
    run_id       bigint NOT NULL,
    template_key text NOT NULL,
    reserved     bigint NOT NULL CHECK (reserved >= 0),   -- coupons still set aside, not yet issued
    PRIMARY KEY (run_id, template_key)
);
COMMENT ON TABLE issue_stock_reservations IS
    'Stock a planned issue run holds and has not issued yet; already included in template_stock.issued.';
CREATE INDEX issue_stock_reservations_key ON issue_stock_reservations (template_key);
COMMENT ON INDEX issue_stock_reservations_key IS
    'Planning a run returns what ended runs still hold of the same templates.';

-- Whether coupons of the key were ever issued without a cap number (while the template had no
-- per_member or reissue_after_days). While false, a member's highest cap number is how many of the
-- template's coupons the member has, and one probe of coupons_member_template_cap_key answers the
-- cap and interval checks; once true, they also count the member's unnumbered coupons.
ALTER TABLE template_stock ADD COLUMN has_unnumbered boolean NOT NULL DEFAULT false;
UPDATE template_stock s
SET has_unnumbered = EXISTS (SELECT 1 FROM coupons c WHERE c.template_key = s.key AND c.cap_seq IS NULL);
