import ArgumentParser
import CouponKit
import Foundation

extension Couponbatch {
    struct Redemptions: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Back-fill redemptions recorded by offline tills.", subcommands: [Import.self])

        struct Import: ParsableCommand {
            static let configuration = CommandConfiguration(
                abstract: "Apply a CSV of offline redemptions as a run in the ledger; safe to run again.",
                discussion: """
                    Header: \(RedemptionImport.header.joined(separator: ",")). Each row is redeemed as `redeem` \
                    would at its redeemed_at. Refused rows (forged code, already redeemed by another request, \
                    expired at that time, wrong store, below the minimum spend) are listed on stderr and written \
                    to FILE.rejects.csv next to the input; the others are applied. Exit 65 when any was refused.
                    """)

            @OptionGroup var global: GlobalOptions

            @OptionGroup var input: ImportOptions

            func run() throws {
                let logger = global.makeLogger()
                let codec = CouponCodec(keyring: try CodeSecret.fromEnvironment())
                let connection = try global.connect()
                let ledger = RunLedger(owner: RunnerIdentity().owner, leaseSeconds: 300)
                var rejects = RejectFile(besides: input.file, header: RedemptionImport.header)
                let started = Date()
                let outcome = try RedemptionImport(codec: codec, ledger: ledger).run(path: input.file, connection, logger: logger) {
                    rejection in
                    rejects.add(rejection)
                    input.report(rejection)
                }
                try rejects.write()
                if input.json {
                    RunOutput.printJSON(outcome)
                } else {
                    print(
                        "redemptions import \(input.file) (run \(outcome.runID)): \(outcome.read) rows, \(outcome.redeemed) redeemed, "
                            + "\(outcome.alreadyRecorded) already recorded, \(outcome.rejected) refused "
                            + "(\(String(format: "%.1f", Date().timeIntervalSince(started))) s)")
                    if rejects.count > 0 { print("refused rows written to \(rejects.path)") }
                }
                if outcome.rejected > 0 {
                    throw InputError("\(outcome.rejected) of \(outcome.read) rows refused (see \(rejects.path)); the others were applied")
                }
            }
        }
    }
}
