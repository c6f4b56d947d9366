import Foundation

/// A segment with everything that depends on the database fixed once for a run: RFM quintile
/// thresholds, member list and SQL snapshots, and the instant relative day rules count from.
///
/// It is `Codable` so that a run stores it in its checkpoint: every chunk, on any connection, and
/// a run resumed hours later after a crash match members by exactly the same rule, even if the
/// members' RFM distribution moved in between. `predicate(alias:firstParameter:)` turns it into
/// SQL without touching the database again.
public struct ResolvedSegment: Sendable, Equatable, Codable {
    /// The version of the stored form; a checkpoint written by a newer format is refused.
    public static let currentFormatVersion = 1
    /// Bad list lines kept in the stored form; more are only counted, so that a wrong file
    /// cannot blow up the checkpoint that every chunk rewrites.
    public static let storedWarningLimit = 100

    /// The run's reference instant, normalized to whole microseconds (what PostgreSQL stores), so
    /// that the stored form round-trips exactly.
    public let asOf: Date
    public let condition: ResolvedCondition
    /// Bad lines of member lists (the good lines were applied), at most `storedWarningLimit`.
    public let warnings: [SegmentWarning]
    /// Bad lines beyond `storedWarningLimit`.
    public let omittedWarningCount: Int

    public init(asOf: Date, condition: ResolvedCondition, warnings: [SegmentWarning] = [], omittedWarningCount: Int = 0)
    {
        self.asOf = Date(timeIntervalSince1970: Double(Self.unixMicroseconds(asOf)) / 1_000_000)
        self.condition = condition
        self.warnings = Array(warnings.prefix(Self.storedWarningLimit))
        self.omittedWarningCount = omittedWarningCount + max(0, warnings.count - Self.storedWarningLimit)
    }

    /// All bad list lines, including those not kept.
    public var warningCount: Int { warnings.count + omittedWarningCount }

    /// The snapshots (member lists, SQL results) this segment reads, in the order they appear.
    public var snapshots: [SegmentSnapshot] { condition.snapshots }

    // MARK: Codable

    private enum CodingKeys: String, CodingKey {
        case formatVersion, asOfUnixMicroseconds, condition, warnings, omittedWarningCount
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        let version = try container.decode(Int.self, forKey: .formatVersion)
        guard version == Self.currentFormatVersion else {
            throw DecodingError.dataCorruptedError(
                forKey: .formatVersion, in: container,
                debugDescription: "resolved segment format \(version) is not \(Self.currentFormatVersion)")
        }
        let micros = try container.decode(Int64.self, forKey: .asOfUnixMicroseconds)
        self.init(
            asOf: Date(timeIntervalSince1970: Double(micros) / 1_000_000),
            condition: try container.decode(ResolvedCondition.self, forKey: .condition),
            warnings: try container.decode([SegmentWarning].self, forKey: .warnings),
            omittedWarningCount: try container.decode(Int.self, forKey: .omittedWarningCount))
    }

    /// The instant is stored as integer microseconds, whatever date strategy the encoder uses.
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(Self.currentFormatVersion, forKey: .formatVersion)
        try container.encode(Self.unixMicroseconds(asOf), forKey: .asOfUnixMicroseconds)
        try container.encode(condition, forKey: .condition)
        try container.encode(warnings, forKey: .warnings)
        try container.encode(omittedWarningCount, forKey: .omittedWarningCount)
    }

    static func unixMicroseconds(_ date: Date) -> Int64 {
        Int64((date.timeIntervalSince1970 * 1_000_000).rounded())
    }
}

/// One rule of a resolved segment: `Segment` with RFM thresholds and snapshots filled in.
///
/// Tiers are kept as their raw strings so the stored form does not depend on `MemberTier`'s
/// conformances.
public indirect enum ResolvedCondition: Sendable, Equatable, Hashable, Codable {
    case everyone
    case all([ResolvedCondition])
    case any([ResolvedCondition])
    case not(ResolvedCondition)
    case tier(tiers: [String])
    case tagsAny(tags: [String])
    case tagsAll(tags: [String])
    /// Inclusive bounds; nil is unbounded.
    case totalSpendFen(min: Int64?, max: Int64?)
    /// Inclusive bounds; nil is unbounded.
    case orderCount(min: Int64?, max: Int64?)
    case lastOrderWithinDays(days: Int)
    case dormantDays(days: Int)
    case registeredWithinDays(days: Int)
    case homeStore(stores: [String])
    case rfm(RFMCondition)
    /// Members whose id is in a stored snapshot (`list:` files and `sql:` results).
    case snapshot(SegmentSnapshot)

    var snapshots: [SegmentSnapshot] {
        switch self {
        case .snapshot(let snapshot): return [snapshot]
        case .all(let conditions), .any(let conditions): return conditions.flatMap(\.snapshots)
        case .not(let condition): return condition.snapshots
        default: return []
        }
    }
}

/// A bad line of a member list: reported by line, while the file's good lines are applied.
public struct SegmentWarning: Sendable, Equatable, Hashable, Codable, CustomStringConvertible {
    /// The list file as the job names it.
    public var file: String
    /// 1-based line number.
    public var line: Int
    public var message: String

    public init(file: String, line: Int, message: String) {
        self.file = file
        self.line = line
        self.message = message
    }

    /// `members.csv:17: "12a" is not a member id`
    public var description: String { "\(file):\(line): \(message)" }
}

extension ResolvedSegment {
    /// Lines of a bad-input message; more are summed up as "and N more".
    public static let reportedWarningLimit = 20

    /// The bad member list lines as one `InputError` (exit 65), or nil when every line was good.
    ///
    /// Resolving does not throw for bad lines, because the product rule is that bad rows of an
    /// import are reported by line and the good rows applied: the caller decides whether a run
    /// goes ahead with the good rows (and reports this) or refuses to start.
    public var inputError: InputError? {
        guard warningCount > 0 else { return nil }
        let total = warningCount
        var lines = ["\(total) bad \(total == 1 ? "line" : "lines") in member lists; the good lines were applied:"]
        lines += warnings.prefix(Self.reportedWarningLimit).map(\.description)
        let shown = min(warnings.count, Self.reportedWarningLimit)
        if total > shown { lines.append("and \(total - shown) more") }
        return InputError(lines.joined(separator: "\n"))
    }
}
