import Foundation
import Postgres
import TestSupport
import Testing

/// Codes as users meet them: exported with a run's coupons, checked with `codes verify`;
/// forged ones refused; the secret required and never shown.
@Suite struct IssueCodeAndExportTests {
    static let columns = [
        "coupon_id", "code", "member_id", "openid", "template", "version", "arm", "face_value_fen", "valid_from",
        "expires_at", "status", "label",
    ]
    static let alphabet = Array("0123456789ABCDEFGHJKMNPQRSTVWXYZ")
    static let secretEnvironment = ["COUPONBATCH_CODE_SECRET": IssueFixture.secret]

    /// A run of 200 members with a pack of two; members 1…3 have openids that need CSV quoting.
    static func issuedFixture() throws -> (IssueFixture, runID: Int64) {
        let fixture = try IssueFixture(
            templates: """
                templates:
                  - {key: cash, type: cash, off_fen: 1000, validity: {days: 7}}
                  - {key: gift, type: gift, sku: TEA, value_fen: 800, validity: {days: 30}}
                """,
            jobs: [issueJob("export", "coupons:\n  - {template: cash}\n  - {template: gift}")])
        try fixture.addMembers(1...3, openid: "wx,\"quoted\"")
        try fixture.addMembers(4...200, openid: "o-plain")
        let result = try fixture.run("export")
        #expect(result.status == 0, "\(result.stderr)")
        return (fixture, try #require(try fixture.runRecord("export")).id)
    }

    /// Splits one CSV line (RFC 4180 quoting).
    static func csvFields(_ line: Substring) -> [String] {
        var fields: [String] = []
        var field = ""
        var quoted = false
        var characters = line.makeIterator()
        var pending: Character? = nil
        while let c = pending ?? characters.next() {
            pending = nil
            if quoted {
                if c == "\"" {
                    if let next = characters.next() {
                        if next == "\"" { field.append("\"") } else { quoted = false; pending = next }
                    } else {
                        quoted = false
                    }
                } else {
                    field.append(c)
                }
            } else if c == "\"" {
                quoted = true
            } else if c == "," {
                fields.append(field)
                field = ""
            } else {
                field.append(c)
            }
        }
        fields.append(field)
        return fields
    }

    static func export(_ fixture: IssueFixture, run: Int64, format: String) throws -> CommandResult {
        try fixture.command(["coupons", "export", "--run", "\(run)", "--format", format])
    }

    @Test func csvExportHasTheColumnsAndEveryCouponOfTheRunAsStored() throws {
        let (fixture, run) = try Self.issuedFixture()
        let result = try Self.export(fixture, run: run, format: "csv")
        #expect(result.status == 0, "\(result.stderr)")
        let lines = result.stdout.split(separator: "\n", omittingEmptySubsequences: false).dropLast()
        #expect(lines.first.map(String.init) == Self.columns.joined(separator: ","))
        let records = lines.dropFirst().map(Self.csvFields)
        #expect(records.count == 400)
        #expect(records.allSatisfy { $0.count == Self.columns.count })
        let stored = try fixture.rows(
            """
            SELECT c.id::text, c.member_id::text, coalesce(m.openid, '') AS openid, c.template_key, c.template_version::text,
                   coalesce(c.arm, '') AS arm, c.face_value_fen::text,
                   to_char(c.valid_from AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"') AS valid_from,
                   to_char(c.expires_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"') AS expires_at, c.status,
                   coalesce(c.label, '') AS label
            FROM coupons c JOIN members m ON m.id = c.member_id WHERE c.run_id = $1 ORDER BY c.id
            """, [run])
        let expected = stored.map { row in
            [
                row["id"], row["member_id"], row["openid"], row["template_key"], row["template_version"], row["arm"],
                row["face_value_fen"], row["valid_from"], row["expires_at"], row["status"], row["label"],
            ].map { $0 ?? "?" }
        }
        let exported = records.map { fields in fields.enumerated().filter { $0.offset != 1 }.map(\.element) }
        #expect(exported == expected)
        // Member 1's openid needs quoting. (Found by member: coupon ids come from a sequence that
        // caches ids per session, so with parallel chunks member 1's coupons need not come first.)
        #expect(records.first { $0[2] == "1" }?[3] == "wx,\"quoted\"")
        let codes = records.map { $0[1] }
        #expect(Set(codes).count == codes.count)
        #expect(codes.allSatisfy { $0.wholeMatch(of: /[0-9A-HJKMNP-TV-Z]{4}(-[0-9A-HJKMNP-TV-Z]{4}){4}/) != nil })
    }

    @Test func ndjsonLinesParseAsJSONWithTheSameColumnsAsCSV() throws {
        let (fixture, run) = try Self.issuedFixture()
        let csv = try Self.export(fixture, run: run, format: "csv")
        let ndjson = try Self.export(fixture, run: run, format: "ndjson")
        #expect(ndjson.status == 0, "\(ndjson.stderr)")
        let lines = ndjson.stdout.split(separator: "\n")
        #expect(lines.count == 400)
        let csvRecords = csv.stdout.split(separator: "\n").dropFirst().map(Self.csvFields)
        var mismatches: [String] = []
        for (line, csvRecord) in zip(lines, csvRecords) {
            let object = try #require(
                try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any], "not a JSON object: \(line)")
            if Set(object.keys) != Set(Self.columns) { mismatches.append("columns of \(line)") }
            for (index, column) in Self.columns.enumerated() {
                let text: String =
                    switch object[column] {
                    case let number as NSNumber: number.stringValue
                    case let string as String: string
                    default: ""  // null, as an empty CSV field
                    }
                if text != csvRecord[index] { mismatches.append("\(column) in \(line)") }
            }
        }
        #expect(mismatches.isEmpty, "\(mismatches.prefix(5))")
        #expect(lines.first?.contains("\"arm\":null") == true)
    }

    @Test func exportedCodesVerifyToTheirCoupons() throws {
        let (fixture, run) = try Self.issuedFixture()
        let records = try Self.export(fixture, run: run, format: "csv").stdout.split(separator: "\n").dropFirst()
            .map(Self.csvFields)
        var sample = [records.first, records.last, records[records.count / 2]].compactMap { $0 }
        var generator = SystemRandomNumberGenerator()
        sample += (0..<5).compactMap { _ in records.randomElement(using: &generator) }
        for record in sample {
            let (id, code, member) = (record[0], record[1], record[2])
            let result = try fixture.command(["codes", "verify", code])
            #expect(result.status == 0, "\(code): \(result.stderr)")
            #expect(result.stdout.contains("valid: coupon \(id) "), "\(result.stdout)")
            #expect(result.stdout.contains("member \(member),"), "\(result.stdout)")
            // As typed by a person: lower case, no dashes.
            let typed = try fixture.command([
                "codes", "verify", code.lowercased().replacingOccurrences(of: "-", with: ""),
            ])
            #expect(typed.status == 0)
            #expect(typed.stdout.contains("valid: coupon \(id) "))
        }
    }

    @Test func forgedCodesExit65() throws {
        let (fixture, run) = try Self.issuedFixture()
        let records = try Self.export(fixture, run: run, format: "csv").stdout.split(separator: "\n").dropFirst()
            .map(Self.csvFields)
        var generator = SystemRandomNumberGenerator()
        var forged: [String] = []
        // One character changed, at every position of one code and at random positions of others.
        let real = records[7][1]
        let positions = real.indices.filter { real[$0] != "-" }
        for position in positions {
            forged.append(Self.replacing(real, at: position, using: &generator))
        }
        for record in records.shuffled(using: &generator).prefix(5) {
            let code = record[1]
            let position = try #require(code.indices.filter { code[$0] != "-" }.randomElement(using: &generator))
            forged.append(Self.replacing(code, at: position, using: &generator))
        }
        // Made up from scratch.
        for _ in 0..<10 {
            let characters = (0..<20).map { _ in Self.alphabet.randomElement(using: &generator) ?? "0" }
            forged.append(stride(from: 0, to: 20, by: 4).map { String(characters[$0..<$0 + 4]) }.joined(separator: "-"))
        }
        let genuine = Set(records.map { $0[1] })
        for code in forged where !genuine.contains(code) {
            let result = try fixture.command(["codes", "verify", code])
            #expect(result.status == 65, "\(code) was accepted: \(result.stdout)")
            #expect(!result.stdout.contains("valid"))
        }
        for malformed in [
            "", "ABCD", "7K3Q-M9XD-2VHA-PT4E-W8R", "7K3Q-M9XD-2VHA-PT4E-W8RNX", "7K3Q-M9XD-2VHA-PT4E-W8R!",
        ] {
            let result = try fixture.command(["codes", "verify", malformed])
            #expect(result.status == 65, "\(malformed)")
            #expect(result.stderr.contains("not a coupon code"))
            #expect(!result.stderr.contains("not a coupon code: not a coupon code"))
        }
    }

    static func replacing(_ code: String, at position: String.Index, using generator: inout SystemRandomNumberGenerator)
        -> String
    {
        let original = code[position]
        let replacement = alphabet.filter { $0 != original }.randomElement(using: &generator) ?? "0"
        var edited = code
        edited.replaceSubrange(position...position, with: String(replacement))
        return edited
    }

    struct SecretCase: Sendable, CustomTestStringConvertible {
        let name: String
        let environment: [String: String]
        var testDescription: String { name }
    }

    static let secretCases: [SecretCase] = [
        SecretCase(name: "no secret at all", environment: [:]),
        SecretCase(name: "an empty secret", environment: ["COUPONBATCH_CODE_SECRET": ""]),
        SecretCase(name: "a secret too short", environment: ["COUPONBATCH_CODE_SECRET": "canary-SHORT-77"]),
        SecretCase(
            name: "a secret file that does not exist",
            environment: ["COUPONBATCH_CODE_SECRET_FILE": "/nonexistent/couponbatch-secret"]),
        SecretCase(
            name: "only a retired secret", environment: ["COUPONBATCH_CODE_SECRET_V1": IssueFixture.secret]),
        SecretCase(
            name: "a misspelt variable", environment: ["COUPONBATCH_CODE_SECRET_X": IssueFixture.secret]),
    ]

    @Test(arguments: secretCases)
    func withoutAUsableSecretCodesAndExportExit78WithoutShowingIt(_ c: SecretCase) throws {
        let (fixture, run) = try Self.issuedFixture()
        let code = try Self.export(fixture, run: run, format: "csv").stdout.split(separator: "\n").dropFirst()
            .map(Self.csvFields)[0][1]
        var environment = ["COUPONBATCH_CODE_SECRET": "", "COUPONBATCH_CODE_SECRET_FILE": ""]
        for (key, value) in c.environment { environment[key] = value }
        for arguments in [["codes", "verify", code], ["coupons", "export", "--run", "\(run)"]] {
            let result = try fixture.command(arguments, environment: environment)
            #expect(result.status == 78, "\(arguments[0]): \(result.stderr)")
            #expect(
                result.stderr.contains("COUPONBATCH_CODE_SECRET"), "the message names the variable: \(result.stderr)")
            #expect(result.stdout.isEmpty)
            for secret in c.environment.values where !secret.isEmpty && !secret.hasPrefix("/") {
                #expect(!result.stderr.contains(secret))
                #expect(!result.stderr.contains(secret.prefix(12)))
            }
        }
    }

    @Test func theSecretNeverAppearsInOutputLogsOrTheDatabase() throws {
        let (fixture, run) = try Self.issuedFixture()
        let environment = Self.secretEnvironment
        var outputs: [CommandResult] = []
        let records = try Self.export(fixture, run: run, format: "csv").stdout.split(separator: "\n").dropFirst()
            .map(Self.csvFields)
        let code = records[0][1]
        let forged = String(code.dropLast()) + (code.hasSuffix("0") ? "1" : "0")
        for arguments in [
            ["run", "export", "--at", "2026-11-30T02:00:00Z", "-v"],
            ["run", "export", "--at", "2026-12-07T02:00:00Z", "--log-format", "json", "-v"],
            ["run", "export", "--at", "2026-12-14T02:00:00Z", "--dry-run"],
            ["runs", "show", "\(run)"],
            ["coupons", "export", "--run", "\(run)", "--format", "ndjson", "-v"],
            ["coupons", "export", "--run", "999999"],
            ["codes", "verify", code, "-v"],
            ["codes", "verify", forged],
            ["codes", "verify", "not-a-code"],
        ] {
            outputs.append(try fixture.command(arguments, environment: environment))
        }
        let unreachable = try Couponbatch.run(
            ["codes", "verify", code, "--database-url", "postgresql://couponbatch@127.0.0.1:1/none"],
            environment: environment)
        outputs.append(unreachable)
        #expect(outputs[0].status == 0, "\(outputs[0].stderr)")
        #expect(outputs[6].status == 0)
        #expect(outputs[7].status == 65)
        for output in outputs {
            for needle in [IssueFixture.secret, String(IssueFixture.secret.prefix(16)), "9f3b7c1e5a2d4680"] {
                #expect(!output.stdout.contains(needle))
                #expect(!output.stderr.contains(needle))
            }
        }
        #expect(
            try fixture.int(
                "SELECT count(*) FROM job_runs WHERE checkpoint::text LIKE '%9f3b7c1e%' OR counts::text LIKE '%9f3b7c1e%' OR error LIKE '%9f3b7c1e%'"
            )
                == 0)
    }
}
