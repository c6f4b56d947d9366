-- Fields nothing reads any more: dry runs are never recorded in the ledger (they write nothing),
-- and a run's committed chunks are counted from run_chunks, not from a counter in its checkpoint.
ALTER TABLE job_runs DROP COLUMN dry_run;
-- A pruned run (no plan, no run_chunks rows left) keeps its count: prune writes it once.
UPDATE job_runs SET checkpoint = checkpoint - 'chunks_done' WHERE checkpoint ? 'chunks_done' AND checkpoint ? 'plan';
