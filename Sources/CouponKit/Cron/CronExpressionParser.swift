/// Turns cron text (five fields or a macro) into a `CronMatcher`.
enum CronExpressionParser {
    /// Macro spellings (lower-cased) and the five fields they stand for.
    static let macros: [String: String] = [
        "@yearly": "0 0 1 1 *",
        "@annually": "0 0 1 1 *",
        "@monthly": "0 0 1 * *",
        "@weekly": "0 0 * * 0",
        "@daily": "0 0 * * *",
        "@midnight": "0 0 * * *",
        "@hourly": "0 * * * *",
    ]

    /// Parses already trimmed text.
    static func parse(_ text: String) throws(CronParseError) -> CronMatcher {
        if text.isEmpty {
            throw CronParseError(message: "empty cron expression")
        }
        let tokens = text.split(whereSeparator: { $0.isWhitespace })
        if text.hasPrefix("@") {
            return try parseMacro(tokens)
        }
        guard tokens.count == 5 else {
            throw CronParseError(
                message: "expected 5 fields (minute hour day-of-month month day-of-week), got \(tokens.count)"
            )
        }
        let minute = try parseField(tokens[0], .minute)
        let hour = try parseField(tokens[1], .hour)
        let dayOfMonth = try parseField(tokens[2], .dayOfMonth)
        let month = try parseField(tokens[3], .month)
        let dayOfWeek = try parseField(tokens[4], .dayOfWeek)
        return CronMatcher(
            minutes: minute.bits,
            hours: UInt32(truncatingIfNeeded: hour.bits),
            daysOfMonth: UInt32(truncatingIfNeeded: dayOfMonth.bits),
            lastDayOfMonth: dayOfMonth.lastDayOfMonth,
            months: UInt16(truncatingIfNeeded: month.bits),
            daysOfWeek: UInt8(truncatingIfNeeded: dayOfWeek.bits),
            hourRestricted: hour.restricted,
            dayOfMonthRestricted: dayOfMonth.restricted,
            dayOfWeekRestricted: dayOfWeek.restricted
        )
    }

    private static func parseMacro(_ tokens: [Substring]) throws(CronParseError) -> CronMatcher {
        let macro = tokens[0]
        let key = macro.lowercased()
        if key == "@reboot" {
            throw CronParseError(message: "macro \"@reboot\" is not supported: only time-based schedules can be computed")
        }
        guard let expansion = macros[key] else {
            throw CronParseError(
                message: "unknown macro \"\(macro)\" (expected @yearly, @annually, @monthly, @weekly, @daily, @midnight or @hourly)"
            )
        }
        guard tokens.count == 1 else {
            let rest = tokens.dropFirst().joined(separator: " ")
            throw CronParseError(message: "macro \"\(macro)\" takes no fields, but found \"\(rest)\" after it")
        }
        return try parse(expansion)
    }

    /// The values selected by one field, as bits (bit n set = value n selected).
    struct ParsedField {
        var bits: UInt64 = 0
        var lastDayOfMonth = false
        /// False when the field text starts with `*` (Vixie cron's notion of an unrestricted field).
        var restricted: Bool
    }

    static func parseField(_ text: Substring, _ kind: CronFieldKind) throws(CronParseError) -> ParsedField {
        var field = ParsedField(restricted: !text.hasPrefix("*"))
        for element in text.split(separator: ",", omittingEmptySubsequences: false) {
            if element.isEmpty {
                throw .field(kind, text, "empty element in list")
            }
            if element == "L" || element == "l" {
                guard kind == .dayOfMonth else {
                    throw .field(kind, text, "\"L\" is only allowed in the day-of-month field")
                }
                field.lastDayOfMonth = true
                continue
            }
            let parts = element.split(separator: "/", omittingEmptySubsequences: false)
            guard parts.count <= 2 else {
                throw .field(kind, text, "\"\(element)\" has more than one \"/\"")
            }
            let base = parts[0]
            let hasStep = parts.count == 2
            let step = hasStep ? try parseStep(parts[1], kind, text) : 1
            let low: Int
            let high: Int
            if base == "*" {
                low = kind.bounds.lowerBound
                high = kind.implicitUpperBound
            } else if base.isEmpty {
                throw .field(kind, text, "missing value before \"/\"")
            } else if base.contains("-") {
                (low, high) = try parseRange(base, kind, text)
            } else {
                low = try parseValue(base, kind, text)
                high = hasStep ? max(low, kind.implicitUpperBound) : low
            }
            for value in stride(from: low, through: high, by: step) {
                field.bits |= 1 << UInt64(value)
            }
        }
        if kind == .dayOfWeek, field.bits & (1 << 7) != 0 {
            // 7 is another spelling of Sunday.
            field.bits = (field.bits & ~(1 << 7)) | 1
        }
        return field
    }

