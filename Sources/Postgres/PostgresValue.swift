import Foundation

/// A Swift value that can be sent as a statement parameter, in PostgreSQL's text format.
public protocol PostgresBindable {
    /// The text form PostgreSQL parses for this value; nil for SQL NULL.
    var postgresText: String? { get }
}

/// A Swift value that can be read from a column in PostgreSQL's text format.
public protocol PostgresDecodable {
    /// Parses the server's text form; throws a description of what did not fit.
    init(postgresText text: String) throws(PostgresDecodingFailure)
}

/// Why a column's text did not decode; `Row` adds the column name.
public struct PostgresDecodingFailure: Error, Sendable {
    public let reason: String
    public init(_ reason: String) { self.reason = reason }
}

extension Optional: PostgresBindable where Wrapped: PostgresBindable {
    public var postgresText: String? { self?.postgresText }
}

extension String: PostgresBindable, PostgresDecodable {
    public var postgresText: String? { self }
    public init(postgresText text: String) { self = text }
}

extension Substring: PostgresBindable {
    public var postgresText: String? { String(self) }
}

extension Int: PostgresBindable, PostgresDecodable {
    public var postgresText: String? { String(self) }
    public init(postgresText text: String) throws(PostgresDecodingFailure) {
        guard let value = Int(text) else { throw PostgresDecodingFailure("\"\(text.prefix(40))\" is not an integer") }
        self = value
    }
}

extension Int64: PostgresBindable, PostgresDecodable {
    public var postgresText: String? { String(self) }
    public init(postgresText text: String) throws(PostgresDecodingFailure) {
        guard let value = Int64(text) else { throw PostgresDecodingFailure("\"\(text.prefix(40))\" is not an Int64") }
        self = value
    }
}

extension Int32: PostgresBindable, PostgresDecodable {
    public var postgresText: String? { String(self) }
    public init(postgresText text: String) throws(PostgresDecodingFailure) {
        guard let value = Int32(text) else { throw PostgresDecodingFailure("\"\(text.prefix(40))\" is not an Int32") }
        self = value
    }
}

extension Double: PostgresBindable, PostgresDecodable {
    public var postgresText: String? {
        if isNaN { return "NaN" }
        if isInfinite { return self > 0 ? "Infinity" : "-Infinity" }
        return String(self)
    }
    public init(postgresText text: String) throws(PostgresDecodingFailure) {
        switch text {
        case "NaN": self = .nan
        case "Infinity": self = .infinity
        case "-Infinity": self = -.infinity
        default:
            guard let value = Double(text) else { throw PostgresDecodingFailure("\"\(text.prefix(40))\" is not a number") }
            self = value
        }
    }
}

extension Bool: PostgresBindable, PostgresDecodable {
    public var postgresText: String? { self ? "t" : "f" }
    public init(postgresText text: String) throws(PostgresDecodingFailure) {
        switch text {
        case "t", "true": self = true
        case "f", "false": self = false
        default: throw PostgresDecodingFailure("\"\(text.prefix(40))\" is not a boolean")
        }
    }
}

extension Date: PostgresBindable, PostgresDecodable {
    /// Sent as UTC with microseconds, which timestamptz stores exactly.
    public var postgresText: String? { PostgresTimestamp.format(self) }
    public init(postgresText text: String) throws(PostgresDecodingFailure) {
        guard let date = PostgresTimestamp.parse(text) else {
            throw PostgresDecodingFailure("\"\(text.prefix(40))\" is not a timestamptz")
        }
        self = date
    }
}

extension Array: PostgresBindable where Element: PostgresArrayElement {
    public var postgresText: String? { PostgresArrayLiteral.encode(self.map { $0.postgresText }) }
}

extension Array: PostgresDecodable where Element: PostgresArrayElement & PostgresDecodable {
    public init(postgresText text: String) throws(PostgresDecodingFailure) {
        guard let items = PostgresArrayLiteral.decode(text) else {
            throw PostgresDecodingFailure("\"\(text.prefix(40))\" is not a one-dimensional array")
        }
        var result: [Element] = []
        result.reserveCapacity(items.count)
        for item in items {
            guard let item else { throw PostgresDecodingFailure("array contains NULL") }
            result.append(try Element(postgresText: item))
        }
        self = result
    }
}

