-- The run ledger: one row per (job, slot), claimed by exactly one runner.
CREATE TABLE job_runs (
    id           bigserial PRIMARY KEY,
    job          text NOT NULL,
    slot         timestamptz NOT NULL,
    trigger      text NOT NULL CHECK (trigger IN ('schedule', 'manual', 'catch_up')),
    status       text NOT NULL
                 CHECK (status IN ('pending', 'running', 'succeeded', 'failed', 'skipped', 'cancelled')),
    -- Fencing token: incremented by every (re)start of the run, takeover or retry. Every write
    -- a run commits checks (id, attempt), so a runner that lost its lease cannot commit.
    attempt      integer NOT NULL DEFAULT 0,
    -- How many times the run has failed; bounded by the job's retry.attempts.
    failures     integer NOT NULL DEFAULT 0,
    owner        text,
    lease_until  timestamptz,
    -- A pending run (a retry after backoff) is not started before this.
    not_before   timestamptz,
    checkpoint   jsonb NOT NULL DEFAULT '{}',
    counts       jsonb NOT NULL DEFAULT '{}',
    error        text,
    dry_run      boolean NOT NULL DEFAULT false,
    created_at   timestamptz NOT NULL DEFAULT now(),
    started_at   timestamptz,
    heartbeat_at timestamptz,
    finished_at  timestamptz,
    CONSTRAINT job_runs_job_slot_key UNIQUE (job, slot)
);
COMMENT ON INDEX job_runs_job_slot_key IS
    'Exactly once per (job, slot); also serves "latest runs of a job" (runs --job, jobs list).';

-- Serves the takeover scan: runs whose lease lapsed, and retries whose backoff has passed.
CREATE INDEX job_runs_open ON job_runs (lease_until) WHERE status IN ('pending', 'running');
COMMENT ON INDEX job_runs_open IS 'Takeover scan: open runs by lease expiry (a handful of rows, ever).';

-- Serves `runs` listings newest first across all jobs, and filtering by status.
CREATE INDEX job_runs_status_created ON job_runs (status, created_at DESC);
COMMENT ON INDEX job_runs_status_created IS 'runs --status S, newest first.';

-- The chunks a run has committed: its checkpoint. A chunk's row commits in the same transaction
-- as the chunk's writes, so a resumed run redoes exactly the chunks that did not commit.
CREATE TABLE run_chunks (
    run_id       bigint NOT NULL REFERENCES job_runs (id) ON DELETE CASCADE,
    chunk        integer NOT NULL,
    attempt      integer NOT NULL,
    counts       jsonb NOT NULL DEFAULT '{}',
    committed_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (run_id, chunk)
);

-- Per-job state that is not a definition: pause flag and the scheduling cursor.
CREATE TABLE job_state (
    job           text PRIMARY KEY,
    paused        boolean NOT NULL DEFAULT false,
    paused_at     timestamptz,
    -- Slots up to this instant have been considered by some runner.
    scheduled_through timestamptz NOT NULL,
    first_seen_at timestamptz NOT NULL DEFAULT now()
);

-- Adds the numbers of two {"name": n} objects: run counts accumulate chunk by chunk.
CREATE FUNCTION jsonb_add_counts(a jsonb, b jsonb) RETURNS jsonb
LANGUAGE sql IMMUTABLE AS $$
    SELECT coalesce(jsonb_object_agg(key, total), '{}'::jsonb)
    FROM (
        SELECT key, sum(value::numeric) AS total
        FROM (SELECT * FROM jsonb_each_text(coalesce(a, '{}')) UNION ALL SELECT * FROM jsonb_each_text(coalesce(b, '{}'))) AS both_sides
        GROUP BY key
    ) AS summed
$$;
