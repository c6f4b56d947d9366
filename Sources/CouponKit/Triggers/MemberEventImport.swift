import Foundation
import Postgres

/// `events import FILE.csv` (`external_id,member_id,type,amount_fen,occurred_at`): back-fills
/// events the merchant's systems could not send. Every row is checked on its own and bad ones
/// are reported by line; the good ones go in with one set-based INSERT, idempotent by external
/// id, so importing the same file twice records each event once.
///
/// Fields are plain (no quoted commas): none of the five columns needs one.
public struct MemberEventImport: Sendable {
    public static let header = ["external_id", "member_id", "type", "amount_fen", "occurred_at"]

    public struct Outcome: Sendable, Equatable, Codable {
        public var read = 0
        public var inserted = 0
        /// Good rows whose external id was already recorded (an earlier import, or the sender).
        public var alreadyRecorded = 0
        public var rejected = 0
    }

    /// One refused row: `events.csv:7: member_id: "x" is not a member id`.
    public struct Rejection: Sendable, Equatable, CustomStringConvertible {
        public let file: String
        public let line: Int
        public let field: String?
        public let reason: String
        public var description: String { "\(file):\(line): " + (field.map { "\($0): " } ?? "") + reason }
    }

    public init() {}

    public func run(path: String, _ connection: Connection, onReject: (Rejection) -> Void) throws -> Outcome {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw InputError("\(path): cannot read the file")
        }
        let name = (path as NSString).lastPathComponent
        var outcome = Outcome()
        var externalIDs: [String] = []
        var members: [Int64] = []
        var types: [String] = []
        var amounts: [Int64] = []  // -1 for none (arrays of optionals are not bindable)
        var occurred: [String] = []
        var seen: [String: Int] = [:]
        let lines = String(decoding: data, as: UTF8.self).split(separator: "\n", omittingEmptySubsequences: false)
        for (index, raw) in lines.enumerated() {
            var text = String(raw)
            if text.hasSuffix("\r") { text.removeLast() }
            if index == 0, text.hasPrefix("\u{FEFF}") { text.removeFirst() }
            if text.trimmingCharacters(in: .whitespaces).isEmpty { continue }
            let fields = text.split(separator: ",", omittingEmptySubsequences: false).map {
                $0.trimmingCharacters(in: .whitespaces)
            }
            if index == 0 {
                guard fields == Self.header else {
                    throw InputError("\(name):1: the header must be \(Self.header.joined(separator: ",")) (got \(text.prefix(80)))")
                }
                continue
            }
            outcome.read += 1
            func reject(_ field: String?, _ reason: String) {
                outcome.rejected += 1
                onReject(Rejection(file: name, line: index + 1, field: field, reason: reason))
            }
            guard fields.count == Self.header.count else {
                reject(nil, "has \(fields.count) fields; expected \(Self.header.count)")
                continue
            }
            guard (1...200).contains(fields[0].count) else {
                reject("external_id", "must be 1 to 200 characters")
                continue
            }
            guard let member = Int64(fields[1]), member > 0 else {
                reject("member_id", "\"\(fields[1].prefix(40))\" is not a member id")
                continue
            }
            guard MemberEventType.isValid(fields[2]) else {
                reject("type", "\"\(fields[2].prefix(40))\" must be lowercase letters, digits, - or _ (e.g. payment)")
                continue
            }
            var amount: Int64 = -1
            if !fields[3].isEmpty {
                guard let value = Int64(fields[3]), value >= 0 else {
                    reject("amount_fen", "\"\(fields[3].prefix(40))\" is not a whole number of fen (0 or more)")
                    continue
                }
                amount = value
            }
            guard Self.isInstant(fields[4]) else {
                reject("occurred_at", "\"\(fields[4].prefix(40))\" is not an ISO 8601 instant with a zone (2026-11-23T09:00:00+08:00)")
                continue
            }
            if let first = seen[fields[0]] {
                reject("external_id", "\"\(fields[0])\" is already on line \(first)")
                continue
            }
            seen[fields[0]] = index + 1
            externalIDs.append(fields[0])
            members.append(member)
            types.append(fields[2])
            amounts.append(amount)
            occurred.append(fields[4])
        }
        if !externalIDs.isEmpty {
            outcome.inserted = try connection.execute(
                """
                INSERT INTO member_events (external_id, member_id, type, amount_fen, occurred_at)
                SELECT x, m, t, nullif(a, -1), o
                FROM unnest($1::text[], $2::bigint[], $3::text[], $4::bigint[], $5::timestamptz[]) AS r(x, m, t, a, o)
                ORDER BY x
                ON CONFLICT (external_id) DO NOTHING
                """, [externalIDs, members, types, amounts, occurred])
            outcome.alreadyRecorded = externalIDs.count - outcome.inserted
        }
        return outcome
    }

    /// `2026-11-23T09:00:00+08:00`, `…Z`, with optional fractional seconds: a zone is required,
    /// so an instant never depends on the importing machine's zone.
    static func isInstant(_ text: String) -> Bool {
        if (try? Date(text, strategy: .iso8601)) != nil { return true }
        return (try? Date(text, strategy: Date.ISO8601FormatStyle(includingFractionalSeconds: true))) != nil
    }
}
