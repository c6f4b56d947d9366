import Foundation
import Logging
import Postgres

/// `members import FILE.csv`: the merchant's CRM export, upserted by member id.
///
/// The file is checked row by row while it streams into a staging table (COPY); one set-based
/// statement then inserts new members and updates changed ones, in one transaction. Rows that
/// fail a check are reported by line and left out; the good rows are applied. Running the same
/// file again changes nothing (every row is then "unchanged").
public struct MemberImport: Sendable {
    public static let header = [
        "id", "tier", "tags", "registered_at", "last_order_at", "order_count", "total_spend_fen", "home_store", "openid",
    ]
    public static let tiers = ["standard", "silver", "gold", "platinum"]

    public struct Outcome: Sendable, Equatable, Codable {
        public var read = 0
        public var inserted = 0
        public var updated = 0
        public var unchanged = 0
        public var rejected = 0
    }

    public init() {}

    /// Imports `path`; `onReject` hears of every refused row, in line order for rows refused
    /// while reading and then for duplicates found in the staging table.
    ///
    /// Member imports take turns (a transaction-level advisory lock), so the upsert can be a plain
    /// UPDATE of the changed rows and a plain INSERT of the new ones, each one hash join of the
    /// staging table with `members`: about half the work of `INSERT … ON CONFLICT` row by row.
    public func run(path: String, _ connection: Connection, logger: Logger, onReject: (CSVRejection) -> Void) throws
        -> Outcome
    {
        try connection.transaction { tx in
            try tx.advisoryTransactionLock(RunLedger.lockKey("members-import"))
            try tx.execute("SET LOCAL jit = off")  // a few statements over the whole file: compiling them costs, never pays
            let staging = CSVStaging(schema: Schema(), table: "member_import")
            // A file in increasing id order (a CRM export usually is) cannot repeat an id: the
            // search for repeats, a sort of the whole file, is then skipped.
            var previousID = Int64.min
            var ascending = true
            let staged = try staging.stage(
                path: path, tx,
                onStaged: { member in
                    if member.id <= previousID { ascending = false }
                    previousID = member.id
                }, onReject: onReject)
            var outcome = Outcome(read: staged.read, rejected: staged.rejected)
            // The same id twice in one file: the first line is applied, later ones refused.
            let repeated =
                ascending
                ? 0
                : try staging.dropRepeatedKeys(
                    "id", field: "id", tx, reason: { "member \($0) is already on line \($1)" }, onReject: onReject)
            outcome.rejected += repeated
            let applied = try apply(tx)
            outcome.inserted = applied.inserted
            outcome.updated = applied.updated
            outcome.unchanged = staged.staged - repeated - outcome.inserted - outcome.updated
            logger.info(
                "members imported",
                metadata: [
                    "import.file": "\(path)", "import.inserted": "\(outcome.inserted)", "import.updated": "\(outcome.updated)",
                    "import.rejected": "\(outcome.rejected)",
                ])
            return outcome
        }
    }

    /// Updates the members whose row differs and inserts the new ids. A member inserted
    /// meanwhile by something other than an import (`seed members`) collides with the plain
    /// INSERT: the statement is then redone as the row-by-row upsert, which settles it.
    private func apply(_ tx: Connection) throws -> (inserted: Int, updated: Int) {
        do {
            return try tx.savepoint("member_import_apply") { sp in
                let row = try sp.query(Self.updateThenInsert).row(0)
                return (try row.decode("inserted", as: Int.self), try row.decode("updated", as: Int.self))
            }
        } catch let error as PostgresError where error.code == .uniqueViolation {
            let row = try tx.query(Self.upsert).row(0)
            return (try row.decode("inserted", as: Int.self), try row.decode("updated", as: Int.self))
        }
    }

    /// The rows of the file that differ from the member's, and the ids not yet known; both data-
    /// modifying CTEs read the snapshot from before the statement, so the two sets are apart.
    static let updateThenInsert = """
        WITH updated AS (
            UPDATE members m
            SET tier = s.tier, tags = s.tags, registered_at = s.registered_at, last_order_at = s.last_order_at,
                order_count = s.order_count, total_spend_fen = s.total_spend_fen, home_store = s.home_store,
                openid = s.openid
            FROM member_import s
            WHERE m.id = s.id
              AND (m.tier, m.tags, m.registered_at, m.last_order_at, m.order_count, m.total_spend_fen, m.home_store,
                   m.openid)
                  IS DISTINCT FROM
                  (s.tier, s.tags, s.registered_at, s.last_order_at, s.order_count, s.total_spend_fen, s.home_store,
                   s.openid)
            RETURNING 1
        ), inserted AS (
            INSERT INTO members (id, tier, tags, registered_at, last_order_at, order_count, total_spend_fen, home_store,
                                 openid)
            SELECT s.id, s.tier, s.tags, s.registered_at, s.last_order_at, s.order_count, s.total_spend_fen,
                   s.home_store, s.openid
            FROM member_import s
            WHERE NOT EXISTS (SELECT 1 FROM members m WHERE m.id = s.id)
            RETURNING 1
        )
        SELECT (SELECT count(*) FROM inserted) AS inserted, (SELECT count(*) FROM updated) AS updated
        """

