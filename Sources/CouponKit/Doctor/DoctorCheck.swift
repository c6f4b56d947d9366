import Foundation

/// One line of `couponbatch doctor`: what was checked, how it stands, and what to do about it.
public struct DoctorCheck: Sendable, Equatable {
    public enum Level: String, Sendable, Comparable {
        case ok, warn, fail

        public static func < (a: Level, b: Level) -> Bool {
            let order: [Level] = [.ok, .warn, .fail]
            return order.firstIndex(of: a) ?? 0 < order.firstIndex(of: b) ?? 0
        }
    }

    public let name: String
    public let level: Level
    /// What was found, in a few words; never a secret.
    public let detail: String
    /// What to do, when something is to be done.
    public let action: String?

    public init(_ name: String, _ level: Level, _ detail: String, action: String? = nil) {
        self.name = name
        self.level = level
        self.detail = detail
        self.action = action
    }
}
