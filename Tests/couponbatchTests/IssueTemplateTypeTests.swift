import Foundation
import Postgres
import TestSupport
import Testing

/// Every template type issues coupons with the right value, uses and version.
@Suite struct IssueTemplateTypeTests {
    struct TypeCase: Sendable, CustomTestStringConvertible {
        let type: String
        let fields: String
        /// The face value each coupon must have (nil: blind box, checked separately).
        let faceValueFen: Int64
        let usesLeft: Int64?
        var testDescription: String { type }
    }

    static let cases: [TypeCase] = [
        TypeCase(type: "cash", fields: "off_fen: 1000", faceValueFen: 1000, usesLeft: nil),
        TypeCase(
            type: "threshold",
            fields: "tiers: [{min_spend_fen: 10000, off_fen: 2000}, {min_spend_fen: 20000, off_fen: 5000}]",
            faceValueFen: 5000, usesLeft: nil),
        TypeCase(type: "discount", fields: "percent_off: 15\n    max_off_fen: 3000", faceValueFen: 3000, usesLeft: nil),
        TypeCase(type: "gift", fields: "sku: COFFEE-LATTE-M\n    value_fen: 2800", faceValueFen: 2800, usesLeft: nil),
        TypeCase(type: "punch", fields: "uses: 5\n    value_fen: 3000", faceValueFen: 15000, usesLeft: 5),
    ]

    @Test(arguments: cases)
    func eachTypeIssuesItsValueToEveryMember(_ c: TypeCase) throws {
        let fixture = try IssueFixture(
            templates: """
                templates:
                  - key: t
                    type: \(c.type)
                    \(c.fields)
                    validity: {days: 7}
                """,
            jobs: [issueJob("types", "coupons:\n  - {template: t}")])
        try fixture.addMembers(1...250)
        let result = try fixture.run("types")
        #expect(result.status == 0, "\(result.stderr)")
        let rows = try fixture.rows(
            """
            SELECT count(*) AS n, count(DISTINCT member_id) AS members, min(face_value_fen) AS lo, max(face_value_fen) AS hi,
                   count(*) FILTER (WHERE uses_left IS NULL) AS no_uses, min(uses_left) AS min_uses, max(uses_left) AS max_uses,
                   count(*) FILTER (WHERE status = 'active' AND seq = 1 AND template_version = 1 AND arm IS NULL) AS plain
            FROM coupons WHERE template_key = 't'
            """)[0]
        #expect(rows["n"] == "250")
        #expect(rows["members"] == "250")
        #expect(rows["lo"] == "\(c.faceValueFen)")
        #expect(rows["hi"] == "\(c.faceValueFen)")
        #expect(rows["plain"] == "250")
        if let uses = c.usesLeft {
            #expect(rows["min_uses"] == "\(uses)")
            #expect(rows["max_uses"] == "\(uses)")
        } else {
            #expect(rows["no_uses"] == "250")
        }
        let stored = try fixture.rows(
            "SELECT type, face_value_fen FROM coupon_templates WHERE key = 't' AND version = 1")
        #expect(stored.first?["type"] == c.type)
        #expect(stored.first?["face_value_fen"] == "\(c.faceValueFen)")
        #expect(try fixture.runRecord("types")?.counts["face_value_fen"] == 250 * c.faceValueFen)
    }

    static let blindBoxTemplates = """
        templates:
          - key: box
            type: blindbox
            choices: [{off_fen: 500, weight: 70}, {off_fen: 2000, weight: 25}, {off_fen: 10000, weight: 5}]
            validity: {days: 3}
        """

