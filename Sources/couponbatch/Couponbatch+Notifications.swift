import ArgumentParser
import CouponKit
import Foundation
import Postgres

extension Couponbatch {
    struct Notifications: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Inspect, re-drive and deliver the notifications outbox.",
            subcommands: [List.self, Retry.self, Deliver.self], defaultSubcommand: List.self)

        struct List: ParsableCommand {
            static let configuration = CommandConfiguration(abstract: "List notifications, newest first.")

            @OptionGroup var global: GlobalOptions

            @Option(help: "Only notifications with this status: pending, delivered, dead.")
            var status: String?

            @Option(help: "Only notifications of this job.")
            var job: String?

            @Option(help: "At most this many notifications.")
            var limit: Int = 20

            @Flag(help: "One JSON object a line (stable field names, for scripts).")
            var json = false

            func validate() throws {
                if let status, NotificationQueries.Status(rawValue: status) == nil {
                    throw ValidationError(
                        "unknown status \"\(status)\"; use one of "
                            + NotificationQueries.Status.allCases.map(\.rawValue).joined(separator: ", "))
                }
                guard limit >= 1 else { throw ValidationError("--limit must be at least 1") }
            }

            func run() throws {
                _ = global.makeLogger()
                let connection = try global.connect()
                let rows = try NotificationQueries.list(
                    status: status.flatMap(NotificationQueries.Status.init(rawValue:)), job: job, limit: limit, connection)
                if json {
                    rows.forEach { RunOutput.printJSON($0) }
                    return
                }
                let times = global.timeDisplay()
                var table = TextTable(header: ["ID", "JOB", "KIND", "MEMBER", "COUPONS", "SINK", "STATUS", "ATT", "NEXT TRY / DELIVERED", "LAST ERROR"])
                for row in rows {
                    table.add([
                        "\(row.id)", row.job, row.kind, "\(row.memberID)", "\(row.coupons)", row.sink, row.status, "\(row.attempts)",
                        times.text(row.deliveredAt ?? row.nextTryAt, job: row.job), row.lastError ?? "",
                    ])
                }
                print(rows.isEmpty ? "no notifications" : table.render())
                let counts = try NotificationQueries.counts(job: job, connection)
                print(
                    NotificationQueries.Status.allCases.map { "\($0.rawValue) \(counts[$0.rawValue] ?? 0)" }.joined(separator: ", "))
            }
        }

        struct Retry: ParsableCommand {
            static let configuration = CommandConfiguration(
                abstract: "Send dead notifications again (attempts start over).",
                discussion: "--dead re-drives every dead notification; --id one notification (dead, or pending: due now).")

            @OptionGroup var global: GlobalOptions

            @Flag(help: "Every dead notification.")
            var dead = false

            @Option(help: "Only this notification.")
            var id: Int64?

            func validate() throws {
                guard dead || id != nil else { throw ValidationError("give --dead, --id ID, or both") }
            }

            func run() throws {
                _ = global.makeLogger()
                let count = try NotificationQueries.retry(deadOnly: dead, id: id, try global.connect())
                print("\(count) notifications pending again")
            }
        }

        struct Deliver: ParsableCommand {
            static let configuration = CommandConfiguration(
                abstract: "Deliver due notifications now, to one sink or all.",
                discussion: """
                    Delivers until nothing is due. With --wait, keeps delivering retries that come due within \
                    that many seconds. Safe beside schedulers and other deliverers: each notification is claimed \
                    by one of them at a time. Exits 75 when notifications that failed are left to retry.
                    """)

            @OptionGroup var global: GlobalOptions

            @Option(help: "Only this sink of sinks.yaml.")
            var sink: String?

            @Option(help: "Keep delivering retries that come due within this many seconds.")
            var wait: Double = 0

            @Option(help: "Deliverers side by side, each on a connection of its own.")
            var workers: Int = 1

            @Option(help: ArgumentHelp("Deliver as if the time were this ISO 8601 instant (testing).", visibility: .hidden))
            var now: String?

            func validate() throws {
                try ISOInstant.validate(now, option: "--now")
                guard wait >= 0 else { throw ValidationError("--wait must not be negative") }
                if now != nil, wait > 0 { throw ValidationError("--now and --wait do not go together") }
                guard (1...64).contains(workers) else { throw ValidationError("--workers must be between 1 and 64") }
            }

            func run() throws {
                let logger = global.makeLogger()
                let deployment = try global.loadDeployment()
                var names = deployment.sinks.keys.sorted()
                if let sink {
                    guard deployment.sinks[sink] != nil else {
                        throw ConfigurationError(
                            "no sink named \"\(sink)\" in sinks.yaml"
                                + (SpellingSuggestion.closest(to: sink, among: names).map { " (did you mean \"\($0)\"?)" } ?? ""))
                    }
                    names = [sink]
                }
                let connection = try global.connect()
                let deliverer = NotificationDeliverer(sinks: deployment.sinks, logger: logger)
                let at = now.flatMap(ISOInstant.parse)
                let deadline = Date().addingTimeInterval(wait)
                var total = NotificationDeliverer.Tally()
                while true {
                    for name in names {
                        total.add(
                            try deliverer.deliver(
                                sink: name, now: at, workers: workers, budgetSeconds: .infinity, connection,
                                connect: { [url = global.resolvedDatabaseURL] in try Connection.connect(url: url) }))
                    }
                    guard wait > 0, let next = try deliverer.nextDue(sinks: names, connection), next < deadline else { break }
                    let pause = next.timeIntervalSinceNow
                    if pause > 0 { Thread.sleep(forTimeInterval: min(pause, deadline.timeIntervalSinceNow) + 0.01) }
                }
                let left = try NotificationQueries.pending(sinks: names, connection)
                print(
                    "delivered \(total.delivered), dead \(total.dead), waiting for quiet hours \(total.deferred); "
                        + "pending: \(left.retrying) to retry, \(left.waiting) not yet due")
                if left.retrying > 0 { throw ExitStatus.temporaryFailure }
            }
        }
    }
}
