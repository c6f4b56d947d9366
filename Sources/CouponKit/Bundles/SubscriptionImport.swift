import Foundation
import Logging
import Postgres

/// `subscriptions import FILE.csv`: the merchant's paid subscriptions, upserted by external id.
///
/// Rows stream into a staging table (COPY) after their fields are checked; set-based SQL then
/// refuses rows naming unknown members, paid through before they started, listing an external id
/// twice, or changing the member, plan or start of a stored subscription, and upserts the rest
/// in the same transaction. Running the same file again changes nothing.
public struct SubscriptionImport: Sendable {
    public static let header = ["external_id", "member_id", "plan", "started_at", "paid_through"]

    public struct Outcome: Sendable, Equatable, Codable {
        public var read = 0
        public var inserted = 0
        public var updated = 0
        public var unchanged = 0
        public var rejected = 0
    }

    public let plans: [String: BundlePlan]

    public init(plans: [String: BundlePlan]) { self.plans = plans }

    /// The checked fields of one row; `startedAt` is ISO 8601 with an offset, or a date (midnight
    /// in the plan's zone), as PostgreSQL reads it.
    struct Row {
        var externalID: String
        var memberID: Int64
        var plan: String
        var startedAt: String
        var startsOnDate: Bool
        var paidThrough: CalendarDay
    }

    struct Schema: CSVSchema {
        let plans: [String: BundlePlan]
        var header: [String] { SubscriptionImport.header }
        var stagingColumns: String {
            "external_id text NOT NULL, member_id bigint NOT NULL, plan text NOT NULL, started_text text NOT NULL, "
                + "starts_on_date boolean NOT NULL, paid_through date NOT NULL"
        }

        func decode(_ fields: [String]) throws(CSVFieldError) -> Row {
            let externalID = try CSVField.text(fields[0], "external_id", maxLength: 100)
            let memberID = try CSVField.integer(fields[1], "member_id", in: 1...Int64.max)
            let plan = fields[2].trimmingCharacters(in: .whitespaces)
            guard plans[plan] != nil else {
                let known = plans.keys.sorted()
                throw CSVFieldError(
                    "plan",
                    plan.isEmpty
                        ? "a plan key is required"
                        : "unknown plan \"\(plan)\"" + SpellingSuggestion.hint(for: plan, among: known))
            }
            let startedText = fields[3].trimmingCharacters(in: .whitespaces)
            let startsOnDate = CalendarDay(startedText) != nil
            let startedAt = startsOnDate ? startedText : try CSVField.instant(startedText, "started_at")
            let paidText = fields[4].trimmingCharacters(in: .whitespaces)
            guard let paidThrough = CalendarDay(paidText) else {
                throw CSVFieldError(
                    "paid_through",
                    paidText.isEmpty ? "a date is required, e.g. 2027-11-22" : "\"\(paidText)\" is not a date YYYY-MM-DD")
            }
            return Row(
                externalID: externalID, memberID: memberID, plan: plan, startedAt: startedAt, startsOnDate: startsOnDate,
                paidThrough: paidThrough)
        }

        func write(_ row: Row, to writer: inout CopyInWriter) throws {
            try writer.field(row.externalID)
            writer.field(row.memberID)
            try writer.field(row.plan)
            try writer.field(row.startedAt)
            writer.field(row.startsOnDate)
            writer.rawField(row.paidThrough.description)
        }
    }

