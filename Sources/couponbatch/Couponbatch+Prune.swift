import ArgumentParser
import CouponKit
import Foundation

extension Couponbatch {
    struct Prune: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Remove old finished runs' checkpoints and segment snapshots no run needs, in small batches.",
            discussion: """
                Ledger rows and their counts stay: `runs` still lists every run. Each batch is one \
                transaction, so pruning can run beside the scheduler and be stopped at any point. A \
                `kind: prune` job does the same on a schedule.
                """)

        @OptionGroup var global: GlobalOptions

        @Option(help: ArgumentHelp("Prune what finished longer ago than this (e.g. 90d, 36h).", valueName: "duration"))
        var olderThan: String = "90d"

        @Option(help: "Finished runs per batch (one transaction each).")
        var batchSize: Int = PruneAction.defaultBatchSize

        func validate() throws {
            guard DefinitionDuration.seconds(from: olderThan) != nil else {
                throw ValidationError("--older-than must be a duration like 90d, 36h or 1d12h")
            }
            guard (1...100_000).contains(batchSize) else { throw ValidationError("--batch-size must be between 1 and 100000") }
        }

        func run() throws {
            _ = global.makeLogger()
            let connection = try global.connect()
            let plan = try RetentionPlan.make(
                olderThanSeconds: DefinitionDuration.seconds(from: olderThan) ?? 0, batchSize: batchSize, connection)
            var totals: RunCounts = [:]
            for batch in plan.batches {
                totals.add(try connection.transaction { tx in try plan.execute(batch, in: tx) })
            }
            let cutoff = LocalTimeFormat.format(plan.cutoff, in: global.timeFormat.zone(nil))
            print(
                "pruned what finished before \(cutoff): \(totals["checkpoints_pruned"] ?? 0) run checkpoints, "
                    + "\(totals["chunk_rows_deleted"] ?? 0) chunk rows, \(totals["snapshots_deleted"] ?? 0) segment snapshots "
                    + "(\(totals["snapshot_members_deleted"] ?? 0) member rows); \(totals["snapshots_kept"] ?? 0) snapshots kept, still named by a plan")
        }
    }
}
