@testable import CouponKit
import Testing

/// The bench's estimate of a row: medians of interleaved turns, so one lucky floor (one statement
/// that landed wholly in a fast moment) does not decide the row, as the fastest of each side did.
@Suite struct BenchEstimateTests {
    @Test(arguments: [
        ([3.0], 3.0),
        ([4.0, 2.0], 3.0),
        ([5.0, 1.0, 3.0], 3.0),
        ([1.0, 9.0, 2.0, 3.0], 2.5),
    ])
    func medianIsTheMiddleValue(values: [Double], expected: Double) {
        #expect(BenchEstimate.median(values) == expected)
    }

    /// The turns measured on the development machine at 15:07 (private cluster, unlimited,
    /// `--workers 1`): the fastest of each side gave 1.43; the turns themselves say about 1.14.
    @Test func oneLuckyFloorDoesNotDecideTheRatio() throws {
        let floors = [3.77, 4.04, 3.90, 3.74, 3.76, 2.79]
        let products = [4.25, 4.66, 4.37, 4.85, 3.98, 4.77]
        let estimate = BenchEstimate(floors: floors, products: products)
        let fastestOfEach = try #require(products.min()) / #require(floors.min())
        #expect(fastestOfEach > 1.4)
        #expect(estimate.ratio > 1.13 && estimate.ratio < 1.16)
        #expect(estimate.floorSeconds == (3.76 + 3.77) / 2)
        #expect(estimate.productSeconds == (4.37 + 4.66) / 2)
    }

    /// The ratio pairs each run with its own turn's floor, not with the other side's median.
    @Test func ratioIsTheMedianOfEachTurnsOwnRatio() {
        let estimate = BenchEstimate(floors: [1, 2, 4], products: [2, 2, 4])
        #expect(estimate.ratio == 1)
    }

    @Test func singleWorkerRowsTakeMoreTurns() throws {
        let cases = IssuanceBenchmark.cases(members: 1000)
        let single = try #require(cases.first { $0.label == "unlimited, --workers 1" })
        let parallel = try #require(cases.first { $0.label == "unlimited" })
        let combo = try #require(cases.first { $0.floor == .combo && $0.workers == 1 })
        #expect(IssuanceBenchmark.turns(for: single, repeats: 2, big: false) == 5)
        #expect(IssuanceBenchmark.turns(for: combo, repeats: 2, big: false) == 3)
        #expect(IssuanceBenchmark.turns(for: parallel, repeats: 2, big: false) == 2)
        #expect(IssuanceBenchmark.turns(for: parallel, repeats: 2, big: true) == 3)
        #expect(IssuanceBenchmark.turns(for: parallel, repeats: 7, big: true) == 7)
    }
}