/// Types that may be elements of a one-dimensional array parameter or column.
public protocol PostgresArrayElement: PostgresBindable {}
extension String: PostgresArrayElement {}
extension Int64: PostgresArrayElement {}
extension Int32: PostgresArrayElement {}
extension Int: PostgresArrayElement {}
extension Date: PostgresArrayElement {}

/// A JSON value sent to or read from a json/jsonb column.
public struct PostgresJSON<Value: Codable>: PostgresBindable, PostgresDecodable {
    public var value: Value
    public init(_ value: Value) { self.value = value }

    public var postgresText: String? {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        guard let data = try? encoder.encode(value) else { return nil }
        return String(decoding: data, as: UTF8.self)
    }

    public init(postgresText text: String) throws(PostgresDecodingFailure) {
        do {
            value = try JSONDecoder().decode(Value.self, from: Data(text.utf8))
        } catch {
            throw PostgresDecodingFailure("JSON does not decode as \(Value.self): \(error)")
        }
    }
}

/// PostgreSQL's binary forms of times count from 2000-01-01 (UTC): a timestamptz in
/// microseconds, a date in days; ±infinity are the extreme values.
public enum PostgresTime {
    public static let daysFrom1970To2000 = 10_957
    static let secondsFrom1970To2000: Double = 946_684_800

    /// The instant of a binary timestamptz (`Row.binaryInteger`); infinity as a distant date.
    public static func date(microsecondsSince2000 micros: Int64) -> Date {
        // Counted from 1970 in whole microseconds first, as a text timestamp would be read.
        let (since1970, overflow) = micros.addingReportingOverflow(946_684_800_000_000)
        if micros == .min { return .distantPast }
        if micros == .max || overflow { return .distantFuture }
        return Date(timeIntervalSince1970: Double(since1970) / 1_000_000)
    }
}

/// timestamptz text in and out. The session runs with TimeZone=UTC and DateStyle=ISO, so the
/// server prints `2026-11-23 11:03:04.123456+00`.
enum PostgresTimestamp {
    static func format(_ date: Date) -> String {
        let totalMicros = (date.timeIntervalSince1970 * 1_000_000).rounded()
        var micros = Int64(totalMicros)
        var seconds = micros / 1_000_000
        micros %= 1_000_000
        if micros < 0 { micros += 1_000_000; seconds -= 1 }
        let (y, m, d, hh, mm, ss) = civil(fromUnixSeconds: seconds)
        let year = y > 0 ? pad(y, 4) : "\(pad(1 - y, 4))"
        let suffix = y > 0 ? "" : " BC"
        return "\(year)-\(pad(m, 2))-\(pad(d, 2)) \(pad(hh, 2)):\(pad(mm, 2)):\(pad(ss, 2)).\(pad(Int(micros), 6))+00\(suffix)"
    }

    static func parse(_ text: String) -> Date? {
        if text == "infinity" { return .distantFuture }
        if text == "-infinity" { return .distantPast }
        let bytes = Array(text.utf8)
        var index = 0
        func number(_ digits: Int) -> Int? {
            guard index + digits <= bytes.count else { return nil }
            var value = 0
            for _ in 0..<digits {
                let c = bytes[index]
                guard c >= 48 && c <= 57 else { return nil }
                value = value * 10 + Int(c - 48)
                index += 1
            }
            return value
        }
        func expect(_ c: UInt8) -> Bool {
            guard index < bytes.count, bytes[index] == c else { return false }
            index += 1
            return true
        }
        // Years can exceed four digits; read digits until '-'.
        var year = 0
        var yearDigits = 0
        while index < bytes.count, bytes[index] >= 48, bytes[index] <= 57 {
            year = year * 10 + Int(bytes[index] - 48)
            index += 1
            yearDigits += 1
        }
        guard yearDigits >= 4, expect(45), let month = number(2), expect(45), let day = number(2) else { return nil }
        guard expect(32) || expect(84), let hour = number(2), expect(58), let minute = number(2), expect(58),
            let second = number(2)
        else { return nil }
        var micros = 0
        if index < bytes.count, bytes[index] == 46 {
            index += 1
            var scale = 100_000
            while index < bytes.count, bytes[index] >= 48, bytes[index] <= 57 {
                micros += Int(bytes[index] - 48) * scale
                scale /= 10
                index += 1
            }
        }
        var offsetSeconds = 0
        if index < bytes.count, bytes[index] == 43 || bytes[index] == 45 {
            let sign = bytes[index] == 45 ? -1 : 1
            index += 1
            guard let oh = number(2) else { return nil }
            var om = 0
            var os = 0
            if expect(58) { om = number(2) ?? 0 }
            if expect(58) { os = number(2) ?? 0 }
            offsetSeconds = sign * (oh * 3600 + om * 60 + os)
        } else if expect(90) {
            offsetSeconds = 0
        }
        if text.hasSuffix(" BC") { year = 1 - year }
        let days = daysFromCivil(year, month, day)
        let seconds = Int64(days) * 86_400 + Int64(hour * 3600 + minute * 60 + second) - Int64(offsetSeconds)
        return Date(timeIntervalSince1970: Double(seconds) + Double(micros) / 1_000_000)
    }

