-- Coupons of a template without stock, counted by the chunk that issued them. Until now every
-- chunk added its coupons to template_stock.issued, so chunks of the same template held that one
-- row's lock from their write to the end of their COMMIT's WAL flush, and a run's workers
-- committed one after another. A chunk now appends its own row here instead (in the chunk's
-- statement, so the count commits with the coupons) while it holds the template's stock row
-- FOR KEY SHARE with `stock IS NULL`: chunks share that lock, and giving the template a stock
-- (TemplateCatalogStore.syncStock, which locks the row FOR UPDATE first) waits for them, then
-- folds these rows into template_stock.issued in the same transaction. So rows exist here only
-- while a template has no stock, and every stock check keeps reading template_stock.issued alone.
-- A run folds its own rows when it finishes; registering a template folds the rest.
CREATE TABLE template_issued_chunks (
    template_key text NOT NULL,
    run_id       bigint NOT NULL,
    chunk        integer NOT NULL,
    coupons      bigint NOT NULL CHECK (coupons > 0),
    PRIMARY KEY (template_key, run_id, chunk)
);
COMMENT ON TABLE template_issued_chunks IS
    'Coupons issued by chunks of templates without stock, not yet added to template_stock.issued (IssueChunkStatement, TemplateIssueTally).';
COMMENT ON INDEX template_issued_chunks_pkey IS
    'Folding a template''s rows when it is registered (by template_key); a chunk retried after a rollback writes its row again.';
CREATE INDEX template_issued_chunks_run ON template_issued_chunks (run_id);
COMMENT ON INDEX template_issued_chunks_run IS
    'A finishing run folds its own rows (TemplateIssueTally.fold).';
