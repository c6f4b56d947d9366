import Foundation
import Logging
import Postgres

/// Does a segment's database work once per run and returns a `ResolvedSegment` to store in the
/// run's checkpoint.
///
/// Runs process members a chunk of ids at a time, each chunk its own transaction, possibly on
/// other connections and hours later after a crash. Anything that depends on the data at the time
/// of resolving is fixed here so that all chunks agree:
/// - `rfm`: quintile thresholds over all members (`RFMThresholds`), computed once however many
///   `rfm` rules the segment has.
/// - `list: FILE.csv`: the file's good ids are stored as a snapshot; bad lines become warnings
///   (`ResolvedSegment.warnings`, `.inputError`) and the good lines still apply.
/// - `sql: "…"`: run once, read-only and time-limited (`SQLSegmentEvaluator`); its ids are stored as
///   a snapshot. Each resolve runs the SQL again (its answer changes with the data); the snapshot
///   is content-addressed, so an unchanged answer reuses the stored one.
/// - every other rule resolves to itself; relative day rules count from `asOf`.
public enum SegmentResolver {
    public struct Options: Sendable {
        /// Relative `list:` paths are read from here (the jobs directory); nil: the current directory.
        public var listDirectory: String?
        /// The longest a `sql:` segment may run.
        public var sqlStatementTimeout: Duration
        /// The job field the segment came from, prefixed to errors (`segment.all[1].sql: …`).
        public var field: String
        /// Where `sql:` rules run; nil runs them on `connection` itself (tests of the guards only).
        public var sandbox: SegmentSandbox?

        public init(
            listDirectory: String? = nil, sqlStatementTimeout: Duration = .seconds(60), field: String = "segment",
            sandbox: SegmentSandbox? = nil
        ) {
            self.listDirectory = listDirectory
            self.sqlStatementTimeout = sqlStatementTimeout
            self.field = field
            self.sandbox = sandbox
        }
    }

    /// The longest day count accepted: 200 years, far inside PostgreSQL's timestamp range.
    public static let maximumDays = 73_000

    /// Resolves `segment` as of `asOf` (the run's slot time).
    ///
    /// `list:` and `sql:` rules commit their snapshots in transactions of their own, so
    /// `connection` must not be inside a transaction. Throws `SegmentError` for unusable rules,
    /// unreadable files and refused SQL; bad list lines do not throw (see `ResolvedSegment.inputError`).
    public static func resolve(
        _ segment: Segment, asOf: Date, connection: Connection, options: Options = Options(), logger: Logger? = nil
    ) throws -> ResolvedSegment {
        var resolution = Resolution(asOf: asOf, connection: connection, options: options, logger: logger)
        let condition = try resolution.resolve(segment, field: options.field)
        let resolved = ResolvedSegment(asOf: asOf, condition: condition, warnings: resolution.warnings)
        logger?.debug(
            "segment resolved",
            metadata: [
                "segment.snapshots": "\(resolved.snapshots.count)",
                "segment.warnings": "\(resolved.warningCount)",
            ])
        return resolved
    }
}

/// The state of one `resolve` call.
private struct Resolution {
    let asOf: Date
    let connection: Connection
    let options: SegmentResolver.Options
    let logger: Logger?
    var warnings: [SegmentWarning] = []
    var rfmThresholds: RFMThresholds?

    init(asOf: Date, connection: Connection, options: SegmentResolver.Options, logger: Logger?) {
        self.asOf = asOf
        self.connection = connection
        self.options = options
        self.logger = logger
    }

    mutating func resolve(_ segment: Segment, field: String) throws -> ResolvedCondition {
        switch segment {
        case .everyone:
            return .everyone
        case .all(let segments):
            return .all(try segments.enumerated().map { try resolve($1, field: "\(field).all[\($0)]") })
        case .any(let segments):
            return .any(try segments.enumerated().map { try resolve($1, field: "\(field).any[\($0)]") })
        case .not(let inner):
            return .not(try resolve(inner, field: "\(field).not"))
        case .tier(let tiers):
            return .tier(tiers: tiers.map(\.rawValue))
        case .tagsAny(let tags):
            return .tagsAny(tags: tags)
        case .tagsAll(let tags):
            return .tagsAll(tags: tags)
        case .totalSpendFen(let range):
            try check(range, field: "\(field).total_spend_fen")
            return .totalSpendFen(min: range.min, max: range.max)
        case .orderCount(let range):
            try check(range, field: "\(field).order_count")
            return .orderCount(min: range.min, max: range.max)
        case .lastOrderWithinDays(let days):
            return .lastOrderWithinDays(days: try checked(days, field: "\(field).last_order_within_days"))
        case .dormantDays(let days):
            return .dormantDays(days: try checked(days, field: "\(field).dormant_days"))
        case .registeredWithinDays(let days):
            return .registeredWithinDays(days: try checked(days, field: "\(field).registered_within_days"))
        case .homeStore(let stores):
            return .homeStore(stores: stores)
        case .rfm(let filter):
            return .rfm(try resolve(filter, field: "\(field).rfm"))
        case .list(let path):
            return .snapshot(try loadList(path, field: "\(field).list"))
        case .sql(let sql):
            return .snapshot(try snapshotSQL(sql, field: "\(field).sql"))
        }
    }

