import Foundation
import Testing

@testable import CouponKit

/// Which due periods a chunk delivers, skips or leaves waiting for stock, and how their coupons
/// are numbered: decided without a database.
@Suite struct BundleAllocationTests {
    static let slot = BundleScheduleTests.instant("2026-05-15T00:00:00Z")

    static func line(_ key: String, quantity: Int = 1, finite: Bool = false) -> IssuePlan.Line {
        IssuePlan.Line(
            templateKey: key, version: 1, quantity: quantity, faceValueFen: 1000, blindbox: nil, usesLeft: nil,
            validFrom: slot, expiresAt: slot.addingTimeInterval(86_400 * 7), perMemberLimit: nil, reissueAfterDays: nil,
            finiteStock: finite)
    }

    /// Plan "p": two of `a` and one `b` each period, and a `welcome` in the first.
    static let runPlan = BundleRunPlan(
        plans: [
            .init(
                key: "p", everyMonths: 1, deliveryDay: 0, atMinutes: 540, timeZone: "Asia/Shanghai", label: "会员专享",
                coupons: [line("a", quantity: 2, finite: true), line("b")], welcome: [line("welcome")])
        ], issuedAt: slot)

    static func subscription(_ id: Int64, member: Int64, started: String, settled: Int = 0) -> SubscriptionRecord {
        SubscriptionRecord(
            id: id, memberID: member, plan: "p",
            terms: SubscriptionTerms(
                startedAt: BundleScheduleTests.instant(started), paidThrough: BundleScheduleTests.day("2027-01-31")),
            settled: settled)
    }

    @Test func theFirstPeriodCarriesTheWelcomeAndCouponsAreNumberedPerMemberAcrossSubscriptions() throws {
        let planned = try BundleAllocation.decide(
            [
                Self.subscription(1, member: 7, started: "2026-04-20T10:00:00+08:00"),
                Self.subscription(2, member: 7, started: "2026-03-10T10:00:00+08:00", settled: 1),
            ], plan: Self.runPlan, through: Self.slot, available: [:])
        // Member 7: subscription 1 period 1 (4 coupons with the welcome), subscription 2 periods 2 and 3 (3 each).
        #expect(planned.map { "\($0.subscriptionID)/\($0.period)" } == ["1/1", "2/2", "2/3"])
        #expect(planned.map(\.coupons) == [4, 3, 3])
        #expect(planned.map(\.seqBase) == [0, 4, 7])
        #expect(planned.allSatisfy { $0.status == .delivered })
    }

    @Test func stockGoesToTheOldestPeriodsWholeAndLaterPeriodsOfAWaitingSubscriptionWaitToo() throws {
        // `a` has 5 left: two whole periods (2 each) fit, the third does not, and nothing is split.
        let planned = try BundleAllocation.decide(
            [
                Self.subscription(1, member: 1, started: "2026-02-10T10:00:00+08:00", settled: 1),  // due Mar 10, Apr 10, May 10
                Self.subscription(2, member: 2, started: "2026-03-05T10:00:00+08:00", settled: 1),  // due Apr 5, May 5
            ], plan: Self.runPlan, through: Self.slot, available: ["a": 5])
        let byKey = Dictionary(uniqueKeysWithValues: planned.map { ("\($0.subscriptionID)/\($0.period)", $0.status) })
        // Oldest first: 1/2 (Mar 10) and 2/2 (Apr 5) fit; 1/3 (Apr 10) would need 2 of the 1 left.
        #expect(byKey["1/2"] == .delivered)
        #expect(byKey["2/2"] == .delivered)
        #expect(byKey["1/3"] == .waitingStock)
        #expect(byKey["1/4"] == .waitingStock)  // after a waiting period, in order
        #expect(byKey["2/3"] == .waitingStock)
        #expect(planned.filter { $0.status == .waitingStock }.allSatisfy { $0.coupons == 0 })
    }