    /// The fallback: new ids inserted, existing ones updated only when something differs, so a
    /// re-run writes no row versions (and the count of updates means something).
    static let upsert = """
        WITH applied AS (
            INSERT INTO members AS m (id, tier, tags, registered_at, last_order_at, order_count, total_spend_fen,
                                      home_store, openid)
            SELECT id, tier, tags, registered_at, last_order_at, order_count, total_spend_fen, home_store, openid
            FROM member_import
            ORDER BY id  -- row locks in id order: no deadlock with another writer of these members
            ON CONFLICT (id) DO UPDATE
                SET tier = EXCLUDED.tier, tags = EXCLUDED.tags, registered_at = EXCLUDED.registered_at,
                    last_order_at = EXCLUDED.last_order_at, order_count = EXCLUDED.order_count,
                    total_spend_fen = EXCLUDED.total_spend_fen, home_store = EXCLUDED.home_store, openid = EXCLUDED.openid
                WHERE (m.tier, m.tags, m.registered_at, m.last_order_at, m.order_count, m.total_spend_fen, m.home_store,
                       m.openid)
                      IS DISTINCT FROM
                      (EXCLUDED.tier, EXCLUDED.tags, EXCLUDED.registered_at, EXCLUDED.last_order_at, EXCLUDED.order_count,
                       EXCLUDED.total_spend_fen, EXCLUDED.home_store, EXCLUDED.openid)
            RETURNING (xmax = 0) AS inserted
        )
        SELECT count(*) FILTER (WHERE inserted) AS inserted, count(*) FILTER (WHERE NOT inserted) AS updated FROM applied
        """

    /// One member row as checked.
    struct Member {
        var id: Int64
        var tier: String
        var tags: [String]
        var registeredAt: String
        var lastOrderAt: String?
        var orderCount: Int64
        var totalSpendFen: Int64
        var homeStore: String?
        var openid: String?
    }

    struct Schema: CSVSchema {
        var header: [String] { MemberImport.header }
        let stagingColumns = """
            id bigint NOT NULL, tier text NOT NULL, tags text[] NOT NULL, registered_at timestamptz NOT NULL,
            last_order_at timestamptz, order_count integer NOT NULL, total_spend_fen bigint NOT NULL, home_store text,
            openid text
            """

        func decode(_ f: [String]) throws(CSVFieldError) -> Member {
            let id = try CSVField.integer(f[0], "id", in: 1...Int64.max)
            let tierText = CSVField.trimmed(f[1])
            let tier = tierText.isEmpty ? "standard" : (MemberImport.tiers.contains(tierText) ? tierText : tierText.lowercased())
            guard MemberImport.tiers.contains(tier) else {
                let hint = SpellingSuggestion.closest(to: tier, among: MemberImport.tiers).map { " (did you mean \"\($0)\"?)" } ?? ""
                throw CSVFieldError("tier", "unknown tier \"\(tierText)\"\(hint); tiers are \(MemberImport.tiers.joined(separator: ", "))")
            }
            var tags: [String] = []
            for tag in f[2].split(separator: "|") {
                guard let text = try CSVField.optionalText(String(tag), "tags", maxLength: 64) else { continue }
                if !tags.contains(text) { tags.append(text) }
            }
            let registeredAt = try CSVField.instant(f[3], "registered_at")
            let lastOrderAt = CSVField.trimmed(f[4]).isEmpty ? nil : try CSVField.instant(f[4], "last_order_at")
            let orderCount = try CSVField.integer(f[5], "order_count", in: 0...Int64(Int32.max))
            let totalSpendFen = try CSVField.integer(f[6], "total_spend_fen", in: 0...Int64.max)
            return Member(
                id: id, tier: tier, tags: tags, registeredAt: registeredAt, lastOrderAt: lastOrderAt, orderCount: orderCount,
                totalSpendFen: totalSpendFen, homeStore: try CSVField.optionalText(f[7], "home_store", maxLength: 64),
                openid: try CSVField.optionalText(f[8], "openid", maxLength: 128))
        }

        func write(_ m: Member, to writer: inout CopyInWriter) throws {
            writer.field(m.id)
            writer.rawField(m.tier)
            try writer.field(m.tags)
            try writer.field(m.registeredAt)
            if let last = m.lastOrderAt { try writer.field(last) } else { writer.null() }
            writer.field(m.orderCount)
            writer.field(m.totalSpendFen)
            if let store = m.homeStore { try writer.field(store) } else { writer.null() }
            if let openid = m.openid { try writer.field(openid) } else { writer.null() }
        }
    }
}
