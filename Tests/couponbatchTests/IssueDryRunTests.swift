import Foundation
import Postgres
import TestSupport
import Testing

/// `run JOB --dry-run` writes nothing and says what a run would issue: per arm and template,
/// whether stock suffices, and sample members.
@Suite struct IssueDryRunTests {
    static let templates = """
        templates:
          - {key: scarce, type: cash, off_fen: 1000, validity: {days: 7}, stock: 100}
          - {key: plenty, type: cash, off_fen: 500, validity: {days: 7}, stock: 100000}
          - {key: free, type: gift, sku: TEA, value_fen: 800, validity: {days: 7}}
        """
    static let job = issueJob(
        "trial",
        """
        variants:
          - {name: a, weight: 1, coupons: [{template: scarce}]}
          - {name: b, weight: 1, coupons: [{template: plenty, quantity: 2}, {template: free}]}
          - {name: control, weight: 1, holdout: true}
        """)

    /// Row counts of every table a run writes to.
    static func footprint(_ fixture: IssueFixture) throws -> [String: Int64] {
        var counts: [String: Int64] = [:]
        for table in [
            "coupons", "job_runs", "run_chunks", "coupon_templates", "template_stock", "issue_holdouts", "job_state",
        ] {
            counts[table] = try fixture.int("SELECT count(*) FROM \(table)")
        }
        counts["stock_issued"] = try fixture.int("SELECT coalesce(sum(issued), 0)::bigint FROM template_stock")
        return counts
    }

    struct Report: Decodable {
        struct Line: Decodable {
            let label: String
            let value: String
        }
        let lines: [Line]
        func value(_ label: String) -> String? { lines.first { $0.label == label }?.value }
    }

    static func dryRun(_ fixture: IssueFixture, at slot: String = IssueFixture.slot) throws -> Report {
        let result = try fixture.run("trial", at: slot, ["--dry-run", "--json"])
        #expect(result.status == 0, "\(result.stderr)")
        return try JSONDecoder().decode(Report.self, from: Data(result.stdout.utf8))
    }

    /// The leading number of a value such as "312 coupons to 312 members; …".
    static func leadingNumber(_ text: String?) -> Int64? {
        text.flatMap { Int64($0.prefix { $0.isNumber }) }
    }

    @Test func aDryRunWritesNothingAndForecastsWhatTheRunIssues() throws {
        let fixture = try IssueFixture(templates: Self.templates, jobs: [Self.job])
        try fixture.addMembers(1...600)
        let before = try Self.footprint(fixture)
        let report = try Self.dryRun(fixture)
        #expect(try Self.footprint(fixture) == before)

        #expect(report.value("segment members") == "600")
        let scarce = try #require(report.value("arm a: scarce v1"))
        let plenty = try #require(report.value("arm b: plenty v1"))
        let free = try #require(report.value("arm b: free v1"))
        let armA = try #require(Self.leadingNumber(scarce))
        #expect(scarce.contains("\(armA) coupons to \(armA) members"))
        #expect(scarce.contains("stock 100 is SHORT by \(armA - 100)"))
        #expect(plenty.contains("stock 100000 suffices"))
        #expect(free.contains("unlimited stock"))
        #expect(report.value("arm control (holdout)")?.contains("members held out, nothing issued") == true)
        #expect(report.value("arm a sample members")?.split(separator: ",").count == 5)

        // The run then does what the dry run said.
        let result = try fixture.run("trial")
        #expect(result.status == 0, "\(result.stderr)")
        let run = try #require(try fixture.runRecord("trial"))
        #expect(run.counts["arm.a.members"] == 100)
        #expect(run.counts["stock_exhausted"] == armA - 100)
        #expect(Self.leadingNumber(plenty) == run.counts["template.plenty"])
        #expect(Self.leadingNumber(free) == run.counts["template.free"])
        #expect(Self.leadingNumber(report.value("arm control (holdout)")) == run.counts["holdout_members"])
        let sampleA = try #require(report.value("arm a sample members"))
        let lowestA = try fixture.ints("SELECT member_id FROM coupons WHERE arm = 'a' ORDER BY member_id LIMIT 5")
        #expect(sampleA == lowestA.map(String.init).joined(separator: ", "))
    }

