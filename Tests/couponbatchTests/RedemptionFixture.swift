import CouponKit
import Foundation
import Postgres
import TestSupport

/// A deployment with one coupon of every kind per member (job `give`, issued at
/// `IssueFixture.slot`, 2026-11-23 10:00 Shanghai), and the codes to redeem them with.
final class RedemptionFixture {
    static let templates = """
        templates:
          - {key: cash, type: cash, off_fen: 1000, validity: {days: 7}}
          - key: threshold
            type: threshold
            tiers: [{min_spend_fen: 10000, off_fen: 2000}, {min_spend_fen: 20000, off_fen: 5000}]
            validity: {days: 7}
          - {key: discount, type: discount, percent_off: 15, max_off_fen: 3000, min_spend_fen: 5000, validity: {days: 7}}
          - {key: gift, type: gift, sku: COFFEE-LATTE-M, value_fen: 2800, validity: {days: 7}}
          - {key: punch, type: punch, uses: 2, value_fen: 3000, validity: {days: 7}}
          - key: box
            type: blindbox
            choices: [{off_fen: 500, weight: 1}, {off_fen: 700, weight: 1}]
            validity: {days: 7}
          - {key: bound, type: cash, off_fen: 500, validity: {days: 7}, stores: [SH-001, BJ-001]}
          - {key: ny, type: cash, off_fen: 500, validity: {from: 2026-11-20, until: 2026-11-25}, timezone: America/New_York}
        """
    /// Inside every template's window (2026-11-24 10:00 Shanghai).
    static let during = "2026-11-24T02:00:00Z"

    let issue: IssueFixture
    let codec: CouponCodec

    init(members: ClosedRange<Int> = 1...10) throws {
        issue = try IssueFixture(
            templates: Self.templates,
            jobs: [
                issueJob(
                    "give",
                    """
                    coupons:
                      - {template: cash}
                      - {template: threshold}
                      - {template: discount}
                      - {template: gift}
                      - {template: punch}
                      - {template: box}
                      - {template: bound}
                      - {template: ny}
                    """)
            ])
        try issue.addMembers(members)
        let result = try issue.run("give")
        guard result.status == 0 else { throw TestSetupError("issuing failed: \(result.transcript)") }
        codec = CouponCodec(keyring: try CodeKeyring(secret: try CodeSecret(Array(IssueFixture.secret.utf8))))
    }

    func couponID(_ template: String, member: Int64) throws -> Int64 {
        try issue.int("SELECT id FROM coupons WHERE template_key = $1 AND member_id = $2", [template, member])
    }

    func code(_ template: String, member: Int64) throws -> String {
        try codec.code(for: try couponID(template, member: member))
    }

    /// `redeem CODE --store S --amount-fen N --request-id R [--at T] --json`.
    func redeem(
        _ code: String, store: String = "SH-001", amountFen: Int64, requestID: String, at: String? = RedemptionFixture.during
    ) throws -> CommandResult {
        var arguments = ["redeem", code, "--store", store, "--amount-fen", "\(amountFen)", "--request-id", requestID, "--json"]
        if let at { arguments += ["--at", at] }
        return try issue.command(arguments)
    }

    func startRedeem(_ code: String, amountFen: Int64, requestID: String, at: String = RedemptionFixture.during) throws
        -> RunningCommand
    {
        try Couponbatch.start(
            ["redeem", code, "--store", "SH-001", "--amount-fen", "\(amountFen)", "--request-id", requestID, "--at", at, "--json"]
                + issue.baseArguments,
            environment: ["COUPONBATCH_CODE_SECRET": IssueFixture.secret])
    }

    /// The JSON object a command printed.
    static func json(_ result: CommandResult) -> [String: Any] {
        let line = result.stdout.split(separator: "\n").last.map(String.init) ?? ""
        return (try? JSONSerialization.jsonObject(with: Data(line.utf8))) as? [String: Any] ?? [:]
    }

    static func redemption(_ result: CommandResult) -> [String: Any] {
        json(result)["redemption"] as? [String: Any] ?? [:]
    }
}
