import Foundation
import Postgres

/// A row of a CSV import that was refused, with the line and field at fault.
public struct CSVRejection: Sendable, Equatable, CustomStringConvertible {
    public let line: Int
    /// The column at fault; nil when the row as a whole is (wrong number of fields, a conflict).
    public let field: String?
    public let reason: String
    /// The row's fields as read, for reject files.
    public let fields: [String]

    public init(line: Int, field: String?, reason: String, fields: [String] = []) {
        self.line = line
        self.field = field
        self.reason = reason
        self.fields = fields
    }

    /// `line 12: tier: unknown tier "glod" (did you mean "gold"?)`
    public var description: String {
        "line \(line): " + (field.map { "\($0): " } ?? "") + reason
    }
}

/// A field of a CSV row that cannot be used; thrown by a schema's `decode`.
public struct CSVFieldError: Error, Sendable, Equatable {
    public let field: String
    public let reason: String

    public init(_ field: String, _ reason: String) {
        self.field = field
        self.reason = reason
    }
}

/// The columns of one kind of CSV import and how a row of it is checked and staged.
public protocol CSVSchema {
    associatedtype Row
    /// The header the file must start with, in order.
    var header: [String] { get }
    /// The staging table's columns after `line bigint`, as in CREATE TABLE.
    var stagingColumns: String { get }
    /// Checks one row's fields (as many as the header has); never touches the database.
    func decode(_ fields: [String]) throws(CSVFieldError) -> Row
    /// Writes a checked row's staging columns (not `line`) as COPY text fields.
    func write(_ row: Row, to writer: inout CopyInWriter) throws
}

/// Streams a CSV file into a temporary staging table by COPY, one checked row at a time, so
/// what follows is set-based SQL over the table, however many rows the file holds.
///
/// Rows that fail their schema's checks are handed to `onReject` and not staged; the rest are
/// staged with their line number (column `line`), so later set-based checks can still name the
/// line at fault. Memory stays bounded: one row is held at a time.
public struct CSVStaging<Schema: CSVSchema> {
    public let schema: Schema
    /// The temporary table's name (an identifier chosen by the caller, not by the file).
    public let table: String

    public init(schema: Schema, table: String) {
        precondition(table.allSatisfy { $0.isLetter || $0.isNumber || $0 == "_" }, "staging table names are identifiers")
        self.schema = schema
        self.table = table
    }

    public struct Outcome: Sendable, Equatable {
        /// Data rows read (the header not counted).
        public var read = 0
        public var staged = 0
        public var rejected = 0
    }

    /// Creates the staging table (dropped at COMMIT when `dropOnCommit`, else at the end of the
    /// session) and fills it from `path`. A header that differs from the schema's is an error
    /// for the whole file, before any row is staged.
    public func stage(
        path: String, _ connection: Connection, dropOnCommit: Bool = true, onStaged: (Schema.Row) -> Void = { _ in },
        onReject: (CSVRejection) -> Void
    ) throws -> Outcome {
        let reader = try CSVReader(path: path)
        guard let header = try reader.next() else {
            throw InputError("\(path): the file is empty; its first line must be the header \(schema.header.joined(separator: ","))")
        }
        let names = header.fields.map { $0.trimmingCharacters(in: .whitespaces).lowercased() }
        guard names == schema.header else {
            throw InputError(
                "\(path):\(header.line): the header must be \(schema.header.joined(separator: ",")), "
                    + "found \(header.fields.joined(separator: ","))")
        }
        try connection.execute("DROP TABLE IF EXISTS pg_temp.\(table)")
        try connection.execute(
            "CREATE TEMP TABLE \(table) (line bigint NOT NULL, \(schema.stagingColumns))"
                + (dropOnCommit ? " ON COMMIT DROP" : ""))
        var outcome = Outcome()
        try connection.copyIn("COPY \(table) FROM STDIN") { writer in
            while let record = try reader.next() {
                outcome.read += 1
                guard record.fields.count == schema.header.count else {
                    outcome.rejected += 1
                    onReject(
                        CSVRejection(
                            line: record.line, field: nil,
                            reason: "expected \(schema.header.count) fields, found \(record.fields.count)",
                            fields: record.fields))
                    continue
                }
                let row: Schema.Row
                switch Result(catching: { () throws(CSVFieldError) -> Schema.Row in try schema.decode(record.fields) }) {
                case .success(let decoded):
                    row = decoded
                case .failure(let error):
                    outcome.rejected += 1
                    onReject(CSVRejection(line: record.line, field: error.field, reason: error.reason, fields: record.fields))
                    continue
                }
                writer.field(Int64(record.line))
                try schema.write(row, to: &writer)
                onStaged(row)
                try writer.endRow()
                outcome.staged += 1
            }
        }
        try connection.execute("ANALYZE \(table)")
        return outcome
    }

