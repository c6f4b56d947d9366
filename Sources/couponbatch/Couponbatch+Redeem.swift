import ArgumentParser
import CouponKit
import Foundation

extension Couponbatch {
    struct Redeem: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Redeem a coupon at a till (核销), or reverse a redemption (a refund).",
            discussion: """
                The code is checked with the code secret before the database is read: a forged code exits 65 \
                having read nothing. The same --request-id again returns the first result and changes \
                nothing. Refusals (already redeemed, expired, wrong store, below the minimum spend) exit 65.
                """)

        @OptionGroup var global: GlobalOptions

        @Argument(help: "The coupon code, e.g. 2K3Q-M9XD-2VHA-PT4E-8RWD.")
        var code: String?

        @Option(help: "The store redeeming it.")
        var store: String?

        @Option(help: "The order's amount before the discount, in fen.")
        var amountFen: Int64?

        @Option(help: "The till's id for this request; a retry with the same id changes nothing.")
        var requestID: String?

        @Option(help: ArgumentHelp("When the coupon was used (ISO 8601). Default: the database's clock.", valueName: "instant"))
        var at: String?

        @Option(help: ArgumentHelp("Reverse (refund) the redemption of this request id.", valueName: "request-id"))
        var reverse: String?

        @Flag(help: "Print the result as one JSON object.")
        var json = false

        func validate() throws {
            if reverse != nil {
                guard code == nil, store == nil, amountFen == nil, requestID == nil, at == nil else {
                    throw ValidationError("--reverse R takes no code, --store, --amount-fen, --request-id or --at")
                }
                return
            }
            guard code != nil else { throw ValidationError("give a coupon code, or --reverse R") }
            guard let store, !store.isEmpty else { throw ValidationError("--store is required") }
            guard let amountFen, amountFen >= 0 else { throw ValidationError("--amount-fen (0 or more) is required") }
            guard let requestID, !requestID.isEmpty else { throw ValidationError("--request-id is required") }
            try ISOInstant.validate(at, option: "--at")
        }

        func run() throws {
            _ = global.makeLogger()
            if let reverse {
                try runReverse(reverse)
                return
            }
            guard let code, let store, let amountFen, let requestID else { return }
            let codec = CouponCodec(keyring: try CodeSecret.fromEnvironment())
            let couponID: Int64
            switch CouponRedeemer.couponID(of: code, codec) {
            case .success(let id): couponID = id
            case .failure(let refusal): throw refused(refusal)
            }
            let attempt = RedemptionAttempt(
                couponID: couponID, requestID: requestID, store: store, amountFen: amountFen, at: at.flatMap(ISOInstant.parse))
            switch try CouponRedeemer(source: "till").redeem(attempt, try global.connect()) {
            case .redeemed(let redemption, let status, let usesLeft):
                show(redemption, outcome: "redeemed", status: status.rawValue, usesLeft: usesLeft)
            case .replayed(let redemption):
                show(redemption, outcome: "replayed", status: nil, usesLeft: nil)
            case .refused(let refusal):
                throw refused(refusal)
            }
        }

        private func runReverse(_ requestID: String) throws {
            switch try RedemptionReversal.reverse(requestID: requestID, try global.connect()) {
            case .reversed(let redemption, let status, let usesLeft):
                show(redemption, outcome: "reversed", status: status.rawValue, usesLeft: usesLeft)
            case .alreadyReversed(let redemption):
                show(redemption, outcome: "already_reversed", status: nil, usesLeft: nil)
            }
        }

        /// With --json the refusal is also a JSON object on stdout, so a till script reads one shape.
        private func refused(_ refusal: RedemptionRefusal) -> RedemptionRefusal {
            if json { RunOutput.printJSON(RefusalJSON(outcome: "refused", reason: refusal.reason, message: refusal.description)) }
            return refusal
        }

        private func show(_ r: Redemption, outcome: String, status: String?, usesLeft: Int?) {
            if json {
                RunOutput.printJSON(RedemptionJSON(outcome: outcome, redemption: r, couponStatus: status, usesLeft: usesLeft))
                return
            }
            var line: String
            switch outcome {
            case "redeemed": line = "redeemed"
            case "replayed": line = "already recorded (request \(r.requestID) was redeemed before; nothing changed):"
            case "reversed": line = "reversed"
            default: line = "already reversed at \(r.reversedAt.map { global.timeFormat.format($0, jobZone: nil) } ?? "?") (nothing changed):"
            }
            line += " coupon \(r.couponID) (\(r.templateKey)) at \(r.store), order \(Money.yuan(r.amountFen)), "
            line += r.giftSKU.map { "gift \($0) (\(Money.yuan(r.discountFen)))" } ?? "discount \(Money.yuan(r.discountFen))"
            line += ", \(global.timeFormat.format(r.at, jobZone: nil)), request \(r.requestID)"
            if let status { line += "; coupon now \(status)" + (usesLeft.map { ", \($0) uses left" } ?? "") }
            print(line)
        }

        struct RedemptionJSON: Encodable {
            let outcome: String
            let redemption: Redemption
            let couponStatus: String?
            let usesLeft: Int?

            enum CodingKeys: String, CodingKey {
                case outcome, redemption
                case couponStatus = "coupon_status"
                case usesLeft = "uses_left"
            }
        }

        struct RefusalJSON: Encodable {
            let outcome: String
            let reason: String
            let message: String
        }
    }
}

/// Money for people: fen as yuan with two decimals and thousands separators (¥12,345.60).
enum Money {
    static func yuan(_ fen: Int64) -> String {
        let sign = fen < 0 ? "-" : ""
        let magnitude = fen.magnitude
        let cents = magnitude % 100
        var whole = String(magnitude / 100)
        var grouped = ""
        while whole.count > 3 {
            grouped = "," + whole.suffix(3) + grouped
            whole = String(whole.dropLast(3))
        }
        return "\(sign)¥\(whole)\(grouped).\(cents < 10 ? "0" : "")\(cents)"
    }
}
