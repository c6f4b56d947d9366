-- Chunks of one run commit side by side. Until now every chunk's fence UPDATEd the run's single
-- job_runs row (to add its counts), so each chunk held that row's lock until its COMMIT's WAL
-- flush and the run's workers committed one after another; on a durable server that cost a
-- run's chunks their parallelism. Chunks of a limited-stock run queued the same way on the
-- run's issue_stock_reservations row.

-- The fence becomes a KEY SHARE lock of the run's row, which chunks share with each other and
-- with heartbeats (non-key updates), and which a takeover or ending must wait for: with attempt
-- and status part of a plain unique index they are key columns to PostgreSQL, so the UPDATE that
-- raises the attempt or changes the status takes the exclusive FOR UPDATE row lock. Either the
-- chunk commits first and that UPDATE waits for it, or the chunk waits for the UPDATE, re-reads
-- the row and finds its (run id, attempt) gone: a chunk of a lost attempt never commits.
CREATE UNIQUE INDEX job_runs_fence ON job_runs (id, attempt, status);
COMMENT ON INDEX job_runs_fence IS
    'Makes attempt and status key columns: a takeover or ending waits for chunks holding the run''s row FOR KEY SHARE (record_run_chunk).';

-- A run's counts are its chunks' counts: summed from run_chunks while it is open, folded into
-- job_runs.counts when it ends (RunLedger.finish), which is what `prune` keeps.
CREATE FUNCTION run_chunk_counts(p_run_id bigint) RETURNS jsonb
LANGUAGE sql STABLE AS $$
    SELECT coalesce(jsonb_object_agg(key, total), '{}'::jsonb)
    FROM (
        SELECT e.key, sum(e.value::numeric) AS total
        FROM run_chunks c, jsonb_each_text(c.counts) AS e
        WHERE c.run_id = p_run_id
        GROUP BY e.key
    ) AS summed
$$;
COMMENT ON FUNCTION run_chunk_counts(bigint) IS
    'A run''s counts summed over its committed chunks (job_runs.counts holds them once the run has ended).';

CREATE OR REPLACE FUNCTION record_run_chunk(p_run_id bigint, p_attempt integer, p_chunk integer, p_counts jsonb)
RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM 1 FROM job_runs
    WHERE id = p_run_id AND attempt = p_attempt AND status = 'running'
    FOR KEY SHARE;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'run % attempt % lost its lease', p_run_id, p_attempt USING ERRCODE = 'CBL01';
    END IF;
    INSERT INTO run_chunks (run_id, chunk, attempt, counts) VALUES (p_run_id, p_chunk, p_attempt, p_counts);
END
$$;

-- Stock set aside per chunk: a chunk draws on its own row, so limited-stock chunks no longer wait
-- for each other's COMMIT. Rows from before (a run planned by an earlier version) have chunk -1
-- and serve every chunk of their run.
ALTER TABLE issue_stock_reservations ADD COLUMN chunk integer NOT NULL DEFAULT -1;
ALTER TABLE issue_stock_reservations DROP CONSTRAINT issue_stock_reservations_pkey;
ALTER TABLE issue_stock_reservations ADD PRIMARY KEY (run_id, template_key, chunk);
COMMENT ON COLUMN issue_stock_reservations.chunk IS
    'The chunk the stock is set aside for (-1: every chunk of the run, as runs planned before per-chunk rows).';
