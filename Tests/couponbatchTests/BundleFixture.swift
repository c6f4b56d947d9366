import Foundation
import Postgres
import TestSupport

/// Subscription plans and subscribers for bundle tests, on top of an `IssueFixture` deployment.
extension IssueFixture {
    /// Templates for bundle plans: two cash coupons, a gift with finite stock, a blind box.
    static let bundleTemplates = """
        templates:
          - {key: m-cash, type: cash, off_fen: 1000, validity: {days: 30}, member_exclusive: true}
          - {key: m-gift, type: gift, sku: MASK-1, value_fen: 3900, validity: {days: 30}}
          - {key: m-welcome, type: gift, sku: LIP-1, value_fen: 5900, validity: {days: 60}, stock: 1000000}
          - {key: m-box, type: blindbox, choices: [{off_fen: 500, weight: 70}, {off_fen: 2000, weight: 30}], validity: {days: 7}}
        """

    /// `monthly`: anniversary at 09:00 Shanghai; cash ×2 + gift each period, a welcome gift first.
    static let bundlePlans = """
        plans:
          - key: monthly
            title: 美妆月卡
            price_fen: 29900
            delivery: anniversary
            at: "09:00"
            timezone: Asia/Shanghai
            welcome: [{template: m-welcome}]
            coupons: [{template: m-cash, quantity: 2}, {template: m-gift}]
            exclusive_label: 会员专享
          - key: quarterly
            price_fen: 9900
            every_months: 3
            delivery: 1
            at: "10:00"
            coupons: [{template: m-box, quantity: 2}]
        """

    static func bundleJob(_ name: String = "bundles", plans: String? = nil, chunkSize: Int = 100, sink: String? = nil)
        -> String
    {
        """
        name: \(name)
        kind: bundle
        manual_only: true
        chunk_size: \(chunkSize)
        \(plans.map { "plans: [\($0)]" } ?? "")
        \(sink.map { "sink: \($0)" } ?? "")
        """
    }

    static func bundles(templates: String = bundleTemplates, plans: String = bundlePlans, jobs: [String] = [bundleJob()])
        throws -> IssueFixture
    {
        let fixture = try IssueFixture(templates: templates, jobs: jobs)
        try fixture.writePlans(plans)
        return fixture
    }

    func writePlans(_ yaml: String) throws {
        try yaml.write(toFile: jobsDir + "/plans.yaml", atomically: true, encoding: .utf8)
    }

    /// Writes `csv` to a file of its own and imports it.
    func importSubscriptions(_ csv: String) throws -> CommandResult {
        let path = jobsDir + "/subs-\(UUID().uuidString).csv"
        try csv.write(toFile: path, atomically: true, encoding: .utf8)
        return try command(["subscriptions", "import", path])
    }

    /// Subscriptions for members `ids` by SQL (fast, for large tests): external id `<prefix><member>`.
    func addSubscriptions(
        _ ids: ClosedRange<Int>, plan: String = "monthly", started: String, paidThrough: String, prefix: String = "E"
    ) throws {
        _ = try int(
            """
            WITH s AS (
                INSERT INTO subscriptions (external_id, member_id, plan, started_at, anchor_day, paid_through)
                SELECT $6 || g, g, $3, $4::timestamptz, extract(day FROM $4::timestamptz AT TIME ZONE 'Asia/Shanghai'), $5::date
                FROM generate_series($1::bigint, $2::bigint) g
                RETURNING 1)
            SELECT count(*) FROM s
            """, [Int64(ids.lowerBound), Int64(ids.upperBound), plan, started, paidThrough, prefix])
    }

    /// `period:status` of a subscription's deliveries, in period order.
    func deliveries(external: String) throws -> [String] {
        try rows(
            """
            SELECT d.period::text || ':' || d.status AS p FROM bundle_deliveries d
            JOIN subscriptions s ON s.id = d.subscription_id WHERE s.external_id = $1 ORDER BY d.period
            """, [external]
        ).map { $0["p"] ?? "?" }
    }

    func subscriptionID(_ external: String) throws -> String {
        String(try int("SELECT id FROM subscriptions WHERE external_id = $1", [external]))
    }
}