    /// Imports `path`; every refused row goes to `onReject`, in line order for the set-based checks.
    public func run(path: String, _ connection: Connection, logger: Logger, onReject: (CSVRejection) -> Void) throws
        -> Outcome
    {
        try connection.transaction { tx in
            var rejections: [CSVRejection] = []
            let staging = CSVStaging(schema: Schema(plans: plans), table: "subscription_import")
            let staged = try staging.stage(path: path, tx) { rejections.append($0) }
            var outcome = Outcome(read: staged.read)
            let keys = plans.keys.sorted()
            let zones = keys.map { plans[$0]?.schedule.timeZone.identifier ?? DefinitionDefaults.timeZoneIdentifier }
            // Each row's start as an instant and as a local day in its plan's zone.
            try tx.execute(
                """
                CREATE TEMP TABLE subscription_import_rows ON COMMIT DROP AS
                SELECT r.*, (r.started_at AT TIME ZONE r.zone)::date AS start_day
                FROM (
                    SELECT s.line, s.external_id, s.member_id, s.plan, s.paid_through, z.zone,
                           CASE WHEN s.starts_on_date THEN s.started_text::date::timestamp AT TIME ZONE z.zone
                                ELSE s.started_text::timestamptz END AS started_at
                    FROM subscription_import s
                    JOIN unnest($1::text[], $2::text[]) AS z(plan, zone) ON z.plan = s.plan
                ) r
                """, [keys, zones])
            for row in try tx.query(Self.refusals).rows {
                rejections.append(
                    CSVRejection(
                        line: try row.decode(0, as: Int.self), field: try row.decodeIfPresent(1, as: String.self),
                        reason: try row.decode(2, as: String.self)))
            }
            let refusedLines = Array(Set(rejections.map { Int64($0.line) }))
            let applied = try tx.query(Self.upsert, [refusedLines, path])
            for row in applied.rows {
                if try row.decode(0, as: String.self) == "imported" { outcome.inserted += 1 } else { outcome.updated += 1 }
            }
            outcome.rejected = refusedLines.count
            outcome.unchanged = outcome.read - outcome.rejected - outcome.inserted - outcome.updated
            rejections.sort { ($0.line, $0.field ?? "") < ($1.line, $1.field ?? "") }
            rejections.forEach(onReject)
            logger.debug(
                "subscriptions imported",
                metadata: [
                    "import.read": "\(outcome.read)", "import.inserted": "\(outcome.inserted)",
                    "import.updated": "\(outcome.updated)", "import.rejected": "\(outcome.rejected)",
                ])
            return outcome
        }
    }

    /// Rows refused by what only the database knows, or by other rows of the file.
    static let refusals = """
        SELECT line, field, reason FROM (
            SELECT r.line, 'external_id' AS field,
                   format('external_id "%s" is on %s lines of the file (lines %s); give each subscription one row',
                          r.external_id, count(*) OVER w, string_agg(r.line::text, ', ') OVER w) AS reason,
                   count(*) OVER w AS copies
            FROM subscription_import_rows r
            WINDOW w AS (PARTITION BY r.external_id ORDER BY r.line ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING)
        ) d WHERE copies > 1
        UNION ALL
        SELECT r.line, 'member_id', format('unknown member %s', r.member_id)
        FROM subscription_import_rows r
        WHERE NOT EXISTS (SELECT 1 FROM members m WHERE m.id = r.member_id)
        UNION ALL
        SELECT r.line, 'paid_through',
               format('paid_through %s is before started_at (%s in the plan''s zone %s)', r.paid_through, r.start_day, r.zone)
        FROM subscription_import_rows r
        WHERE r.paid_through < r.start_day
        UNION ALL
        SELECT r.line, NULL,
               format('subscription %s (external_id "%s") is stored with member %s, plan %s, started %s; '
                      || 'an import may change only paid_through (import a new external_id instead)',
                      s.id, s.external_id, s.member_id, s.plan, s.started_at)
        FROM subscription_import_rows r JOIN subscriptions s ON s.external_id = r.external_id
        WHERE s.member_id <> r.member_id OR s.plan <> r.plan OR s.started_at <> r.started_at
        ORDER BY 1
        """

    /// New subscriptions inserted, changed paid_through updated, each change recorded.
    static let upsert = """
        WITH upserted AS (
            INSERT INTO subscriptions AS s (external_id, member_id, plan, started_at, anchor_day, paid_through)
            SELECT r.external_id, r.member_id, r.plan, r.started_at, extract(day FROM r.start_day)::smallint, r.paid_through
            FROM subscription_import_rows r
            WHERE r.line <> ALL ($1::bigint[])
            ON CONFLICT (external_id) DO UPDATE SET paid_through = EXCLUDED.paid_through, updated_at = now()
                WHERE s.paid_through <> EXCLUDED.paid_through
            RETURNING s.id, (s.xmax = 0) AS inserted, s.paid_through
        )
        INSERT INTO subscription_events (subscription_id, action, detail)
        SELECT u.id, CASE WHEN u.inserted THEN 'imported' ELSE 'updated' END,
               jsonb_build_object('paid_through', u.paid_through, 'file', $2::text)
        FROM upserted u
        RETURNING action
        """
}
