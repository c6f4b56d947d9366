import Foundation
import Logging
import Postgres

/// Writes realistic synthetic members for demos and benchmarks, by COPY.
///
/// Member `id` is a pure function of (seed, id, asOf): re-running with the same arguments writes
/// the same people, and members that already exist are left as they are (never duplicated).
public struct MemberSeeder: Sendable {
    public let count: Int
    public let seed: UInt64
    /// The day the data is "as of": registration and order dates lie before it.
    public let asOf: Date

    public init(count: Int, seed: UInt64, asOf: Date) {
        self.count = count
        self.seed = seed
        self.asOf = asOf
    }

    public struct Outcome: Sendable, Equatable {
        public var written: Int
        public var alreadyPresent: Int
    }

    static let stores = (1...12).map { "SH-\(pad3($0))" } + (1...8).map { "BJ-\(pad3($0))" }
        + (1...6).map { "GZ-\(pad3($0))" } + (1...4).map { "SZ-\(pad3($0))" }
    static let tagChoices: [(tag: String, probability: Double)] = [
        ("wechat-pay", 0.55), ("mini-program", 0.35), ("birthday-month", 0.08), ("student", 0.06),
        ("family", 0.12), ("event-2026-618", 0.10), ("douyin-lead", 0.05), ("blocked", 0.01),
    ]

    public func seed(_ connection: Connection, logger: Logger) throws -> Outcome {
        try connection.transaction { tx in
            // Serialize concurrent seeders so their gap checks do not race.
            try tx.advisoryTransactionLock(0x6362_7365_6564_6572)
            let present = try tx.query(
                "SELECT count(*) AS n, coalesce(max(id), 0) AS top FROM members WHERE id BETWEEN 1 AND $1", [count]
            ).row(0)
            let existing = try present.decode("n", as: Int.self)
            let top = try present.decode("top", as: Int.self)
            if existing == top {
                // Contiguous 1...top: stream the rest straight into the table.
                try copy(into: "members", ids: (top + 1)...max(top + 1, count), skip: top >= count, tx)
            } else {
                try tx.execute("CREATE TEMP TABLE seed_members (LIKE members) ON COMMIT DROP")
                try copy(into: "seed_members", ids: 1...count, skip: false, tx)
                try tx.execute("INSERT INTO members SELECT * FROM seed_members ON CONFLICT (id) DO NOTHING")
            }
            let outcome = Outcome(written: count - existing, alreadyPresent: existing)
            logger.info(
                "seeded members",
                metadata: ["seed.count": "\(count)", "seed.written": "\(outcome.written)", "seed.seed": "\(seed)"])
            return outcome
        }
    }

    private func copy(into table: String, ids: ClosedRange<Int>, skip: Bool, _ tx: Connection) throws {
        guard !skip else { return }
        try tx.copyIn(
            """
            COPY \(table) (id, tier, tags, registered_at, last_order_at, order_count, total_spend_fen, home_store, openid)
            FROM STDIN
            """
        ) { writer in
            for id in ids {
                let member = member(id: Int64(id))
                writer.field(member.id)
                writer.rawField(member.tier)
                try writer.field(member.tags)
                writer.field(member.registeredAt)
                if let last = member.lastOrderAt { writer.field(last) } else { writer.null() }
                writer.field(Int64(member.orderCount))
                writer.field(member.totalSpendFen)
                if let store = member.homeStore { writer.rawField(store) } else { writer.null() }
                writer.rawField(member.openid)
                try writer.endRow()
            }
        }
    }

    /// One synthetic member; exposed for tests of the distribution.
    public struct Member: Sendable, Equatable {
        public let id: Int64
        public let tier: String
        public let tags: [String]
        public let registeredAt: Date
        public let lastOrderAt: Date?
        public let orderCount: Int
        public let totalSpendFen: Int64
        public let homeStore: String?
        public let openid: String
    }

    public func member(id: Int64) -> Member {
        var random = SeedRandom(seed: seed, stream: UInt64(bitPattern: id))
        let day = 86_400.0
        // Registered within the last three years, more of them recently.
        let ageDays = random.unit() * random.unit() * 3 * 365 + 1
        let registeredAt = asOf.addingTimeInterval(-ageDays * day + Double(random.below(86_400)))
        // A long tail of orders: a fifth never ordered, most a few times, a few very often.
        var orderCount = 0
        if !random.chance(0.2) {
            orderCount = max(1, Int(exp(1.1 + 1.0 * random.normal()).rounded()))
            orderCount = min(orderCount, 400)
        }
        var totalSpendFen: Int64 = 0
        var lastOrderAt: Date?
        if orderCount > 0 {
            // Average order value lognormal around ¥120, in fen.
            let averageFen = exp(log(12_000.0) + 0.6 * random.normal())
            totalSpendFen = Int64((averageFen * Double(orderCount)).rounded())
            // Recency: many recent buyers, a long dormant tail.
            let sinceDays = min(ageDays - 0.5, pow(random.unit(), 2.2) * ageDays)
            lastOrderAt = max(registeredAt, asOf.addingTimeInterval(-max(0, sinceDays) * day - Double(random.below(86_400))))
        }
        let tier: String =
            switch totalSpendFen {
            case 500_000...: "platinum"
            case 200_000..<500_000: "gold"
            case 50_000..<200_000: "silver"
            default: "standard"
            }
        var tags: [String] = []
        if ageDays < 30 { tags.append("new") }
        for choice in Self.tagChoices where random.chance(choice.probability) { tags.append(choice.tag) }
        let homeStore = random.chance(0.15) ? nil : Self.stores[random.below(Self.stores.count)]
        let openid = "o" + String(random.next(), radix: 36) + String(UInt64(bitPattern: id), radix: 36)
        return Member(
            id: id, tier: tier, tags: tags, registeredAt: registeredAt, lastOrderAt: lastOrderAt,
            orderCount: orderCount, totalSpendFen: totalSpendFen, homeStore: homeStore, openid: openid)
    }
}

private func pad3(_ n: Int) -> String { n < 10 ? "00\(n)" : n < 100 ? "0\(n)" : "\(n)" }
