import Foundation
import Yams

/// A YAML node together with the file and field path it was found at, read strictly.
///
/// Each typed read returns nil after reporting what was wrong at the node's position, so that a
/// caller carries on with the next field and one load reports every problem at once.
struct DefinitionReader {
    let node: Node
    let file: String
    /// `segment.all[1].tier`; empty for the document root.
    let path: String
    let diagnostics: DefinitionDiagnostics

    /// Position of `node`; Yams gives every composed node a mark, so the fallback is never used.
    var line: Int { node.mark?.line ?? 1 }
    var column: Int { node.mark?.column ?? 1 }

    func report(_ message: String) {
        report(message, path: path)
    }

    func report(_ message: String, path: String) {
        diagnostics.report(
            DefinitionError(file: file, line: line, column: column, path: path, message: message))
    }

    func child(_ node: Node, key: String) -> DefinitionReader {
        DefinitionReader(
            node: node, file: file, path: path.isEmpty ? key : "\(path).\(key)", diagnostics: diagnostics)
    }

    func child(_ node: Node, index: Int) -> DefinitionReader {
        DefinitionReader(node: node, file: file, path: "\(path)[\(index)]", diagnostics: diagnostics)
    }

    // MARK: - What a node is

    /// The resolved tag (`int`, `str`, `null`, …): quoted scalars are always `str`.
    var tagName: Tag.Name { Tag.Name(rawValue: node.tag.rawValue) }

    var isNull: Bool {
        if case .scalar = node, tagName == .null { return true }
        return false
    }

    /// `"abc"`, `12`, `true`, `null`, `a list`, `a mapping`: how a wrong value is named in messages.
    var valueDescription: String {
        switch node {
        case .scalar(let scalar):
            switch tagName {
            case .null: return "null"
            case .str, .timestamp: return "\"\(scalar.string)\""
            default: return scalar.string
            }
        case .mapping: return "a mapping"
        case .sequence: return "a list"
        case .alias: return "an alias"
        }
    }

    func reportType(expected: String) {
        report("expected \(expected), got \(valueDescription)")
    }

    // MARK: - Scalars

    /// Any non-null scalar, as written: `sku: 123` reads as "123".
    func string() -> String? {
        guard case .scalar(let scalar) = node, !isNull else {
            reportType(expected: "a string")
            return nil
        }
        return scalar.string
    }

    /// A string with at least one non-blank character.
    func nonEmptyString() -> String? {
        guard let text = string() else { return nil }
        guard !text.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty else {
            report("must not be empty")
            return nil
        }
        return text
    }

    /// A plain decimal integer (`1_000` allowed); quoted numbers, floats, hex, octal and leading
    /// zeros are refused.
    func integer() -> Int64? {
        guard case .scalar(let scalar) = node, tagName == .int else {
            reportType(expected: "an integer")
            return nil
        }
        let digits = scalar.string.replacingOccurrences(of: "_", with: "")
        let unsigned = digits.hasPrefix("-") || digits.hasPrefix("+") ? String(digits.dropFirst()) : digits
        // A leading zero is refused because YAML 1.1 reads 010 as octal 8: neither reading is safe.
        guard !unsigned.isEmpty, unsigned.allSatisfy({ $0.isASCII && $0.isNumber }),
            unsigned == "0" || !unsigned.hasPrefix("0")
        else {
            reportType(expected: "a decimal integer")
            return nil
        }
        guard let value = Int64(digits) else {
            report("integer \(scalar.string) is out of range")
            return nil
        }
        return value
    }

    /// An integer within `range`, with a message that names the bound that was missed.
    func integer(in range: ClosedRange<Int64>) -> Int64? {
        guard let value = integer() else { return nil }
        guard range.contains(value) else {
            if range.upperBound == Int64.max {
                report("must be at least \(range.lowerBound), got \(value)")
            } else {
                report("must be between \(range.lowerBound) and \(range.upperBound), got \(value)")
            }
            return nil
        }
        return value
    }

    func int(in range: ClosedRange<Int>) -> Int? {
        integer(in: Int64(range.lowerBound)...Int64(range.upperBound)).map { Int($0) }
    }

    /// `true` or `false` only: YAML 1.1's `yes`, `no`, `on` and `off` are refused as too easy to misread.
    func bool() -> Bool? {
        if case .scalar(let scalar) = node, tagName == .bool {
            switch scalar.string.lowercased() {
            case "true": return true
            case "false": return false
            default: break
            }
        }
        reportType(expected: "true or false")
        return nil
    }

    /// A string that must be one of `options`; otherwise `unknown <what> "x" (did you mean "y"?)`.
    func choice(of options: [String], what: String) -> String? {
        guard let text = string() else { return nil }
        guard options.contains(text) else {
            report("unknown \(what) \"\(text)\"" + SpellingSuggestion.hint(for: text, among: options))
            return nil
        }
        return text
    }

