import CouponKit
import Foundation
import Postgres
import TestSupport
import Testing

/// `couponbatch report` on a small fixture whose every figure is counted by hand below.
@Suite struct ReportCommandTests {
    static let templates = """
        templates:
          - {key: cash, type: cash, off_fen: 1000, validity: {days: 7}}
          - {key: punch, type: punch, uses: 2, value_fen: 3000, validity: {days: 7}}
          - {key: ab-cash, type: cash, off_fen: 500, validity: {days: 7}}
        """

    /// Ten members (1–5 at home store SH-001, 1–3 gold); job `plain` gives each a cash coupon and
    /// a punch card at 2026-11-23 10:00 Shanghai; job `ab` splits them into arm `a` and a holdout
    /// an hour later. Then, at the tills:
    /// - cash m1 at SH-001 +24 h (¥50 order), m2 at SH-002 +48 h (¥8 order, capped discount),
    ///   m3 at SH-002 +72 h (¥35), m6 at SH-002 +96 h then reversed;
    /// - punch m4 at SH-001 +24 h and +30 h (used up);
    /// - the sweep expires cash m5 and m7; m6's refund comes after its window, so it expires too;
    /// - one member of arm `a` redeems, one holdout member orders (last_order_at after the run).
    final class Fixture {
        let issue: IssueFixture
        let codec: CouponCodec
        let armMembers: Int64
        let holdoutMembers: Int64

        init() throws {
            issue = try IssueFixture(
                templates: ReportCommandTests.templates,
                jobs: [
                    issueJob("plain", "coupons:\n  - {template: cash}\n  - {template: punch}"),
                    issueJob(
                        "ab",
                        "variants:\n  - {name: a, weight: 50, coupons: [{template: ab-cash}]}\n  - {name: holdout, weight: 50, holdout: true}"),
                ])
            try issue.addMembers(1...10)
            let connection = try issue.db.connect()
            try connection.execute("UPDATE members SET home_store = 'SH-001' WHERE id <= 5")
            try connection.execute("UPDATE members SET tier = 'gold' WHERE id <= 3")
            guard try issue.run("plain").status == 0, try issue.run("ab", at: "2026-11-23T03:00:00Z").status == 0 else {
                throw TestSetupError("issuing failed")
            }
            codec = CouponCodec(keyring: try CodeKeyring(secret: try CodeSecret(Array(IssueFixture.secret.utf8))))
            armMembers = try issue.int("SELECT count(*) FROM coupons WHERE template_key = 'ab-cash'")
            holdoutMembers = try issue.int("SELECT count(*) FROM issue_holdouts")
            guard armMembers > 0, holdoutMembers > 0 else { throw TestSetupError("the A/B split left an arm empty") }

            try redeem("cash", 1, "SH-001", 5_000, "2026-11-24T02:00:00Z", "c1")
            try redeem("cash", 2, "SH-002", 800, "2026-11-25T02:00:00Z", "c2")
            try redeem("cash", 3, "SH-002", 3_500, "2026-11-26T02:00:00Z", "c3")
            try redeem("cash", 6, "SH-002", 2_000, "2026-11-27T02:00:00Z", "c6")
            try redeem("punch", 4, "SH-001", 0, "2026-11-24T02:00:00Z", "p4a")
            try redeem("punch", 4, "SH-001", 0, "2026-11-24T08:00:00Z", "p4b")
            guard try issue.command(["redeem", "--reverse", "c6"]).status == 0 else { throw TestSetupError("reverse failed") }
            try connection.execute(
                "UPDATE coupons SET status = 'expired' WHERE template_key = 'cash' AND member_id IN (5, 7) AND status = 'active'")
            let armMember = try issue.int("SELECT min(member_id) FROM coupons WHERE template_key = 'ab-cash'")
            try redeem("ab-cash", armMember, "SH-001", 1_000, "2026-11-24T03:00:00Z", "ab1")
            try connection.execute(
                "UPDATE members SET last_order_at = '2026-11-24T05:00:00Z' WHERE id = (SELECT min(member_id) FROM issue_holdouts)")
        }

        func redeem(_ template: String, _ member: Int64, _ store: String, _ amountFen: Int64, _ at: String, _ request: String) throws {
            let id = try issue.int("SELECT id FROM coupons WHERE template_key = $1 AND member_id = $2", [template, member])
            let result = try issue.command([
                "redeem", try codec.code(for: id), "--store", store, "--amount-fen", "\(amountFen)", "--request-id", request, "--at", at,
            ])
            guard result.status == 0 else { throw TestSetupError("redeem \(request) failed: \(result.transcript)") }
        }

