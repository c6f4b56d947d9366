import Foundation
import Postgres

/// The index the sweeps find coupons through: a BRIN on (expires_at, member_id) (migration 0014).
/// Bulk issuance appends a run's coupons in member id order and they share their expiry, so a
/// block range's min/max of both columns are narrow: a chunk (an expiry window and a member id
/// range) reads only the block ranges that may hold its coupons, and issuance pays next to nothing
/// for the index (`make bench` measures both).
public enum SweepIndex {
    public static let name = "coupons_expiry_member_brin"

    /// Summarizes the block ranges written since the last summary (by issuance, or by an expiry's
    /// updates). An unsummarized range matches every chunk, so without this each chunk of a sweep
    /// right after a bulk issuance would read the whole issuance. VACUUM summarizes too; this makes
    /// the plan independent of when autovacuum last ran.
    ///
    /// Only the table's owner may summarize (the role that migrates and runs jobs owns it); any
    /// other role, or a summary that would wait over 5 s on a lock (a VACUUM or ANALYZE of `coupons`
    /// holds the same lock), skips it: the sweep then reads the unsummarized ranges, slower but
    /// the same coupons.
    static func summarizeNewRanges(_ connection: Connection) throws {
        try connection.execute(
            """
            DO $$
            BEGIN
                PERFORM set_config('lock_timeout', '5s', true);
                PERFORM brin_summarize_new_values('\(name)'::regclass);
            EXCEPTION WHEN insufficient_privilege OR lock_not_available THEN
                NULL;
            END
            $$
            """)
    }
}