    /// `90s`, `15m`, `1h`, `2d`, `1h30m`, or a whole number of seconds; nil after an error.
    func durationSeconds(allowZero: Bool = false) -> Int? {
        guard case .scalar(let scalar) = node, !isNull else {
            reportType(expected: "a duration such as 90s, 15m, 1h, 2d or 1h30m")
            return nil
        }
        let seconds: Int
        if tagName == .int {
            guard let value = integer() else { return nil }
            guard value <= Int64(DefinitionDuration.maximumSeconds) else {
                report("duration \(value) is too long")
                return nil
            }
            seconds = Int(value)
        } else {
            guard let parsed = DefinitionDuration.seconds(from: scalar.string) else {
                report("invalid duration \"\(scalar.string)\" (use e.g. 90s, 15m, 1h, 2d or 1h30m)")
                return nil
            }
            seconds = parsed
        }
        guard seconds > 0 || (allowZero && seconds == 0) else {
            report(allowZero ? "must not be negative" : "must be longer than zero")
            return nil
        }
        return seconds
    }

    /// An IANA zone identifier known to this system.
    func timeZone() -> TimeZone? {
        guard let identifier = string() else { return nil }
        guard let zone = TimeZone(identifier: identifier) else {
            report(
                "unknown time zone \"\(identifier)\""
                    + SpellingSuggestion.hint(for: identifier, among: TimeZone.knownTimeZoneIdentifiers))
            return nil
        }
        return zone
    }

    /// `2026-12-01`, quoted or not.
    func calendarDay() -> CalendarDay? {
        guard case .scalar(let scalar) = node, !isNull else {
            reportType(expected: "a date such as 2026-12-01")
            return nil
        }
        guard let day = CalendarDay(scalar.string) else {
            report("invalid date \"\(scalar.string)\" (expected YYYY-MM-DD)")
            return nil
        }
        return day
    }

    /// A lowercase slug `[a-z0-9][a-z0-9-]*` of at most 63 characters, as job names and keys are.
    func slug(what: String) -> String? {
        guard let text = string() else { return nil }
        guard DefinitionReader.isSlug(text) else {
            if text.isEmpty {
                report("\(what) must not be empty")
            } else if text.count > 63 {
                report("\(what) \"\(text)\" is longer than 63 characters")
            } else {
                report(
                    "invalid \(what) \"\(text)\" "
                        + "(use lowercase letters, digits and dashes, starting with a letter or digit)")
            }
            return nil
        }
        return text
    }

    static func isSlug(_ text: String) -> Bool {
        guard let first = text.unicodeScalars.first, text.unicodeScalars.count <= 63 else { return false }
        func allowed(_ scalar: Unicode.Scalar) -> Bool {
            ("a"..."z").contains(scalar) || ("0"..."9").contains(scalar)
        }
        return allowed(first) && text.unicodeScalars.allSatisfy { allowed($0) || $0 == "-" }
    }

    // MARK: - Collections

    /// The items of a list, each with its indexed path; an empty list is an error unless allowed.
    func list(allowEmpty: Bool = false) -> [DefinitionReader]? {
        guard case .sequence(let sequence) = node else {
            reportType(expected: "a list")
            return nil
        }
        if sequence.isEmpty, !allowEmpty {
            report("must not be empty")
            return nil
        }
        return sequence.enumerated().map { child($0.element, index: $0.offset) }
    }

    /// A list, or one scalar standing for a list of one (`tier: gold` as `tier: [gold]`).
    func scalarOrList() -> [DefinitionReader]? {
        if case .scalar = node, !isNull {
            return [self]
        }
        guard case .sequence = node else {
            reportType(expected: "a string or a list")
            return nil
        }
        return list()
    }

    /// Non-empty strings from a string or a list of them, duplicates dropped in order.
    func strings() -> [String]? {
        guard let items = scalarOrList() else { return nil }
        var values: [String] = []
        var failed = false
        for item in items {
            guard let value = item.nonEmptyString() else {
                failed = true
                continue
            }
            if !values.contains(value) {
                values.append(value)
            }
        }
        return failed ? nil : values
    }

    func mapping() -> DefinitionMappingReader? {
        guard case .mapping(let mapping) = node else {
            reportType(expected: "a mapping")
            return nil
        }
        var entries: [DefinitionMappingReader.Entry] = []
        for (keyNode, valueNode) in mapping {
            guard case .scalar(let keyScalar) = keyNode else {
                let keyReader = DefinitionReader(node: keyNode, file: file, path: path, diagnostics: diagnostics)
                keyReader.report("a key must be a string, got \(keyReader.valueDescription)")
                continue
            }
            let key = keyScalar.string
            let keyReader = child(keyNode, key: key)
            entries.append(.init(key: key, keyReader: keyReader, value: child(valueNode, key: key)))
        }
        return DefinitionMappingReader(reader: self, entries: entries)
    }
}
