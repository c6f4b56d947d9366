import ArgumentParser
import CouponKit
import Foundation

extension Couponbatch {
    struct Runs: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "List runs from the ledger, newest first.",
            subcommands: [List.self, Show.self], defaultSubcommand: List.self)

        struct List: ParsableCommand {
            static let configuration = CommandConfiguration(abstract: "List runs, newest slot first.")

            @OptionGroup var global: GlobalOptions

            @Option(help: "Only runs of this job.")
            var job: String?

            @Option(help: "Only runs with this status: pending, running, succeeded, failed, skipped, cancelled.")
            var status: String?

            @Option(help: "At most this many runs.")
            var limit: Int = 20

            @Flag(help: "One JSON object a line (stable field names, for scripts).")
            var json = false

            func validate() throws {
                if let status, RunStatus(rawValue: status) == nil {
                    throw ValidationError(
                        "unknown status \"\(status)\"; use one of \(RunStatus.allCases.map(\.rawValue).joined(separator: ", "))")
                }
                guard limit >= 1 else { throw ValidationError("--limit must be at least 1") }
            }

            func run() throws {
                _ = global.makeLogger()
                let runs = try RunQueries.list(job: job, status: status, limit: limit, try global.connect())
                if json {
                    runs.forEach { RunOutput.printJSON($0) }
                    return
                }
                let times = global.timeDisplay()
                var table = TextTable(header: ["ID", "JOB", "SLOT", "TRIGGER", "STATUS", "ATT", "CHUNKS", "SECONDS", "COUNTS / ERROR"])
                for run in runs {
                    table.add([
                        "\(run.id)", run.job, times.text(run.slot, job: run.job), run.trigger, run.status, "\(run.attempt)",
                        "\(run.chunksDone)/\(run.chunksTotal.map(String.init) ?? "-")",
                        run.seconds.map { String(format: "%.2f", $0) } ?? "-",
                        run.error ?? RunOutput.countsText(run.counts),
                    ])
                }
                print(runs.isEmpty ? "no runs" : table.render())
            }
        }

        struct Show: ParsableCommand {
            static let configuration = CommandConfiguration(abstract: "Show one run in full.")

            @OptionGroup var global: GlobalOptions

            @Argument(help: "The run's id.")
            var id: Int64

            @Flag(help: "Print JSON.")
            var json = false

            func run() throws {
                _ = global.makeLogger()
                RunOutput.printSummary(
                    try RunQueries.summary(id: id, try global.connect()), times: global.timeDisplay(), json: json)
            }
        }
    }
}
