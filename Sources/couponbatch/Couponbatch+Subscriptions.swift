import ArgumentParser
import CouponKit
import Foundation
import Postgres

extension Couponbatch {
    struct Subscriptions: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Import, list and change members' plan subscriptions.",
            subcommands: [Import.self, List.self, Show.self, Pause.self, Resume.self, Cancel.self, Renew.self],
            defaultSubcommand: List.self)

        /// `--now`: the time a change is recorded at, and statuses are read at (tests and operators drive time).
        struct Clock: ParsableArguments {
            @Option(help: "Act as if it were this ISO 8601 instant (default: now).")
            var now: String?

            func validate() throws { try ISOInstant.validate(now, option: "--now") }

            var date: Date { now.flatMap(ISOInstant.parse) ?? Date() }
        }

        struct Import: ParsableCommand {
            static let configuration = CommandConfiguration(
                abstract: "Upsert subscriptions by external id from a CSV (external_id,member_id,plan,started_at,paid_through).",
                discussion: """
                    Bad rows are reported on stderr by line with the reason and left out; good rows are applied. \
                    Exit 65 when any row was refused. Safe to run again with the same file.
                    """)

            @OptionGroup var global: GlobalOptions

            @Argument(help: "The CSV file.")
            var file: String

            @Flag(help: "Print the outcome as one JSON object.")
            var json = false

            func run() throws {
                let logger = global.makeLogger()
                let plans = try global.loadDeployment().plans
                let importer = SubscriptionImport(plans: plans)
                let outcome = try importer.run(path: file, try global.connect(), logger: logger) { rejection in
                    printError("\(file):\(rejection.line): " + (rejection.field.map { "\($0): " } ?? "") + rejection.reason)
                }
                if json {
                    RunOutput.printJSON(outcome)
                } else {
                    print(
                        "read \(outcome.read) rows: \(outcome.inserted) new, \(outcome.updated) updated, "
                            + "\(outcome.unchanged) unchanged, \(outcome.rejected) refused")
                }
                if outcome.rejected > 0 {
                    throw InputError("\(outcome.rejected) rows of \(file) were refused (see above); the others were applied")
                }
            }
        }

        struct List: ParsableCommand {
            static let configuration = CommandConfiguration(abstract: "List subscriptions with their status and next due period.")

            @OptionGroup var global: GlobalOptions
            @OptionGroup var clock: Clock

            @Option(help: "Only subscriptions of this plan.")
            var plan: String?

            @Option(help: "Only subscriptions with this status: active, paused, cancelled, ended.")
            var status: String?

            @Option(help: "At most this many subscriptions.")
            var limit: Int = 100

            @Flag(help: "One JSON object a line.")
            var json = false

            func validate() throws {
                if let status, !SubscriptionStore.statuses.contains(status) {
                    throw ValidationError("unknown status \"\(status)\"; use one of \(SubscriptionStore.statuses.joined(separator: ", "))")
                }
                guard limit >= 1 else { throw ValidationError("--limit must be at least 1") }
            }

            func run() throws {
                _ = global.makeLogger()
                let deployment = try global.loadDeployment()
                let store = SubscriptionStore(plans: deployment.plans)
                let rows = try store.list(plan: plan, status: status, limit: limit, now: clock.date, try global.connect())
                if json {
                    rows.forEach { RunOutput.printJSON($0) }
                    return
                }
                var table = TextTable(header: ["ID", "EXTERNAL ID", "MEMBER", "PLAN", "STATUS", "STARTED", "PAID THROUGH", "PERIODS", "NEXT DUE"])
                for row in rows {
                    let zone = deployment.plans[row.plan]?.schedule.timeZone ?? .gmt
                    table.add([
                        "\(row.id)", row.externalID, "\(row.memberID)", row.plan, row.status,
                        LocalTimeFormat.format(row.startedAt, in: zone), row.paidThrough.description, "\(row.settledPeriod)",
                        row.nextDueAt.map { LocalTimeFormat.format($0, in: zone) } ?? "-",
                    ])
                }
                print(rows.isEmpty ? "no subscriptions" : table.render())
            }
        }

        struct Show: ParsableCommand {
            static let configuration = CommandConfiguration(abstract: "Show one subscription with its changes and deliveries.")

            @OptionGroup var global: GlobalOptions
            @OptionGroup var clock: Clock

            @Argument(help: "The subscription's id.")
            var id: Int64

            @Flag(help: "One JSON object.")
            var json = false

            struct ShowJSON: Encodable {
                let subscription: SubscriptionSummary
                let events: [SubscriptionEvent]
                let deliveries: [BundleDeliveryRecord]
            }

            func run() throws {
                _ = global.makeLogger()
                let deployment = try global.loadDeployment()
                let store = SubscriptionStore(plans: deployment.plans)
                let connection = try global.connect()
                let subscription = try store.find(id, now: clock.date, connection)
                let events = try store.events(id, connection)
                let deliveries = try store.deliveries(id, connection)
                if json {
                    RunOutput.printJSON(ShowJSON(subscription: subscription, events: events, deliveries: deliveries))
                    return
                }
                let zone = deployment.plans[subscription.plan]?.schedule.timeZone ?? .gmt
                func time(_ date: Date?) -> String { date.map { LocalTimeFormat.format($0, in: zone) } ?? "-" }
                print("subscription \(subscription.id) (\(subscription.externalID)): member \(subscription.memberID), plan \(subscription.plan)")
                print("  status        \(subscription.status)")
                print("  started       \(time(subscription.startedAt)) (anniversary day \(subscription.anchorDay))")
                print("  paid through  \(subscription.paidThrough)")
                if subscription.pausedFrom != nil {
                    print("  pause         \(time(subscription.pausedFrom)) until \(time(subscription.pausedUntil))")
                }
                if let cancelled = subscription.cancelledAt {
                    print("  cancelled     \(time(cancelled)); nothing delivered after \(subscription.endsOn?.description ?? "-")")
                }
                print("  next due      \(time(subscription.nextDueAt))")
                print("changes:")
                for event in events { print("  \(time(event.at))  \(event.action)  \(event.detail)") }
                print("deliveries:")
                var table = TextTable(header: ["PERIOD", "DUE", "STATUS", "COUPONS", "RUN", "RECORDED"])
                for delivery in deliveries {
                    table.add([
                        "\(delivery.period)", time(delivery.dueAt), delivery.status, "\(delivery.coupons)", "\(delivery.runID)",
                        time(delivery.recordedAt),
                    ])
                }
                print(deliveries.isEmpty ? "  none yet" : table.render())
            }
        }

        struct Pause: ParsableCommand {
            static let configuration = CommandConfiguration(
                abstract: "Pause a subscription until a date: periods due meanwhile are skipped (and recorded as skipped).")

            @OptionGroup var global: GlobalOptions
            @OptionGroup var clock: Clock
            @Argument(help: "The subscription's id.") var id: Int64

            @Option(help: "The day deliveries resume (YYYY-MM-DD, from its start in the plan's zone).")
            var until: String

            func validate() throws { _ = try Subscriptions.day(until, option: "--until") }

            func run() throws {
                let day = try Subscriptions.day(until, option: "--until")
                try Subscriptions.apply(global) { try $0.pause(id, until: day, now: clock.date, $1) }
            }
        }

        struct Resume: ParsableCommand {
            static let configuration = CommandConfiguration(abstract: "End a subscription's pause now.")

            @OptionGroup var global: GlobalOptions
            @OptionGroup var clock: Clock
            @Argument(help: "The subscription's id.") var id: Int64

            func run() throws { try Subscriptions.apply(global) { try $0.resume(id, now: clock.date, $1) } }
        }

        struct Cancel: ParsableCommand {
            static let configuration = CommandConfiguration(
                abstract: "Cancel a subscription: it stops after the paid period (nothing is delivered after paid_through as it is now).")

            @OptionGroup var global: GlobalOptions
            @OptionGroup var clock: Clock
            @Argument(help: "The subscription's id.") var id: Int64

            func run() throws { try Subscriptions.apply(global) { try $0.cancel(id, now: clock.date, $1) } }
        }

        struct Renew: ParsableCommand {
            static let configuration = CommandConfiguration(abstract: "Extend a subscription's paid term through a date.")

            @OptionGroup var global: GlobalOptions
            @OptionGroup var clock: Clock
            @Argument(help: "The subscription's id.") var id: Int64

            @Option(help: "The new last paid day (YYYY-MM-DD, in the plan's zone).")
            var through: String

            func validate() throws { _ = try Subscriptions.day(through, option: "--through") }

            func run() throws {
                let day = try Subscriptions.day(through, option: "--through")
                try Subscriptions.apply(global) { try $0.renew(id, through: day, now: clock.date, $1) }
            }
        }

        /// A date option (`--until 2026-11-15`); a malformed one is a usage error (exit 64).
        static func day(_ text: String, option: String) throws -> CalendarDay {
            guard let day = CalendarDay(text) else { throw ValidationError("\(option) must be a date YYYY-MM-DD") }
            return day
        }

        /// Runs one change and prints the subscription's new state.
        static func apply(_ global: GlobalOptions, _ body: (SubscriptionStore, Connection) throws -> SubscriptionSummary) throws {
            _ = global.makeLogger()
            let plans = try global.loadDeployment().plans
            let summary = try body(SubscriptionStore(plans: plans), try global.connect())
            let zone = plans[summary.plan]?.schedule.timeZone ?? .gmt
            print(
                "subscription \(summary.id): \(summary.status), paid through \(summary.paidThrough), next due "
                    + (summary.nextDueAt.map { LocalTimeFormat.format($0, in: zone) } ?? "-"))
        }
    }
}
