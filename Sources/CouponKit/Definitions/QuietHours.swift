import Foundation

/// Local hours in which a job's notifications wait instead of going out (`quiet_hours: "22:00-08:00"`).
///
/// Read in the job's zone. A window whose start is after its end spans midnight. Nothing is
/// dropped: delivery resumes when the window ends (the database computes that instant, see
/// `quiet_hours_end` in sql/0010, so daylight saving follows the zone's rules).
public struct QuietHours: Sendable, Equatable, Hashable {
    /// Minutes after local midnight, 0..<1440.
    public let fromMinute: Int
    public let untilMinute: Int

    public init(fromMinute: Int, untilMinute: Int) {
        self.fromMinute = fromMinute
        self.untilMinute = untilMinute
    }

    /// `"22:00-08:00"`; nil unless both ends are `HH:MM` within a day and differ.
    public init?(text: String) {
        let ends = text.split(separator: "-", omittingEmptySubsequences: false)
        guard ends.count == 2, let from = Self.minute(ends[0]), let until = Self.minute(ends[1]), from != until else {
            return nil
        }
        self.init(fromMinute: from, untilMinute: until)
    }

    /// `HH:MM:00`, as PostgreSQL's `time` reads it.
    public var fromText: String { Self.text(fromMinute) }
    public var untilText: String { Self.text(untilMinute) }

    private static func minute(_ text: Substring) -> Int? {
        let parts = text.trimmingCharacters(in: .whitespaces).split(separator: ":", omittingEmptySubsequences: false)
        guard parts.count == 2, parts[0].count == 2, parts[1].count == 2,
            let hour = Int(parts[0]), let minute = Int(parts[1]), (0..<24).contains(hour), (0..<60).contains(minute)
        else { return nil }
        return hour * 60 + minute
    }

    private static func text(_ minute: Int) -> String {
        let hour = minute / 60
        let rest = minute % 60
        return (hour < 10 ? "0" : "") + "\(hour):" + (rest < 10 ? "0" : "") + "\(rest):00"
    }
}