    private static func parseRange(
        _ base: Substring, _ kind: CronFieldKind, _ text: Substring
    ) throws(CronParseError) -> (Int, Int) {
        let ends = base.split(separator: "-", omittingEmptySubsequences: false)
        guard ends.count == 2 else {
            throw .field(kind, text, "invalid range \"\(base)\" (expected start-end)")
        }
        guard !ends[0].isEmpty else {
            throw .field(kind, text, "range \"\(base)\" has no start (negative numbers are not allowed)")
        }
        guard !ends[1].isEmpty else {
            throw .field(kind, text, "range \"\(base)\" has no end")
        }
        let low = try parseValue(ends[0], kind, text)
        var high = try parseValue(ends[1], kind, text)
        if kind == .dayOfWeek, high == 0, low > 0, !isNumber(ends[1]) {
            // FRI-SUN: a range may end on Sunday when Sunday is spelled by name.
            high = 7
        }
        guard low <= high else {
            throw .field(kind, text, "range \(base) is reversed (start \(ends[0]) is after end \(ends[1]))")
        }
        return (low, high)
    }

    private static func parseStep(
        _ token: Substring, _ kind: CronFieldKind, _ text: Substring
    ) throws(CronParseError) -> Int {
        guard !token.isEmpty else {
            throw .field(kind, text, "missing step after \"/\"")
        }
        guard isNumber(token) else {
            throw .field(kind, text, "invalid step \"\(token)\" (expected a whole number)")
        }
        let maximum = kind.bounds.upperBound
        guard let step = Int(token), step <= maximum else {
            throw .field(kind, text, "step \(token) out of range 1-\(maximum)")
        }
        guard step >= 1 else {
            throw .field(kind, text, "step must be at least 1, got \(token)")
        }
        return step
    }

    private static func parseValue(
        _ token: Substring, _ kind: CronFieldKind, _ text: Substring
    ) throws(CronParseError) -> Int {
        let bounds = kind.bounds
        if isNumber(token) {
            guard let value = Int(token), bounds.contains(value) else {
                throw .field(kind, text, "value \(token) out of range \(bounds.lowerBound)-\(bounds.upperBound)")
            }
            return value
        }
        if token == "L" || token == "l" {
            if kind == .dayOfMonth {
                throw .field(kind, text, "\"L\" cannot be used in a range or with a step")
            }
            throw .field(kind, text, "\"L\" is only allowed in the day-of-month field")
        }
        let names = kind.names
        if let value = names[token.uppercased()] {
            return value
        }
        if names.isEmpty || !token.contains(where: { $0.isLetter }) {
            throw .field(
                kind, text,
                "invalid value \"\(token)\" (expected a number \(bounds.lowerBound)-\(bounds.upperBound))"
            )
        }
        if kind == .month {
            throw .field(kind, text, "unknown month name \"\(token)\" (expected 1-12 or JAN-DEC)")
        }
        throw .field(kind, text, "unknown day-of-week name \"\(token)\" (expected 0-7 or SUN-SAT)")
    }

    private static func isNumber(_ token: Substring) -> Bool {
        !token.isEmpty && token.utf8.allSatisfy { $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }
    }
}