        func report(_ extra: [String]) throws -> [String: Any] {
            let result = try issue.command(
                ["report", "--from", "2026-11-20", "--to", "2026-11-30", "--at", "2026-11-25T00:00:00Z", "--format", "json"] + extra)
            guard result.status == 0 else { throw TestSetupError("report failed: \(result.transcript)") }
            return try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any] ?? [:]
        }
    }

    static func row(_ rows: Any?, _ key: String, field: String = "key") -> [String: Any] {
        (rows as? [[String: Any]])?.first { $0[field] as? String == key } ?? [:]
    }

    static func number(_ value: Any?) -> Double { (value as? NSNumber)?.doubleValue ?? .nan }

    @Test func figuresMatchHandCounts() throws {
        let f = try Fixture()
        let report = try f.report(["--by", "template"])
        let a = f.armMembers
        let summary = report["summary"] as? [String: Any] ?? [:]
        #expect(summary["issued"] as? Int64 == 20 + a)
        // cash m1 m2 m3, punch m4, ab-cash one member.
        #expect(summary["redeemed"] as? Int64 == 5)
        #expect(summary["expired"] as? Int64 == 3)
        // Uses: cash 3, punch 2, ab 1 (the reversed one is not counted).
        #expect(summary["redemptions"] as? Int64 == 6)
        #expect(summary["cross_store_redemptions"] as? Int64 == 2)
        // 1000 + 800 + 1000 + 3000 + 3000 + 500 off orders of 5000 + 800 + 3500 + 0 + 0 + 1000.
        #expect(summary["discount_fen"] as? Int64 == 9_300)
        #expect(summary["order_value_fen"] as? Int64 == 10_300)
        // First uses after issue: cash 24, 48, 72 h; punch 24 h; ab 24 h.
        // Sorted 24, 24, 24, 48, 72: median 24, p90 at position 3.6 = 48 + 0.6 × 24 = 62.4.
        #expect(abs(Self.number(summary["median_hours_to_redeem"]) - 24) < 1e-9)
        #expect(abs(Self.number(summary["p90_hours_to_redeem"]) - 62.4) < 1e-9)

        let cash = Self.row(report["rows"], "cash")
        #expect(cash["issued"] as? Int64 == 10)
        #expect(cash["redeemed"] as? Int64 == 3)
        #expect(cash["expired"] as? Int64 == 3)
        #expect(abs(Self.number(cash["redemption_rate"]) - 0.3) < 1e-9)
        #expect(cash["healthy"] as? Bool == true)
        let punch = Self.row(report["rows"], "punch")
        #expect(punch["redeemed"] as? Int64 == 1)
        #expect(punch["redemptions"] as? Int64 == 2)
        #expect(punch["healthy"] as? Bool == false)

        // Liability as of 2026-11-25 00:00Z: cash 4 active (10 − 3 redeemed − 3 expired) at ¥10,
        // punch 9 unused cards at 2 × ¥30, ab-cash all but one at ¥5.
        let liability = report["liability"] as? [String: Any] ?? [:]
        #expect(liability["active_coupons"] as? Int64 == 4 + 9 + (a - 1))
        let outstanding = 4 * 1_000 + 9 * 6_000 + (a - 1) * 500
        #expect(liability["outstanding_face_value_fen"] as? Int64 == outstanding)
        #expect(liability["reserve_fen"] as? Int64 == Int64((Double(outstanding) * 0.2).rounded()))

        // A week later every unused coupon has lapsed, swept or not: cash m4 and m8–m10 join the
        // three marked expired; the punch cards of everyone but m4 lapse too.
        let later = try f.issue.command(
            ["report", "--from", "2026-11-20", "--to", "2026-11-30", "--at", "2026-12-02T00:00:00Z", "--format", "json", "--by", "template"])
        let laterRows = (try JSONSerialization.jsonObject(with: Data(later.stdout.utf8)) as? [String: Any])?["rows"]
        #expect(Self.row(laterRows, "cash")["expired"] as? Int64 == 7)
        #expect(Self.row(laterRows, "punch")["expired"] as? Int64 == 9)
    }

    @Test func dailyFiguresArmsStoresAndSegmentsMatchHandCounts() throws {
        let f = try Fixture()
        let report = try f.report(["--by", "day"])
        let daily = report["daily"] as? [[String: Any]] ?? []
        #expect(daily.first?["day"] as? String == "2026-11-20")
        #expect(daily.count == 11)
        func day(_ d: String) -> [String: Any] { Self.row(daily, d, field: "day") }
        #expect(day("2026-11-23")["issued"] as? Int64 == 20 + f.armMembers)
        // Shanghai days: 11-24 holds m1, both punches and the ab use; 11-25 m2; 11-26 m3.
        #expect(day("2026-11-24")["redeemed"] as? Int64 == 4)
        #expect(day("2026-11-25")["redeemed"] as? Int64 == 1)
        #expect(day("2026-11-26")["redeemed"] as? Int64 == 1)
        #expect(day("2026-11-27")["redeemed"] as? Int64 == 0)
        // The cash window ends 2026-11-30 00:00 Shanghai.
        #expect(day("2026-11-30")["expired"] as? Int64 == 3)
        let change = (day("2026-11-25")["changes"] as? [String: Any])?["redeemed"] as? [String: Any] ?? [:]
        #expect(abs(Self.number(change["day_over_day"]) - (1.0 - 4.0) / 4.0) < 1e-9)
        #expect(change["flagged"] as? Bool == true)
        // The last day, 11-30: 3 expired against none the day before has no ratio; issued fell from
        // 20 + a on 11-23 to none, -100% week over week: the one alert.
        let alerts = report["alerts"] as? [[String: Any]] ?? []
        #expect(alerts.count == 1)
        #expect(alerts.first?["metric"] as? String == "issued")
        #expect(alerts.first?["comparison"] as? String == "week_over_week")
        #expect(Self.number(alerts.first?["change"]) == -1)

        let arms = try f.report(["--by", "arm"])["arms"] as? [[String: Any]] ?? []
        let armA = Self.row(arms, "a", field: "arm")
        let holdout = Self.row(arms, "holdout", field: "arm")
        #expect(armA["members"] as? Int64 == f.armMembers)
        #expect(armA["redeemed_members"] as? Int64 == 1)
        #expect(holdout["members"] as? Int64 == f.holdoutMembers)
        #expect(holdout["responded"] as? Int64 == 1)
        #expect(holdout["holdout"] as? Bool == true)
        let expectedLift = 1.0 / Double(f.armMembers) - 1.0 / Double(f.holdoutMembers)
        #expect(abs(Self.number(armA["lift_vs_holdout"]) - expectedLift) < 1e-9)
        #expect(Self.number(armA["lift_low"]) < expectedLift && expectedLift < Self.number(armA["lift_high"]))

        let storeReport = try f.report(["--by", "store"])
        let stores = storeReport["rows"] as? [[String: Any]] ?? []
        // `--by store` reads the cohort's uses in the same pass as the stores' uses: its summary
        // (hand counts in figuresMatchHandCounts) is that of any other --by.
        let storeSummary = storeReport["summary"] as? [String: Any] ?? [:]
        #expect(storeSummary["redemptions"] as? Int64 == 6)
        #expect(storeSummary["cross_store_redemptions"] as? Int64 == 2)
        #expect(NSDictionary(dictionary: storeSummary) == NSDictionary(dictionary: report["summary"] as? [String: Any] ?? [:]))
        #expect(Self.row(stores, "SH-001")["redemptions"] as? Int64 == 4)
        #expect(Self.row(stores, "SH-002")["redemptions"] as? Int64 == 2)
        #expect(Self.row(stores, "SH-002")["cross_store_redemptions"] as? Int64 == 2)

        let segments = try f.report(["--by", "segment"])["rows"] as? [[String: Any]] ?? []
        #expect(Self.row(segments, "gold")["issued"] as? Int64 == 6 + (try f.issue.int("SELECT count(*) FROM coupons WHERE template_key = 'ab-cash' AND member_id <= 3")))
        #expect(Self.row(segments, "gold")["redeemed"] as? Int64 == 3 + (try f.issue.int("SELECT count(*) FROM coupons WHERE template_key = 'ab-cash' AND member_id <= 3 AND redeemed_at IS NOT NULL")))
    }

    @Test func csvAndHTMLCarryTheSameFigures() throws {
        let f = try Fixture()
        let csv = try f.issue.command(
            ["report", "--from", "2026-11-20", "--to", "2026-11-30", "--at", "2026-11-25T00:00:00Z", "--by", "template", "--format", "csv"])
        #expect(csv.status == 0, "\(csv.transcript)")
        let lines = csv.stdout.split(separator: "\n").map(String.init)
        #expect(lines.first?.hasPrefix("template,issued,redeemed,redemption_rate,expired,expiry_rate") == true)
        #expect(lines.contains { $0.hasPrefix("cash,10,3,0.3000,3,0.3000,") && $0.hasSuffix(",yes") })

        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("cbt-report-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = dir.appendingPathComponent("report.html").path
        let html = try f.issue.command(
            ["report", "--from", "2026-11-20", "--to", "2026-11-30", "--format", "html", "--output", path])
        #expect(html.status == 0, "\(html.transcript)")
        #expect(html.stdout.trimmingCharacters(in: .whitespacesAndNewlines) == path)
        let page = try String(contentsOfFile: path, encoding: .utf8)
        #expect(page.hasPrefix("<!DOCTYPE html>"))
        #expect(page.components(separatedBy: "<svg").count - 1 == 3)
        // Self-contained: no script, nothing fetched from elsewhere.
        #expect(!page.contains("<script"))
        #expect(!page.contains("src="))
        #expect(!page.contains("href="))
        #expect(!page.contains("url("))
        #expect(page.contains("cash: 30.0% of 10"))
    }

    /// An arm whose pack holds two coupons: a member who redeemed only the second one redeemed,
    /// and a member who both redeemed and ordered after the run responded once.
    @Test func armMembersOfAComboCountOnceWhateverTheyDid() throws {
        let issue = try IssueFixture(
            templates: Self.templates,
            jobs: [
                issueJob(
                    "combo-ab",
                    "variants:\n  - {name: a, weight: 50, coupons: [{template: ab-cash}, {template: cash}]}\n  - {name: holdout, weight: 50, holdout: true}")
            ])
        try issue.addMembers(1...30)
        guard try issue.run("combo-ab").status == 0 else { throw TestSetupError("issuing failed") }
        let codec = CouponCodec(keyring: try CodeKeyring(secret: try CodeSecret(Array(IssueFixture.secret.utf8))))
        let members = try issue.db.connect().query(
            "SELECT DISTINCT member_id FROM coupons WHERE arm = 'a' ORDER BY member_id LIMIT 3"
        ).rows.map { try $0.decode(0, as: Int64.self) }
        guard members.count == 3 else { throw TestSetupError("arm a holds fewer than 3 members") }
        func redeem(_ template: String, _ member: Int64, _ request: String) throws {
            let id = try issue.int("SELECT id FROM coupons WHERE template_key = $1 AND member_id = $2", [template, member])
            let result = try issue.command([
                "redeem", try codec.code(for: id), "--store", "SH-001", "--amount-fen", "1000", "--request-id", request,
                "--at", "2026-11-24T03:00:00Z",
            ])
            guard result.status == 0 else { throw TestSetupError("redeem \(request) failed: \(result.transcript)") }
        }
        try redeem("cash", members[0], "second-only")  // the pack's second coupon
        try redeem("ab-cash", members[1], "first")
        try redeem("cash", members[1], "both")
        try issue.db.connect().execute(
            "UPDATE members SET last_order_at = '2026-11-25T00:00:00Z' WHERE id = ANY($1::bigint[])", [[members[1], members[2]]])
        let result = try issue.command(
            ["report", "--by", "arm", "--from", "2026-11-20", "--to", "2026-11-30", "--at", "2026-11-26T00:00:00Z", "--format", "json"])
        #expect(result.status == 0, "\(result.transcript)")
        let report = try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any] ?? [:]
        let armA = Self.row(report["arms"], "a", field: "arm")
        let armMembers = try issue.int("SELECT count(DISTINCT member_id) FROM coupons WHERE arm = 'a'")
        #expect(armA["members"] as? Int64 == armMembers)
        #expect(armA["redeemed_members"] as? Int64 == 2, "\(armA)")
        #expect(armA["responded"] as? Int64 == 3, "\(armA)")
    }

    @Test func badOptionsAreUsageErrors() throws {
        let db = try TestDatabase()
        for arguments in [["--by", "week"], ["--from", "2026-13-01"], ["--timezone", "Mars/Base"]] {
            let result = try Couponbatch.run(["report"] + arguments + ["--database-url", db.url])
            #expect(result.status == 64, "\(arguments): \(result.transcript)")
        }
        let reversed = try Couponbatch.run(["report", "--from", "2026-11-30", "--to", "2026-11-01", "--database-url", db.url])
        #expect(reversed.status == 65)
    }
}