    @Test func aDryRunAfterRunsSeesStockLeftAndTheNextVersionWithoutWritingIt() throws {
        let fixture = try IssueFixture(templates: Self.templates, jobs: [Self.job])
        try fixture.addMembers(1...150)
        #expect(try fixture.run("trial", at: "2026-11-01T02:00:00Z").status == 0)
        try fixture.writeTemplates(Self.templates.replacingOccurrences(of: "off_fen: 500", with: "off_fen: 600"))
        let before = try Self.footprint(fixture)
        let report = try Self.dryRun(fixture, at: "2026-11-08T02:00:00Z")
        #expect(try Self.footprint(fixture) == before)
        let left = 100 - (try fixture.int("SELECT issued FROM template_stock WHERE key = 'scarce'"))
        let scarce = try #require(report.value("arm a: scarce v1"))
        #expect(scarce.contains("stock \(left) "))
        #expect(report.value("arm b: plenty v2") != nil)
        #expect(try fixture.int("SELECT max(version) FROM coupon_templates WHERE key = 'plenty'") == 1)
    }

    @Test func aDryRunInTextListsEveryArmAndTemplateAndSaysNothingWasWritten() throws {
        let fixture = try IssueFixture(templates: Self.templates, jobs: [Self.job])
        try fixture.addMembers(1...50)
        let result = try fixture.run("trial", ["--dry-run"])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout.contains("nothing written"))
        for label in [
            "arm a: scarce v1", "arm b: plenty v1", "arm b: free v1", "arm control (holdout)", "sample members",
        ] {
            #expect(result.stdout.contains(label), "\(label) missing from \(result.stdout)")
        }
        #expect(try fixture.int("SELECT count(*) FROM job_runs") == 0)
    }

    @Test func aDryRunAddsUpWhatArmsSharingATemplateNeed() throws {
        let fixture = try IssueFixture(
            templates: "templates:\n  - {key: shared, type: cash, off_fen: 100, validity: {days: 7}, stock: 200}",
            jobs: [
                issueJob(
                    "trial",
                    """
                    variants:
                      - {name: a, weight: 1, coupons: [{template: shared}]}
                      - {name: b, weight: 1, coupons: [{template: shared}]}
                    """)
            ])
        try fixture.addMembers(1...300)
        let report = try Self.dryRun(fixture)
        let a = try #require(Self.leadingNumber(report.value("arm a: shared v1")))
        let b = try #require(Self.leadingNumber(report.value("arm b: shared v1")))
        #expect(a + b == 300)
        #expect(
            report.value("arm a: shared v1")?.contains(a <= 200 ? "stock 200 suffices" : "SHORT by \(a - 200)") == true)
        #expect(report.value("arm b: shared v1")?.contains("stock 200 is SHORT by 100") == true)
    }

    @Test func aDryRunUsesTheEditedStockOfTheDefinition() throws {
        let fixture = try IssueFixture(templates: Self.templates, jobs: [Self.job])
        try fixture.addMembers(1...90)
        #expect(try fixture.run("trial", at: "2026-11-01T02:00:00Z").status == 0)
        let issued = try fixture.int("SELECT issued FROM template_stock WHERE key = 'scarce'")
        try fixture.writeTemplates(Self.templates.replacingOccurrences(of: "stock: 100}", with: "stock: 5000}"))
        let report = try Self.dryRun(fixture, at: "2026-11-08T02:00:00Z")
        // Stock makes no new version.
        #expect(report.value("arm a: scarce v1")?.contains("stock \(5000 - issued) suffices") == true)
        #expect(try fixture.int("SELECT stock FROM template_stock WHERE key = 'scarce'") == 100)
    }
}
