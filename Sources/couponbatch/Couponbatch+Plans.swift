import ArgumentParser
import CouponKit
import Foundation

extension Couponbatch {
    struct Plans: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Inspect subscription plans (券包) defined in plans.yaml.",
            subcommands: [List.self, Next.self], defaultSubcommand: List.self)

        struct List: ParsableCommand {
            static let configuration = CommandConfiguration(
                abstract: "List plans: price, term, period, delivery day and time, zone, coupons.")

            @OptionGroup var global: GlobalOptions

            @Flag(help: "One JSON object a line.")
            var json = false

            func run() throws {
                let plans = try global.loadDeployment().plans.values.sorted { $0.key < $1.key }
                var table = TextTable(header: ["PLAN", "TITLE", "PRICE", "TERM", "EVERY", "DELIVERY", "ZONE", "COUPONS", "LABEL"])
                for plan in plans {
                    let schedule = plan.schedule
                    let day: String
                    switch schedule.deliveryDay {
                    case .anniversary: day = "anniversary"
                    case .day(let fixed): day = "day \(fixed)"
                    }
                    let at = String(format: "%02d:%02d", schedule.atMinutes / 60, schedule.atMinutes % 60)
                    let coupons = plan.coupons.map { "\($0.templateKey)×\($0.quantity)" }
                        + plan.welcome.map { "\($0.templateKey)×\($0.quantity) (welcome)" }
                    if json {
                        RunOutput.printJSON(
                            PlanJSON(
                                key: plan.key, title: plan.title, price_fen: plan.priceFen, term_months: plan.termMonths,
                                every_months: schedule.everyMonths, delivery: day, at: at,
                                timezone: schedule.timeZone.identifier, coupons: coupons, exclusive_label: plan.exclusiveLabel))
                        continue
                    }
                    table.add([
                        plan.key, plan.title ?? "-", String(format: "%.2f", Double(plan.priceFen) / 100), "\(plan.termMonths) mo",
                        "\(schedule.everyMonths) mo", "\(day) \(at)", schedule.timeZone.identifier, coupons.joined(separator: ", "),
                        plan.exclusiveLabel ?? "-",
                    ])
                }
                if !json { print(plans.isEmpty ? "no plans in \(global.jobsDir)" : table.render()) }
            }

            struct PlanJSON: Encodable {
                let key: String
                let title: String?
                let price_fen: Int64
                let term_months: Int
                let every_months: Int
                let delivery: String
                let at: String
                let timezone: String
                let coupons: [String]
                let exclusive_label: String?
            }
        }

        struct Next: ParsableCommand {
            static let configuration = CommandConfiguration(
                abstract: "Print a plan's delivery instants for a subscription started at a time, one ISO 8601 time a line.")

            @OptionGroup var global: GlobalOptions

            @Argument(help: "The plan's key.")
            var plan: String

            @Option(help: "When the subscription started: an ISO 8601 instant, or a date (midnight in the plan's zone).")
            var started: String

            @Option(help: "How many periods.")
            var count: Int = 12

            func validate() throws {
                guard ISOInstant.parse(started) != nil || CalendarDay(started) != nil else {
                    throw ValidationError("--started must be an ISO 8601 instant like 2026-01-31T10:00:00+08:00 or a date")
                }
                guard (1...1200).contains(count) else { throw ValidationError("--count must be between 1 and 1200") }
            }

            func run() throws {
                let deployment = try global.loadDeployment()
                guard let definition = deployment.plans[plan] else {
                    throw ConfigurationError("no plan named \"\(plan)\" in \(global.jobsDir)/plans.yaml")
                }
                let zone = definition.schedule.timeZone
                let start =
                    ISOInstant.parse(started)
                    ?? CalendarDay(started).map { definition.schedule.midnight(of: $0) } ?? Date()
                for instant in definition.schedule.deliveries(startedAt: start, count: count) {
                    print(LocalTimeFormat.format(instant, in: zone))
                }
            }
        }
    }
}
