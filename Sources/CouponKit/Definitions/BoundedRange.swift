/// An inclusive range with an optional lower and upper bound; at least one is set and
/// `min <= max` when both are, as the loader guarantees.
public struct BoundedRange: Sendable, Equatable, Hashable {
    public let min: Int64?
    public let max: Int64?

    public init(min: Int64? = nil, max: Int64? = nil) {
        self.min = min
        self.max = max
    }

    public func contains(_ value: Int64) -> Bool {
        if let min, value < min { return false }
        if let max, value > max { return false }
        return true
    }
}
