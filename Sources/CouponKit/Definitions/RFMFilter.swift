/// A condition on the members' RFM scores (recency, frequency, monetary value, each 1 to 5).
///
/// Every form the file allows (`5`, `[4, 5]`, `{min: 3}`) is kept as the sorted set of scores
/// it admits, so `{min: 3}` and `[3, 4, 5]` are the same filter. A nil dimension is not filtered;
/// the loader guarantees at least one is set.
public struct RFMFilter: Sendable, Equatable, Hashable {
    public static let scores: ClosedRange<Int> = 1...5

    public let recency: [Int]?
    public let frequency: [Int]?
    public let monetary: [Int]?

    public init(recency: [Int]? = nil, frequency: [Int]? = nil, monetary: [Int]? = nil) {
        self.recency = recency
        self.frequency = frequency
        self.monetary = monetary
    }
}