    @Test func blindBoxValuesAreOnlyTheChoicesInProportionToTheirWeights() throws {
        let fixture = try IssueFixture(
            templates: Self.blindBoxTemplates,
            jobs: [issueJob("boxes", chunkSize: 5000, "coupons:\n  - {template: box}")])
        let members: Int64 = 20_000
        try fixture.addMembers(1...Int(members))
        let result = try fixture.run("boxes")
        #expect(result.status == 0, "\(result.stderr)")
        var drawn: [Int64: Int64] = [:]
        for row in try fixture.rows("SELECT face_value_fen, count(*) AS n FROM coupons GROUP BY 1") {
            drawn[Int64(row["face_value_fen"] ?? "") ?? -1] = Int64(row["n"] ?? "") ?? 0
        }
        #expect(Set(drawn.keys) == [500, 2000, 10000])
        #expect(drawn.values.reduce(0, +) == members)
        // Each share within 5 standard deviations of its expectation (binomial).
        for (value, weight) in [(Int64(500), 0.70), (2000, 0.25), (10000, 0.05)] {
            let expected = Double(members) * weight
            let sigma = (Double(members) * weight * (1 - weight)).squareRoot()
            let got = Double(drawn[value] ?? 0)
            #expect(abs(got - expected) < 5 * sigma, "value \(value): \(got) drawn, \(expected) expected")
        }
        // The run's face value total is the sum of the draws.
        let total = try fixture.int("SELECT sum(face_value_fen)::bigint FROM coupons")
        #expect(try fixture.runRecord("boxes")?.counts["face_value_fen"] == total)
    }

    @Test func blindBoxDrawsAreAFunctionOfRunAndMember() throws {
        // Two databases, each with the same run (id 1) of the same job: the same draws, member
        // by member, which is what makes a resumed run draw what the first attempt would have.
        let first = try IssueFixture(
            templates: Self.blindBoxTemplates, jobs: [issueJob("boxes", "coupons:\n  - {template: box}")])
        let second = try IssueFixture(
            templates: Self.blindBoxTemplates,
            jobs: [issueJob("boxes", chunkSize: 700, "coupons:\n  - {template: box}")])
        for fixture in [first, second] {
            try fixture.addMembers(1...2000)
            let result = try fixture.run("boxes", ["--workers", "3"])
            #expect(result.status == 0, "\(result.stderr)")
        }
        let digest = "SELECT md5(string_agg(member_id || ':' || face_value_fen, ',' ORDER BY member_id)) FROM coupons"
        #expect(try first.text(digest) == second.text(digest))
        #expect(try first.int("SELECT count(DISTINCT face_value_fen) FROM coupons") == 3)
    }

    @Test func aComboPackOfEveryTypeNumbersItsCouponsAndKeepsEachTypesValue() throws {
        let fixture = try IssueFixture(
            templates: """
                templates:
                  - {key: cash, type: cash, off_fen: 1000, validity: {days: 7}}
                  - {key: punch, type: punch, uses: 3, value_fen: 500, validity: {days: 30}}
                  - {key: box, type: blindbox, choices: [{off_fen: 100, weight: 1}, {off_fen: 200, weight: 1}], validity: {days: 3}}
                """,
            jobs: [
                issueJob(
                    "combo",
                    "coupons:\n  - {template: cash, quantity: 2}\n  - {template: punch}\n  - {template: box, quantity: 2}"
                )
            ])
        try fixture.addMembers(1...300)
        let result = try fixture.run("combo")
        #expect(result.status == 0, "\(result.stderr)")
        // seq 1-2 cash, 3 punch, 4-5 box, for every member.
        let shapes = try fixture.rows(
            """
            SELECT string_agg(seq || template_key, ',' ORDER BY seq) AS shape FROM coupons GROUP BY member_id
            """)
        #expect(shapes.allSatisfy { $0["shape"] == "1cash,2cash,3punch,4box,5box" })
        #expect(shapes.count == 300)
        #expect(try fixture.int("SELECT count(*) FROM coupons WHERE template_key = 'punch' AND uses_left = 3") == 300)
        #expect(
            try fixture.int(
                "SELECT count(*) FROM coupons WHERE template_key = 'box' AND face_value_fen NOT IN (100, 200)") == 0)
        #expect(
            try fixture.int("SELECT count(*) FROM coupons WHERE template_key <> 'punch' AND uses_left IS NOT NULL") == 0
        )
        let counts = try #require(try fixture.runRecord("combo")).counts
        #expect(counts["coupons_issued"] == 1500)
        #expect(counts["members_issued"] == 300)
        #expect(counts["template.cash"] == 600)
        #expect(counts["template.box"] == 600)
    }
}
