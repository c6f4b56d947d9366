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
    public func run(path: String, _ connection: Connection, logger: Logger, onReject: (CSVRejection) -> Void) throws
        -> Outcome
    {
        try connection.transaction { tx in
            let staged = try CSVStaging(schema: Schema(), table: "member_import").stage(path: path, tx, onReject: onReject)
            var outcome = Outcome(read: staged.read, rejected: staged.rejected)
            // The same id twice in one file: the first line is applied, later ones refused.
            let staging = CSVStaging(schema: Schema(), table: "member_import")
            let repeated = try staging.dropRepeatedKeys("id", field: "id", tx, reason: { "member \($0) is already on line \($1)" }, onReject: onReject)
            outcome.rejected += repeated
            let applied = try tx.query(Self.upsert).row(0)
            outcome.inserted = try applied.decode("inserted", as: Int.self)
            outcome.updated = try applied.decode("updated", as: Int.self)
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

    /// New ids are inserted; existing ones updated only when something differs, so a re-run
    /// writes no row versions (and the count of updates means something).
    static let upsert = """
        WITH applied AS (
            INSERT INTO members AS m (id, tier, tags, registered_at, last_order_at, order_count, total_spend_fen,
                                      home_store, openid)
            SELECT id, tier, tags, registered_at, last_order_at, order_count, total_spend_fen, home_store, openid
            FROM member_import
            ORDER BY id  -- row locks in id order: two imports at once queue instead of deadlocking
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
