import Foundation
import Postgres
import TestSupport
import Testing

/// What runs write for validity (checked in the database, in each template's zone) and how an
/// edited template becomes a new version while issued coupons keep theirs.
@Suite struct IssueValidityAndVersionTests {
    @Test func couponsStoreValidityInTheirTemplatesZone() throws {
        let fixture = try IssueFixture(
            templates: """
                templates:
                  - {key: sh30, type: cash, off_fen: 100, validity: {days: 30}}
                  - {key: ny3, type: cash, off_fen: 100, validity: {days: 3}, timezone: America/New_York}
                  - {key: delayed, type: cash, off_fen: 100, validity: {days: 7}, start_delay_days: 2}
                  - {key: window, type: cash, off_fen: 100, validity: {from: 2026-03-20, until: 2026-03-31}}
                """,
            jobs: [
                issueJob(
                    "validity",
                    "coupons:\n  - {template: sh30}\n  - {template: ny3}\n  - {template: delayed}\n  - {template: window}"
                )
            ])
        try fixture.addMembers(1...3)
        // 10:00 on Mar 7 in New York (EST), 23:00 the same day in Shanghai.
        let slot = "2026-03-07T15:00:00Z"
        let result = try fixture.run("validity", at: slot)
        #expect(result.status == 0, "\(result.stderr)")
        let rows = try fixture.rows(
            """
            SELECT template_key,
                   to_char(valid_from AT TIME ZONE z, 'YYYY-MM-DD HH24:MI') AS valid_from,
                   to_char(expires_at AT TIME ZONE z, 'YYYY-MM-DD HH24:MI') AS expires_at,
                   count(*) AS n, count(DISTINCT (valid_from, expires_at)) AS windows,
                   bool_and(issued_at = $1::timestamptz) AS issued_at_slot
            FROM coupons
            CROSS JOIN LATERAL (SELECT CASE template_key WHEN 'ny3' THEN 'America/New_York' ELSE 'Asia/Shanghai' END AS z) zone
            GROUP BY 1, 2, 3 ORDER BY 1
            """, [slot])
        let byKey = Dictionary(uniqueKeysWithValues: rows.map { ($0["template_key"] ?? "", $0) })
        // Shanghai: issued Mar 7 23:00 local; 30 days Mar 7 … Apr 5.
        #expect(byKey["sh30"]?["valid_from"] == "2026-03-07 23:00")
        #expect(byKey["sh30"]?["expires_at"] == "2026-04-06 00:00")
        // New York: issued Mar 7 10:00 EST; 3 days Mar 7, 8 (DST starts), 9; ends at EDT midnight.
        #expect(byKey["ny3"]?["valid_from"] == "2026-03-07 10:00")
        #expect(byKey["ny3"]?["expires_at"] == "2026-03-10 00:00")
        #expect(
            try fixture.text("SELECT min(expires_at)::text FROM coupons WHERE template_key = 'ny3'")
                == "2026-03-10 04:00:00+00")
        // Start delay 2: valid from Mar 9 00:00, 7 days through Mar 15.
        #expect(byKey["delayed"]?["valid_from"] == "2026-03-09 00:00")
        #expect(byKey["delayed"]?["expires_at"] == "2026-03-16 00:00")
        // Fixed window, issued before it opens.
        #expect(byKey["window"]?["valid_from"] == "2026-03-20 00:00")
        #expect(byKey["window"]?["expires_at"] == "2026-04-01 00:00")
        for row in rows {
            #expect(row["n"] == "3")
            #expect(row["windows"] == "1")
            #expect(row["issued_at_slot"] == "t")
        }
    }

    @Test func aFixedWindowThatHasEndedIssuesNothing() throws {
        let fixture = try IssueFixture(
            templates:
                "templates:\n  - {key: past, type: cash, off_fen: 100, validity: {from: 2026-10-01, until: 2026-10-31}}",
            jobs: [issueJob("late", "coupons:\n  - {template: past}")])
        try fixture.addMembers(1...10)
        let result = try fixture.run("late", at: "2026-11-01T00:00:00+08:00")
        #expect(result.status != 0)
        #expect((result.stdout + result.stderr).contains("validity window ended"))
        #expect(try fixture.int("SELECT count(*) FROM coupons") == 0)
    }

    static let original = """
        templates:
          - {key: vip, type: threshold, tiers: [{min_spend_fen: 200000, off_fen: 30000}], validity: {days: 7}, stock: 1000}
        """
    static let edited = """
        templates:
          - {key: vip, type: threshold, tiers: [{min_spend_fen: 200000, off_fen: 40000}], validity: {days: 14}, stock: 1000}
        """

    @Test func anEditedTemplateBecomesANewVersionAndIssuedCouponsKeepTheirs() throws {
        let fixture = try IssueFixture(
            templates: Self.original, jobs: [issueJob("vip", "coupons:\n  - {template: vip}")])
        try fixture.addMembers(1...100)
        #expect(try fixture.run("vip", at: "2026-11-01T01:00:00Z").status == 0)
        // Unchanged: the same version again.
        #expect(try fixture.run("vip", at: "2026-11-08T01:00:00Z").status == 0)
        try fixture.writeTemplates(Self.edited)
        let third = try fixture.run("vip", at: "2026-11-15T01:00:00Z")
        #expect(third.status == 0, "\(third.stderr)")

        let versions = try fixture.rows(
            "SELECT version, face_value_fen, spec->'validity'->>'days' AS days FROM coupon_templates ORDER BY version")
        #expect(
            versions.map { [$0["version"], $0["face_value_fen"], $0["days"]] } == [
                ["1", "30000", "7"], ["2", "40000", "14"],
            ])
        let issued = try fixture.rows(
            """
            SELECT r.slot::date::text AS day, c.template_version AS version, min(c.face_value_fen) AS face,
                   max(c.expires_at - c.issued_at) > interval '7 days' AS long, count(*) AS n
            FROM coupons c JOIN job_runs r ON r.id = c.run_id GROUP BY 1, 2 ORDER BY 1
            """)
        #expect(
            issued.map { [$0["day"], $0["version"], $0["face"], $0["long"], $0["n"]] } == [
                ["2026-11-01", "1", "30000", "f", "100"],
                ["2026-11-08", "1", "30000", "f", "100"],
                ["2026-11-15", "2", "40000", "t", "100"],
            ])
        // Stock is per key, across versions.
        #expect(
            try fixture.rows("SELECT stock, issued FROM template_stock WHERE key = 'vip'").first == [
                "stock": "1000", "issued": "300",
            ])
    }

    /// Versions are for what a coupon is, not for how many are given.
    @Test func changingOnlyStockOrPerMemberMakesNoNewVersion() throws {
        let fixture = try IssueFixture(
            templates: Self.original, jobs: [issueJob("vip", "coupons:\n  - {template: vip}")])
        try fixture.addMembers(1...10)
        #expect(try fixture.run("vip", at: "2026-11-01T01:00:00Z").status == 0)
        try fixture.writeTemplates(Self.original.replacingOccurrences(of: "stock: 1000", with: "stock: 5000, per_member: 3"))
        let second = try fixture.run("vip", at: "2026-11-08T01:00:00Z")
        #expect(second.status == 0, "\(second.stderr)")
        #expect(try fixture.ints("SELECT version FROM coupon_templates") == [1])
        #expect(try fixture.ints("SELECT DISTINCT template_version FROM coupons") == [1])
        // The new limits apply all the same: stock follows the file and the cap counts the first
        // run's coupons, issued while the template had none.
        #expect(try fixture.rows("SELECT stock, issued FROM template_stock").first == ["stock": "5000", "issued": "20"])
        try fixture.writeTemplates(Self.original.replacingOccurrences(of: "stock: 1000", with: "stock: 5000, per_member: 2"))
        #expect(try fixture.run("vip", at: "2026-11-15T01:00:00Z").status == 0)
        #expect(try fixture.int("SELECT count(*) FROM coupons") == 20)
        // What a coupon is did change: a new version.
        try fixture.writeTemplates(Self.edited)
        #expect(try fixture.run("vip", at: "2026-11-22T01:00:00Z").status == 0)
        #expect(try fixture.ints("SELECT version FROM coupon_templates ORDER BY 1") == [1, 2])
        #expect(try fixture.rows("SELECT spec ? 'stock' AS has_stock FROM coupon_templates WHERE version = 2").first == ["has_stock": "f"])
    }

    /// Versions recorded before stock and per_member left the fingerprint are found again.
    @Test func aVersionRecordedWithStockInItsFingerprintIsReused() throws {
        let fixture = try IssueFixture(
            templates: Self.original, jobs: [issueJob("vip", "coupons:\n  - {template: vip}")])
        try fixture.addMembers(1...10)
        #expect(try fixture.run("vip", at: "2026-11-01T01:00:00Z").status == 0)
        // As an older release stored it: the full file form, under another fingerprint.
        #expect(
            try fixture.ints(
                "UPDATE coupon_templates SET fingerprint = 'legacy', spec = spec || '{\"stock\": 1000}'::jsonb RETURNING version")
                == [1])
        #expect(try fixture.run("vip", at: "2026-11-08T01:00:00Z").status == 0)
        #expect(try fixture.ints("SELECT version FROM coupon_templates") == [1])
        #expect(try fixture.int("SELECT count(*) FROM coupons WHERE template_version = 1") == 20)
    }

    @Test func editingBackToAnEarlierDefinitionReusesItsVersion() throws {
        let fixture = try IssueFixture(
            templates: Self.original, jobs: [issueJob("vip", "coupons:\n  - {template: vip}")])
        try fixture.addMembers(1...10)
        #expect(try fixture.run("vip", at: "2026-11-01T01:00:00Z").status == 0)
        try fixture.writeTemplates(Self.edited)
        #expect(try fixture.run("vip", at: "2026-11-08T01:00:00Z").status == 0)
        try fixture.writeTemplates(Self.original)
        #expect(try fixture.run("vip", at: "2026-11-15T01:00:00Z").status == 0)
        #expect(try fixture.int("SELECT count(*) FROM coupon_templates") == 2)
        #expect(
            try fixture.ints(
                "SELECT DISTINCT template_version FROM coupons c JOIN job_runs r ON r.id = c.run_id ORDER BY 1") == [
                    1, 2,
                ])
        #expect(
            try fixture.int(
                "SELECT template_version FROM coupons c JOIN job_runs r ON r.id = c.run_id WHERE r.slot = '2026-11-15T01:00:00Z' LIMIT 1"
            )
                == 1)
    }
}
