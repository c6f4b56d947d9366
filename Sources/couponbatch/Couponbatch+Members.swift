import ArgumentParser
import CouponKit
import Foundation

extension Couponbatch {
    struct Members: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Load the merchant's members.", subcommands: [Import.self])

        struct Import: ParsableCommand {
            static let configuration = CommandConfiguration(
                abstract: "Upsert members by id from a CSV file (the CRM's nightly export); safe to run again.",
                discussion: """
                    Header: \(MemberImport.header.joined(separator: ",")). Tags are separated by |; times need a \
                    zone offset (2026-11-23T10:00:00+08:00). Bad rows are reported by line on stderr and left \
                    out; the good rows are applied. Exit 65 when any row was refused.
                    """)

            @OptionGroup var global: GlobalOptions

            @OptionGroup var input: ImportOptions

            func run() throws {
                let logger = global.makeLogger()
                let started = Date()
                let outcome = try MemberImport().run(path: input.file, try global.connect(), logger: logger) { rejection in
                    input.report(rejection)
                }
                if input.json {
                    RunOutput.printJSON(outcome)
                } else {
                    let seconds = Date().timeIntervalSince(started)
                    print(
                        "members import \(input.file): \(outcome.read) rows, \(outcome.inserted) new, \(outcome.updated) updated, "
                            + "\(outcome.unchanged) unchanged, \(outcome.rejected) refused (\(String(format: "%.1f", seconds)) s)")
                }
                if outcome.rejected > 0 {
                    throw InputError("\(outcome.rejected) of \(outcome.read) rows refused (listed above); the others were applied")
                }
            }
        }
    }
}
