import Foundation

/// The member ids of a `list:` CSV file, parsed without the database.
///
/// The format: one member id (a positive integer) a line; an optional first line `member_id`
/// (the header); blank lines and surrounding spaces ignored; LF or CRLF; an id may be quoted
/// (`"42"`). Anything else on a line (not a positive 64-bit integer, more than one column) makes
/// that line a `SegmentWarning` naming its line number, and the other lines still count: bad
/// rows of an import are reported by line and the good rows applied. An id listed twice counts
/// once.
public struct MemberListFile: Sendable, Equatable {
    /// The good ids, ascending and distinct.
    public let memberIDs: [Int64]
    /// Every bad line, in file order.
    public let problems: [SegmentWarning]
    /// Good lines whose id was already listed.
    public let duplicateCount: Int

    /// Parses `text`; `name` is how lines are reported (`members.csv:17: …`).
    public init(parsing text: String, name: String) {
        var ids: [Int64] = []
        var problems: [SegmentWarning] = []
        var sawContent = false
        let lines = text.utf8.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false)
        for (index, bytes) in lines.enumerated() {
            var line = String(decoding: bytes, as: UTF8.self)
            if index == 0, line.hasPrefix("\u{FEFF}") { line.removeFirst() }
            let trimmed = line.trimmingCharacters(in: .whitespacesAndNewlines)
            if trimmed.isEmpty { continue }
            defer { sawContent = true }
            let columns = trimmed.split(separator: ",", omittingEmptySubsequences: false)
            if columns.count > 1 {
                let message =
                    "\(Self.quoted(trimmed)) has \(columns.count) columns; a member list has one member id a line"
                problems.append(SegmentWarning(file: name, line: index + 1, message: message))
                continue
            }
            let field = Self.unquoted(trimmed)
            if !sawContent, field.lowercased() == "member_id" { continue }
            guard let id = Self.memberID(field) else {
                problems.append(
                    SegmentWarning(file: name, line: index + 1, message: "\(Self.quoted(trimmed)) is not a member id"))
                continue
            }
            ids.append(id)
        }
        ids.sort()
        var distinct: [Int64] = []
        distinct.reserveCapacity(ids.count)
        for id in ids where distinct.last != id { distinct.append(id) }
        self.memberIDs = distinct
        self.problems = problems
        self.duplicateCount = ids.count - distinct.count
    }

    /// A positive integer written with ASCII digits only (no sign, no exponent, no spaces inside).
    static func memberID(_ text: Substring) -> Int64? {
        guard !text.isEmpty, text.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }), let id = Int64(text), id > 0 else {
            return nil
        }
        return id
    }

    private static func unquoted(_ text: String) -> Substring {
        let whole = Substring(text)
        guard whole.count >= 2, whole.first == "\"", whole.last == "\"" else { return whole }
        return whole.dropFirst().dropLast().trimmingCharacters(in: .whitespaces)[...]
    }

    /// The line as shown in a message: quoted, cut at 40 characters so one huge line stays readable.
    private static func quoted(_ text: String) -> String {
        text.count > 40 ? "\"\(text.prefix(40))…\"" : "\"\(text)\""
    }
}
