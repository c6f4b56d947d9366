import Foundation
import Logging
import Postgres
import TestSupport
import Testing

@testable import CouponKit

/// A bundle chunk's subscriptions read ahead (`BundlePrefetch`, outside the chunk's transaction)
/// can be stale when the chunk writes: another run delivered some or all of its periods
/// meanwhile. The write must collide on the periods' key, redo the chunk with a fresh read in
/// its transaction, and deliver each period once.
@Suite struct BundlePrefetchTests {
    static let slot = "2026-02-01T00:00:00Z"

    @Test(arguments: [10, 50])
    func aChunkWhoseReadAheadIsStaleDeliversEachPeriodOnce(settledMeanwhile: Int) throws {
        // No finite stock (the welcome gift's is dropped): only such runs read ahead.
        let fixture = try IssueFixture.bundles(
            templates: IssueFixture.bundleTemplates.replacingOccurrences(of: ", stock: 1000000", with: ""),
            jobs: [
            IssueFixture.bundleJob(plans: "monthly"), IssueFixture.bundleJob("other", plans: "monthly"),
        ])
        try fixture.addMembers(1...50)
        try fixture.addSubscriptions(1...50, started: "2026-01-31T10:00:00+08:00", paidThrough: "2027-01-30")

        let deployment = try DefinitionLoader.load(directory: fixture.jobsDir)
        let job = try #require(deployment.jobs.first { $0.name == "bundles" })
        guard case .bundle(let action) = job.action else { throw ConfigurationError("not a bundle job") }
        let url = fixture.db.url
        let connection = try Connection.connect(url: url)
        let slot = try #require(ISO8601DateFormatter().date(from: Self.slot))
        let context = RunContext(
            run: ClaimedRun(id: 777, job: "bundles", slot: slot, trigger: .manual, attempt: 1), job: job,
            deployment: deployment, logger: Logger(label: "test"), connect: { try Connection.connect(url: url) })
        let executor = BundleExecutor(action: action)
        let plan = try executor.plan(context, connection)
        #expect(plan.chunks.count == 1)
        let runPlan = try BundleExecutor.runPlan(plan)

        // Chunk 0 is read ahead (all 50 first periods due and unsettled)…
        let prefetch = try #require(BundlePrefetch.of(context))
        prefetch.start(0) { try BundleExecutor.readAhead(chunk: plan.chunks[0], runPlan, runID: 777, outbox: nil, $0) }
        prefetch.waitForRead(0)
        // …then another run delivers some or all of them before the chunk writes.
        if settledMeanwhile == 50 {
            #expect(try fixture.run("other", at: Self.slot).status == 0)
        } else {
            _ = try fixture.int(
                """
                WITH d AS (
                    INSERT INTO bundle_deliveries (subscription_id, period, member_id, plan, due_at, status, run_id, coupons)
                    SELECT id, 1, member_id, plan, '2026-01-31T02:00:00Z', 'delivered', 999, 0 FROM subscriptions
                    WHERE member_id <= \(settledMeanwhile)
                    RETURNING 1)
                SELECT count(*) FROM d
                """)
        }
        let counts = try connection.transaction { tx in try executor.execute(chunk: 0, of: plan, context, in: tx) }

        // The chunk wrote what was read ahead (it took it)…
        #expect(prefetch.take(0) == nil)
        // …the stale read collided and the chunk was redone with every subscription probed.
        #expect(counts["subscriptions_probed"] == 50, "\(counts)")
        #expect(counts["periods_delivered", default: 0] == Int64(50 - settledMeanwhile), "\(counts)")
        #expect(try fixture.int("SELECT count(*) FROM bundle_deliveries") == 50)
        #expect(try fixture.int("SELECT count(*) FROM bundle_deliveries WHERE run_id = 777") == Int64(50 - settledMeanwhile))
        #expect(
            try fixture.int("SELECT count(*) FROM coupons WHERE run_id = 777 AND member_id <= \(settledMeanwhile)") == 0)
        #expect(
            try fixture.int("SELECT count(DISTINCT member_id) FROM coupons WHERE run_id = 777") == Int64(50 - settledMeanwhile))
    }
}
