-- A chunk's fence and checkpoint as one call that fails when the run is no longer the caller's:
-- (run id, attempt) moved on or the run ended. RunLedger sends it in the same round trip as the
-- chunk's COMMIT (libpq pipeline mode), so it must refuse by raising an error (which skips the
-- COMMIT and rolls the chunk back), not by updating no row. SQLSTATE CBL01 is RunLedger's
-- "lease lost"; the class is one PostgreSQL does not use.
CREATE FUNCTION record_run_chunk(p_run_id bigint, p_attempt integer, p_chunk integer, p_counts jsonb)
RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    UPDATE job_runs
    SET counts = jsonb_add_counts(counts, p_counts)
    WHERE id = p_run_id AND attempt = p_attempt AND status = 'running';
    IF NOT FOUND THEN
        RAISE EXCEPTION 'run % attempt % lost its lease', p_run_id, p_attempt USING ERRCODE = 'CBL01';
    END IF;
    INSERT INTO run_chunks (run_id, chunk, attempt, counts) VALUES (p_run_id, p_chunk, p_attempt, p_counts);
END
$$;
COMMENT ON FUNCTION record_run_chunk(bigint, integer, integer, jsonb) IS
    'Fenced checkpoint of one chunk (RunLedger.commitChunk); raises CBL01 when (run, attempt) is no longer running.';
