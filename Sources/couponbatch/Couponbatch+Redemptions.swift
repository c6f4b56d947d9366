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

            @Argument(help: "The CSV file.")
            var file: String

            @Flag(help: "Print the outcome as one JSON object.")
            var json = false

            func validate() throws {
                guard FileManager.default.isReadableFile(atPath: file) else {
                    throw ValidationError("cannot read \(file)")
                }
            }

            func run() throws {
                let logger = global.makeLogger()
                let codec = CouponCodec(keyring: try CodeSecret.fromEnvironment())
                let connection = try global.connect()
                let ledger = RunLedger(owner: RunnerIdentity().owner, leaseSeconds: 300)
                var rejects = RejectFile(besides: file, header: RedemptionImport.header)
                let started = Date()
                let outcome = try RedemptionImport(codec: codec, ledger: ledger).run(path: file, connection, logger: logger) {
                    rejection in
                    rejects.add(rejection)
                    printError("\(file):\(rejection.line): " + (rejection.field.map { "\($0): " } ?? "") + rejection.reason)
                }
                try rejects.write()
                if json {
                    RunOutput.printJSON(outcome)
                } else {
                    print(
                        "redemptions import \(file) (run \(outcome.runID)): \(outcome.read) rows, \(outcome.redeemed) redeemed, "
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