    /// Removes the staged rows whose `key` column repeats an earlier line's and reports each one,
    /// in line order, as refused: the first line wins, so which row applies never depends on the
    /// order rows happen to be processed in (and an upsert never meets one key twice).
    /// `reason` words the refusal from the key's text and the first line. Returns how many.
    public func dropRepeatedKeys(
        _ key: String, field: String, _ connection: Connection, reason: (String, Int64) -> String,
        onReject: (CSVRejection) -> Void
    ) throws -> Int {
        precondition(key.allSatisfy { $0.isLetter || $0.isNumber || $0 == "_" }, "staging columns are identifiers")
        let repeated = try connection.query(
            """
            DELETE FROM \(table) s
            USING (SELECT line, min(line) OVER (PARTITION BY \(key)) AS first_line FROM \(table)) d
            WHERE s.line = d.line AND d.line <> d.first_line
            RETURNING s.line, s.\(key)::text AS key, d.first_line
            """)
        for row in try repeated.rows.sorted(by: { try $0.decode("line", as: Int64.self) < $1.decode("line", as: Int64.self) }) {
            onReject(
                CSVRejection(
                    line: Int(try row.decode("line", as: Int64.self)), field: field,
                    reason: reason(try row.decode("key", as: String.self), try row.decode("first_line", as: Int64.self))))
        }
        return repeated.count
    }
}

/// Checks shared by CSV schemas: what each field type accepts, with messages that say so.
///
/// Written over UTF-8 bytes rather than Foundation's character sets: a million-row file passes
/// nine million fields through here.
public enum CSVField {
    /// `text` without leading and trailing spaces and tabs (the text itself when there are none).
    public static func trimmed(_ text: String) -> String {
        let bytes = text.utf8
        guard let first = bytes.first, let last = bytes.last else { return text }
        guard first == 0x20 || first == 0x09 || last == 0x20 || last == 0x09 else { return text }
        var start = bytes.startIndex
        var end = bytes.endIndex
        while start < end, bytes[start] == 0x20 || bytes[start] == 0x09 { start = bytes.index(after: start) }
        while end > start, bytes[bytes.index(before: end)] == 0x20 || bytes[bytes.index(before: end)] == 0x09 {
            end = bytes.index(before: end)
        }
        return String(decoding: bytes[start..<end], as: UTF8.self)
    }

    /// A whole number in `range`.
    public static func integer(
        _ text: String, _ field: String, in range: ClosedRange<Int64> = Int64.min...Int64.max
    ) throws(CSVFieldError) -> Int64 {
        let trimmed = trimmed(text)
        guard let value = Int64(trimmed) else {
            throw CSVFieldError(field, trimmed.isEmpty ? "a whole number is required" : "\"\(trimmed)\" is not a whole number")
        }
        guard range.contains(value) else {
            throw CSVFieldError(
                field,
                range.upperBound == Int64.max
                    ? "\(value) is below \(range.lowerBound)" : "\(value) is outside \(range.lowerBound)…\(range.upperBound)")
        }
        return value
    }

