/// How `make bench` turns a row's interleaved turns (each a floor and a product measured side by
/// side) into one ratio: the median of the turns' own ratios.
///
/// Why not the fastest of each side: on the development machine one floor statement came out at
/// 2.8 s in one turn and 3.7–4.0 s in the five around it, with nothing else running. A floor is one
/// statement, so a whole measurement can land in the fast mode; a run is 50 chunk statements and
/// averages over both. The fastest floor beside the fastest run then reads 1.43 where the turns'
/// own ratios were 1.06–1.30 (one 1.71, the lucky floor's turn). Each turn's two figures are taken
/// minutes apart at most, under the same load; the median of their ratios ignores one lucky or
/// unlucky turn on either side, and the median of each side is printed beside it.
public struct BenchEstimate: Equatable, Sendable {
    /// The median floor, seconds.
    public let floorSeconds: Double
    /// The median product figure, seconds.
    public let productSeconds: Double
    /// The median of the turns' product/floor ratios.
    public let ratio: Double

    /// `floors[i]` and `products[i]` were measured in the same turn; both non-empty and of equal length.
    public init(floors: [Double], products: [Double]) {
        precondition(!floors.isEmpty && floors.count == products.count, "one floor per product figure")
        floorSeconds = Self.median(floors)
        productSeconds = Self.median(products)
        ratio = Self.median(zip(floors, products).map { $1 / max($0, 0.001) })
    }

    /// The middle value (the mean of the two middle ones for an even count).
    public static func median(_ values: [Double]) -> Double {
        let sorted = values.sorted()
        let middle = sorted.count / 2
        return sorted.count % 2 == 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2
    }
}
