import Foundation
import Postgres
import TestSupport
import Testing

/// Remind and expire runs killed with SIGKILL at any moment and resumed (`run JOB --at SAME` once
/// the lease has lapsed): no coupon reminded twice by the job, none missed, none expired twice,
/// and the run's counts equal the rows.
@Suite(.serialized) struct SweepCrashResumeTests {
    static let members = 8_000
    static let arguments = ["--workers", "2", "--lease-seconds", "1"]
    static let killPoints: [KillPoint] = [.afterChunks(2), .afterChunks(7), .afterChunks(12)]

    enum Kind: String, CaseIterable, Sendable { case remind, expire }

    @Test(arguments: Kind.allCases)
    func aSweepKilledAtAnyPointAndResumedCoversEachCouponExactlyOnce(_ kind: Kind) throws {
        let sink = FileManager.default.temporaryDirectory.appendingPathComponent("cbt-\(UUID().uuidString).ndjson").path
        defer { try? FileManager.default.removeItem(atPath: sink) }
        let job =
            kind == .remind
            ? remindJob("sweep", extra: "chunk_size: 500")
            : "name: sweep\nkind: expire\nmanual_only: true\nnotify: true\nsink: out\nchunk_size: 500\n"
        let fixture = try IssueFixture(templates: "templates: []\n", jobs: [job])
        try fixture.writeSinks("sinks:\n  - {name: out, type: file, path: \(sink), batch_size: 200}\n")
        try fixture.addMembers(1...Self.members)
        // Two coupons a member in the window (remind) or lapsed (expire), one outside it.
        let inWindow = kind == .remind ? "2026-11-24T00:00:00Z" : "2026-11-20T00:00:00Z"
        try fixture.addCoupons(1...Self.members, template: "due", expiresAt: inWindow, perMember: 2)
        try fixture.addCoupons(1...Self.members, template: "later", expiresAt: "2026-12-31T00:00:00Z")
        let due = Int64(Self.members * 2)

        func check(_ context: String) throws {
            let counts = try fixture.runRecord("sweep")?.counts ?? [:]
            #expect(
                try fixture.int(
                    "SELECT count(*) FROM (SELECT u FROM notifications, unnest(coupon_ids) u GROUP BY u HAVING count(*) > 1) d")
                    == 0, "a coupon listed twice \(context)")
            #expect(counts["notifications"] ?? 0 == (try fixture.int("SELECT count(*) FROM notifications")), "\(context)")
            if kind == .expire {
                #expect(counts["coupons_expired"] ?? 0 == (try fixture.int("SELECT count(*) FROM coupons WHERE status = 'expired'")), "\(context)")
                // Every expired coupon is in exactly one notification, and only expired ones are.
                #expect(
                    try fixture.int("SELECT count(*) FROM notifications, unnest(coupon_ids) u")
                        == (try fixture.int("SELECT count(*) FROM coupons WHERE status = 'expired'")), "\(context)")
            } else {
                #expect(
                    counts["coupons_reminded"] ?? 0 == (try fixture.int("SELECT count(*) FROM notifications, unnest(coupon_ids) u")),
                    "\(context)")
            }
        }

        let (kills, _) = try fixture.killAndResume(
            at: Self.killPoints,
            start: { try fixture.start("sweep", Self.arguments, environment: IssueFixture.sweepEnvironment) },
            afterKill: check)
        #expect(kills >= 2)
        try check("at the end")
        let run = try #require(try fixture.runRecord("sweep"))
        #expect(run.status == "succeeded")
        #expect(run.counts["notifications"] == Int64(Self.members))
        if kind == .remind {
            #expect(run.counts["coupons_reminded"] == due)
            #expect(try fixture.int("SELECT count(*) FROM notifications n, unnest(n.coupon_ids) u JOIN coupons c ON c.id = u WHERE c.template_key = 'due'") == due)
        } else {
            #expect(run.counts["coupons_expired"] == due)
            #expect(try fixture.int("SELECT count(*) FROM coupons WHERE status = 'expired' AND template_key = 'due'") == due)
            #expect(try fixture.int("SELECT count(*) FROM coupons WHERE status = 'active'") == Int64(Self.members))
        }
        // Really interrupted and resumed: chunks committed by several attempts.
        #expect(try fixture.int("SELECT count(DISTINCT attempt) FROM run_chunks WHERE run_id = $1", [run.id]) >= 2)
        // Delivered at least once each; a kill mid-delivery may repeat a line, never lose one.
        let delivered = try fixture.command(["notifications", "deliver"], environment: IssueFixture.sweepEnvironment)
        #expect(delivered.status == 0, "\(delivered.stderr)")
        let lines = try fixture.fileSinkMessages(sink)
        #expect(Set(lines.map(\.id)).count == Self.members)
        #expect(try fixture.int("SELECT count(*) FROM notifications WHERE status = 'delivered'") == Int64(Self.members))
    }
}