    /// An instant with an explicit offset (`2026-11-23T10:00:00+08:00`, `…Z`), returned in the
    /// form PostgreSQL reads. A time without a zone is refused: which day it is depends on it.
    public static func instant(_ text: String, _ field: String) throws(CSVFieldError) -> String {
        let trimmed = trimmed(text)
        guard ISO8601Instant.isValid(trimmed) else {
            throw CSVFieldError(
                field,
                trimmed.isEmpty
                    ? "a time is required, e.g. 2026-11-23T10:00:00+08:00"
                    : "\"\(trimmed)\" is not a valid time: use ISO 8601 with a zone offset, e.g. 2026-11-23T10:00:00+08:00")
        }
        return trimmed
    }

    /// Text of at most `maxLength` characters with no control characters; nil when blank.
    public static func optionalText(_ text: String, _ field: String, maxLength: Int = 200) throws(CSVFieldError) -> String? {
        let trimmed = trimmed(text)
        if trimmed.isEmpty { return nil }
        guard trimmed.utf8.count <= maxLength || trimmed.count <= maxLength else { throw CSVFieldError(field, "longer than \(maxLength) characters") }
        guard !trimmed.utf8.contains(where: { $0 < 0x20 || $0 == 0x7F }) else {
            throw CSVFieldError(field, "contains a control character")
        }
        return trimmed
    }

    /// Like `optionalText`, but blank is refused.
    public static func text(_ text: String, _ field: String, maxLength: Int = 200) throws(CSVFieldError) -> String {
        guard let value = try optionalText(text, field, maxLength: maxLength) else {
            throw CSVFieldError(field, "a value is required")
        }
        return value
    }
}

/// The ISO 8601 instants imports accept: `YYYY-MM-DD[T| ]HH:MM[:SS[.fraction]]` followed by `Z`
/// or `±HH[:MM]`, with every part in range. Checked by hand: a million rows hold two million
/// of them, and PostgreSQL parses the text again anyway.
public enum ISO8601Instant {
    public static func isValid(_ text: String) -> Bool {
        var text = text
        return text.withUTF8 { isValid(bytes: $0) }
    }

    static func isValid(bytes b: UnsafeBufferPointer<UInt8>) -> Bool {
        func digits(_ start: Int, _ count: Int) -> Int? {
            guard start + count <= b.count else { return nil }
            var value = 0
            for i in start..<(start + count) {
                guard b[i] >= 0x30, b[i] <= 0x39 else { return nil }
                value = value * 10 + Int(b[i] - 0x30)
            }
            return value
        }
        guard let year = digits(0, 4), b.count > 16, b[4] == 0x2D, let month = digits(5, 2), b[7] == 0x2D,
            let day = digits(8, 2), b[10] == 0x54 || b[10] == 0x20 || b[10] == 0x74,
            let hour = digits(11, 2), b[13] == 0x3A, let minute = digits(14, 2)
        else { return false }
        guard year >= 1900, (1...12).contains(month), (1...daysIn(month, year)).contains(day), hour <= 23, minute <= 59
        else { return false }
        var i = 16
        if i < b.count, b[i] == 0x3A {
            guard let second = digits(i + 1, 2), second <= 59 else { return false }
            i += 3
            if i < b.count, b[i] == 0x2E || b[i] == 0x2C {
                i += 1
                let start = i
                while i < b.count, b[i] >= 0x30, b[i] <= 0x39 { i += 1 }
                guard i > start, i - start <= 9 else { return false }
            }
        }
        guard i < b.count else { return false }
        if b[i] == 0x5A || b[i] == 0x7A { return i + 1 == b.count }
        guard b[i] == 0x2B || b[i] == 0x2D, let offsetHours = digits(i + 1, 2), offsetHours <= 14 else { return false }
        i += 3
        if i == b.count { return true }
        if b[i] == 0x3A { i += 1 }
        guard let offsetMinutes = digits(i, 2), offsetMinutes <= 59 else { return false }
        return i + 2 == b.count
    }

    private static func daysIn(_ month: Int, _ year: Int) -> Int {
        switch month {
        case 2: return (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 ? 29 : 28
        case 4, 6, 9, 11: return 30
        default: return 31
        }
    }
}