    private func check(_ range: BoundedRange, field: String) throws {
        if let min = range.min, let max = range.max, min > max {
            throw SegmentError(
                field: field, reason: .invalidRule, message: "min \(min) is greater than max \(max), so nobody matches")
        }
    }

    private func checked(_ days: Int, field: String) throws -> Int {
        guard (0...SegmentResolver.maximumDays).contains(days) else {
            throw SegmentError(
                field: field, reason: .invalidRule,
                message: "\(days) is not a number of days from 0 to \(SegmentResolver.maximumDays)")
        }
        return days
    }

    private mutating func resolve(_ filter: RFMFilter, field: String) throws -> RFMCondition {
        func scores(_ set: Set<Int>?, _ name: String) throws -> [Int]? {
            guard let set else { return nil }
            if set.isEmpty {
                throw SegmentError(
                    field: "\(field).\(name)", reason: .invalidRule,
                    message: "no scores are listed; list quintile scores from 1 to 5 or leave \(name) out")
            }
            if let bad = set.sorted().first(where: { !(1...5).contains($0) }) {
                throw SegmentError(
                    field: "\(field).\(name)", reason: .invalidRule, message: "\(bad) is not a quintile score (1 to 5)")
            }
            // Every score allowed is the same as no restriction; it saves the work per member.
            return set.count == 5 ? nil : set.sorted()
        }
        let recency = try scores(filter.recency.map(Set.init), "recency")
        let frequency = try scores(filter.frequency.map(Set.init), "frequency")
        let monetary = try scores(filter.monetary.map(Set.init), "monetary")
        let thresholds: RFMThresholds
        if let cached = rfmThresholds {
            thresholds = cached
        } else {
            thresholds = try RFMThresholds.compute(asOf: asOf, connection: connection)
            rfmThresholds = thresholds
            logger?.info(
                "rfm quintile thresholds computed",
                metadata: [
                    "rfm.members": "\(thresholds.memberCount)",
                    "rfm.recency_days": "\(thresholds.recencyDays.map { $0.map(String.init) ?? "never" })",
                    "rfm.order_count": "\(thresholds.orderCount)",
                    "rfm.total_spend_fen": "\(thresholds.totalSpendFen)",
                ])
        }
        return RFMCondition(thresholds: thresholds, recency: recency, frequency: frequency, monetary: monetary)
    }

    private mutating func loadList(_ path: String, field: String) throws -> SegmentSnapshot {
        precondition(!connection.inTransaction, "SegmentResolver.resolve stores snapshots in transactions of its own")
        let loaded = try MemberListLoader.load(
            path: path, directory: options.listDirectory, field: field, connection: connection)
        warnings += loaded.problems
        logger?.info(
            "member list loaded",
            metadata: [
                "segment.field": "\(field)",
                "segment.list": "\(path)",
                "segment.snapshot.id": "\(loaded.snapshot.id)",
                "segment.snapshot.members": "\(loaded.snapshot.memberCount)",
                "segment.snapshot.reused": "\(loaded.reused)",
                "segment.list.bad_lines": "\(loaded.problems.count)",
                "segment.list.duplicates": "\(loaded.duplicateCount)",
            ])
        return loaded.snapshot
    }

    private func snapshotSQL(_ sql: String, field: String) throws -> SegmentSnapshot {
        precondition(!connection.inTransaction, "SegmentResolver.resolve stores snapshots in transactions of its own")
        let ids: [Int64]
        if let sandbox = options.sandbox {
            let reader = try sandbox.connect(Int(SQLSegmentEvaluator.milliseconds(options.sqlStatementTimeout)))
            ids = try SQLSegmentEvaluator.memberIDs(
                sql: sql, field: field, timeout: options.sqlStatementTimeout, connection: reader)
        } else {
            ids = try SQLSegmentEvaluator.memberIDs(
                sql: sql, field: field, timeout: options.sqlStatementTimeout, connection: connection)
        }
        let stored = try SegmentSnapshotStore.store(
            sortedMemberIDs: ids, kind: .sql, source: sql, connection: connection)
        logger?.info(
            "segment sql evaluated",
            metadata: [
                "segment.field": "\(field)",
                "segment.snapshot.id": "\(stored.snapshot.id)",
                "segment.snapshot.members": "\(stored.snapshot.memberCount)",
                "segment.snapshot.reused": "\(stored.reused)",
            ])
        return stored.snapshot
    }
}