    private static func pad(_ value: Int, _ width: Int) -> String {
        let digits = String(value)
        return digits.count >= width ? digits : String(repeating: "0", count: width - digits.count) + digits
    }

    /// Howard Hinnant's days_from_civil.
    static func daysFromCivil(_ year: Int, _ month: Int, _ day: Int) -> Int {
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let mp = (month + 9) % 12
        let doy = (153 * mp + 2) / 5 + day - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        return era * 146_097 + doe - 719_468
    }

    static func civil(fromUnixSeconds seconds: Int64) -> (Int, Int, Int, Int, Int, Int) {
        var days = Int(seconds / 86_400)
        var rem = Int(seconds % 86_400)
        if rem < 0 { rem += 86_400; days -= 1 }
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let d = doy - (153 * mp + 2) / 5 + 1
        let m = mp < 10 ? mp + 3 : mp - 9
        let y = yoe + era * 400 + (m <= 2 ? 1 : 0)
        return (y, m, d, rem / 3600, (rem % 3600) / 60, rem % 60)
    }
}

/// One-dimensional array literals: `{a,"b c",NULL}`.
enum PostgresArrayLiteral {
    /// Built over UTF-8 bytes: `"` and `\` are ASCII, and no byte of a multi-byte character is,
    /// so escaping bytes escapes the same characters (and chunks of thousands of values pass here).
    static func encode(_ items: [String?]) -> String {
        var bytes: [UInt8] = [UInt8(ascii: "{")]
        bytes.reserveCapacity(items.count * 16 + 2)
        for (i, item) in items.enumerated() {
            if i > 0 { bytes.append(UInt8(ascii: ",")) }
            guard let item else {
                bytes.append(contentsOf: "NULL".utf8)
                continue
            }
            bytes.append(UInt8(ascii: "\""))
            for byte in item.utf8 {
                if byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "\\") { bytes.append(UInt8(ascii: "\\")) }
                bytes.append(byte)
            }
            bytes.append(UInt8(ascii: "\""))
        }
        bytes.append(UInt8(ascii: "}"))
        return String(decoding: bytes, as: UTF8.self)
    }

    static func decode(_ text: String) -> [String?]? {
        var scalars = Array(text.unicodeScalars)[...]
        guard scalars.first == "{", scalars.last == "}" else { return nil }
        scalars = scalars.dropFirst().dropLast()
        if scalars.isEmpty { return [] }
        var items: [String?] = []
        var iterator = scalars.makeIterator()
        var current = String.UnicodeScalarView()
        var quoted = false
        var wasQuoted = false
        while let c = iterator.next() {
            if quoted {
                if c == "\\" {
                    if let n = iterator.next() { current.append(n) }
                } else if c == "\"" {
                    quoted = false
                } else {
                    current.append(c)
                }
            } else if c == "\"" {
                quoted = true
                wasQuoted = true
            } else if c == "," {
                items.append(finish(current, wasQuoted))
                current = String.UnicodeScalarView()
                wasQuoted = false
            } else if c == "{" {
                return nil  // multi-dimensional arrays are not supported
            } else {
                current.append(c)
            }
        }
        items.append(finish(current, wasQuoted))
        return items
    }

    private static func finish(_ scalars: String.UnicodeScalarView, _ quoted: Bool) -> String? {
        let text = String(scalars)
        if !quoted && text == "NULL" { return nil }
        return text
    }
}
