/// Reads the durations of definition files: `90s`, `15m`, `1h`, `2d`, `1h30m`.
public enum DefinitionDuration {
    /// A year: longer is surely a typo, and keeps second counts far from overflow.
    static let maximumSeconds = 366 * 86_400

    /// Seconds, or nil when `text` is not a duration. Units are d, h, m and s, each at most once and
    /// in that order; a bare number is seconds.
    public static func seconds(from text: String) -> Int? {
        let units: [(Character, Int)] = [("d", 86_400), ("h", 3_600), ("m", 60), ("s", 1)]
        var remaining = Substring(text)
        if !remaining.isEmpty, remaining.allSatisfy({ $0.isASCII && $0.isNumber }) {
            return Int(remaining).flatMap { $0 <= maximumSeconds ? $0 : nil }
        }
        var total = 0
        var nextUnit = 0
        var sawPart = false
        while !remaining.isEmpty {
            let digits = remaining.prefix { $0.isASCII && $0.isNumber }
            guard !digits.isEmpty, digits.count <= 9, let amount = Int(digits) else { return nil }
            remaining = remaining.dropFirst(digits.count)
            guard let unitCharacter = remaining.first,
                let index = units[nextUnit...].firstIndex(where: { $0.0 == unitCharacter })
            else { return nil }
            remaining = remaining.dropFirst()
            total += amount * units[index].1
            guard total <= maximumSeconds else { return nil }
            nextUnit = index + 1
            sawPart = true
        }
        return sawPart ? total : nil
    }
}
