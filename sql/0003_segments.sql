-- Segments: member sets frozen once per run, so that every chunk of a run, on any connection, and a
-- run resumed hours later after a crash, match exactly the same members.
--
-- `list: FILE.csv` segments and the results of `sql: "…"` segments are stored here when a run
-- resolves its segment; the run's checkpoint keeps only the snapshot id. A snapshot is
-- content-addressed: its fingerprint is a SHA-256 of its sorted member ids, so loading the same
-- list again (or an SQL segment that returns the same ids again) reuses the stored snapshot instead
-- of copying it a second time. Snapshots are immutable once committed.
--
-- No index on members serves segment predicates, on purpose: every run reads members a chunk at a
-- time (`m.id >= $lo AND m.id < $hi`), which the members primary key narrows first, and the segment
-- predicate is then evaluated on the rows of that chunk only.

-- One stored member set: where it came from and how many ids it holds.
CREATE TABLE segment_snapshot_sources (
    id            bigserial PRIMARY KEY,
    kind          text NOT NULL CHECK (kind IN ('list', 'sql')),
    -- `<kind>:sha256:<hex of the sorted member ids, one decimal a line>`. The UNIQUE index serves
    -- the reuse lookup (INSERT … ON CONFLICT (fingerprint)) and makes two runners loading the same
    -- list at once end with one snapshot.
    fingerprint   text NOT NULL UNIQUE,
    -- The list file as the job names it, or the segment's SQL text; for people reading the table.
    source        text NOT NULL,
    member_count  bigint NOT NULL CHECK (member_count >= 0),
    created_at    timestamptz NOT NULL DEFAULT now()
);

COMMENT ON TABLE segment_snapshot_sources IS
    'Frozen member sets of list: and sql: segments, content-addressed by fingerprint; immutable.';

-- The member ids of each snapshot. Ids that are not (or no longer) in members are kept and simply
-- never match, hence no foreign key to members.
CREATE TABLE segment_snapshots (
    snapshot_id  bigint NOT NULL REFERENCES segment_snapshot_sources (id) ON DELETE CASCADE,
    member_id    bigint NOT NULL,
    -- Serves the segment predicate's probe, once per member of a chunk:
    -- EXISTS (SELECT 1 FROM segment_snapshots WHERE snapshot_id = $n AND member_id = m.id).
    PRIMARY KEY (snapshot_id, member_id)
);

COMMENT ON TABLE segment_snapshots IS 'Member ids of each segment snapshot.';

-- Lets `sql:` segments return only integer member ids: called on the query's first column, it
-- accepts smallint, integer and bigint (implicit casts to bigint) and makes PostgreSQL refuse any
-- other type (numeric, text, …) while planning, before a row is read, even when no row would come.
CREATE FUNCTION segment_member_id(bigint) RETURNS bigint
    IMMUTABLE STRICT PARALLEL SAFE
    LANGUAGE sql
    AS $$ SELECT $1 $$;