    @Test func skippedPeriodsUseNoStockAndNoCouponNumbers() throws {
        var paused = Self.subscription(1, member: 1, started: "2026-02-10T10:00:00+08:00", settled: 1)
        paused.terms.pause = DateInterval(
            start: BundleScheduleTests.instant("2026-03-01T00:00:00Z"), end: BundleScheduleTests.instant("2026-04-01T00:00:00Z"))
        let planned = try BundleAllocation.decide([paused], plan: Self.runPlan, through: Self.slot, available: ["a": 4])
        #expect(planned.map(\.status) == [.skipped, .delivered, .delivered])
        #expect(planned.map(\.seqBase) == [0, 0, 3])
    }

    /// A run whose chunks are read ahead starts with two short chunks (nothing reads the first
    /// ahead, and a second worker waits for the second's read); the chunks still cover the range
    /// once, in order, and a run without read ahead (finite stock) or of one chunk keeps plain chunks.
    @Test func chunksReadAheadStartWithShortOnes() {
        let ahead = BundleExecutor.chunks(from: 1, to: 100_001, size: 20_000, readAhead: true)
        #expect(ahead.map(\.lower) == [1, 5_001, 10_001, 30_001, 50_001, 70_001, 90_001])
        #expect(ahead.map(\.upper) == [5_001, 10_001, 30_001, 50_001, 70_001, 90_001, 100_001])
        #expect(BundleExecutor.chunks(from: 1, to: 100_001, size: 20_000, readAhead: false) == RunPlan.ranges(from: 1, to: 100_001, size: 20_000))
        #expect(BundleExecutor.chunks(from: 1, to: 20_001, size: 20_000, readAhead: true) == [RunPlan.Chunk(lower: 1, upper: 20_001)])
        #expect(BundleExecutor.chunks(from: 10, to: 13, size: 2, readAhead: true).map(\.upper) == [11, 12, 13])
        #expect(BundleExecutor.chunks(from: 10, to: 10, size: 2, readAhead: true).isEmpty)
    }
    /// What a chunk reports of its decided periods: members counted once however many
    /// subscriptions and periods they have, skipped and waiting periods apart, and the coupons per
    /// template of the delivered periods only (the welcome with first periods).
    @Test func aChunksCountsAndTallyCountEachMemberOnceAndOnlyDeliveredCoupons() throws {
        var paused = Self.subscription(3, member: 9, started: "2026-02-10T10:00:00+08:00", settled: 1)
        paused.terms.pause = DateInterval(
            start: BundleScheduleTests.instant("2026-03-01T00:00:00Z"), end: BundleScheduleTests.instant("2026-04-01T00:00:00Z"))
        let subscriptions = [
            Self.subscription(1, member: 7, started: "2026-04-20T10:00:00+08:00"),
            Self.subscription(2, member: 7, started: "2026-03-10T10:00:00+08:00", settled: 1),
            paused,
            Self.subscription(4, member: 11, started: "2026-04-02T10:00:00+08:00"),
        ]
        // `a` runs out after member 7's and member 9's periods: member 11's waits.
        let planned = try BundleAllocation.decide(subscriptions, plan: Self.runPlan, through: Self.slot, available: ["a": 10])
        let counts = BundleExecutor.plannedCounts(subscriptions, planned)
        let delivered = planned.filter { $0.status == .delivered }
        #expect(counts["periods_delivered"] == Int64(delivered.count))
        #expect(counts["periods_skipped"] == 1)
        #expect(counts["periods_waiting_stock"] == Int64(planned.filter { $0.status == .waitingStock }.count))
        #expect(counts["periods_waiting_stock"] ?? 0 > 0)
        #expect(counts["members_delivered"] == Int64(Set(delivered.map(\.memberID)).count))
        #expect(counts["subscriptions_scanned"] == 4)
        let tally = BundleExecutor.PackTally(planned, Self.runPlan)
        let firsts = Int64(delivered.filter { $0.period == 1 }.count)
        #expect(tally.issued.map(\.key) == ["a", "b", "welcome"])
        #expect(tally.issued.map(\.count) == [2 * Int64(delivered.count), Int64(delivered.count), firsts])
        #expect(tally.faceValue == 1000 * (3 * Int64(delivered.count) + firsts))
    }
}
