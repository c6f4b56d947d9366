import ArgumentParser
import CouponKit
import Foundation

extension Couponbatch {
    struct Events: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Record member events (payments, level changes, points exchanges) and see what trigger jobs did.",
            subcommands: [Add.self, Import.self, List.self])

        struct Add: ParsableCommand {
            static let configuration = CommandConfiguration(
                abstract: "Record one member event; the same external id twice is one event.")

            @OptionGroup var global: GlobalOptions

            @Option(help: "The event type, e.g. payment, level_change, points_exchange.")
            var type: String

            @Option(help: "The member's id.")
            var member: Int64

            @Option(help: "The amount in fen (e.g. a payment's), if any.")
            var amountFen: Int64?

            @Option(help: "The sender's id for the event (default: a new random one).")
            var externalID: String?

            @Option(help: "When it happened, ISO 8601 (default: now, by the database's clock).")
            var occurredAt: String?

            func validate() throws {
                guard MemberEventType.isValid(type) else {
                    throw ValidationError("--type must be lowercase letters, digits, - or _ (e.g. payment)")
                }
                if let amountFen, amountFen < 0 { throw ValidationError("--amount-fen must not be negative") }
                if let externalID, externalID.isEmpty || externalID.count > 200 {
                    throw ValidationError("--external-id must be 1 to 200 characters")
                }
                try ISOInstant.validate(occurredAt, option: "--occurred-at")
            }

            func run() throws {
                _ = global.makeLogger()
                let event = MemberEventStore.NewEvent(
                    externalID: externalID ?? "cli-\(UUID().uuidString.lowercased())", memberID: member, type: type,
                    amountFen: amountFen, occurredAt: occurredAt.flatMap(ISOInstant.parse))
                if let id = try MemberEventStore.add(event, try global.connect()) {
                    print("recorded event \(id) (external id \(event.externalID))")
                } else {
                    print("already recorded (external id \(event.externalID)); nothing changed")
                }
            }
        }

        struct Import: ParsableCommand {
            static let configuration = CommandConfiguration(
                abstract: "Record the events of a CSV file; safe to run again (idempotent by external id).",
                discussion: """
                    Header: \(MemberEventImport.header.joined(separator: ",")). Times need a zone offset \
                    (2026-11-23T10:00:00+08:00); amount_fen may be empty. Bad rows are reported by line on stderr \
                    and left out; the good rows are recorded. Exit 65 when any row was refused.
                    """)

            @OptionGroup var global: GlobalOptions

            @OptionGroup var input: ImportOptions

            func run() throws {
                let logger = global.makeLogger()
                let outcome = try MemberEventImport().run(path: input.file, try global.connect(), logger: logger) {
                    input.report($0)
                }
                if input.json {
                    RunOutput.printJSON(outcome)
                } else {
                    print(
                        "events import \(input.file): \(outcome.read) rows, \(outcome.inserted) recorded, "
                            + "\(outcome.alreadyRecorded) already recorded, \(outcome.rejected) refused")
                }
                if outcome.rejected > 0 {
                    throw InputError("\(outcome.rejected) of \(outcome.read) rows refused (listed above); the others were recorded")
                }
            }
        }

        struct List: ParsableCommand {
            static let configuration = CommandConfiguration(
                abstract: "List events newest first, with each trigger job's outcome.")

            @OptionGroup var global: GlobalOptions

            @Option(help: "Only events of this type.")
            var type: String?

            @Option(help: "Only this outcome: pending, issued, filtered, not_in_segment, limit_reached, stock_out, too_old.")
            var status: String?

            @Option(help: "At most this many lines.")
            var limit: Int = 20

            @Flag(help: "One JSON object a line (stable field names, for scripts).")
            var json = false

            func validate() throws {
                if let status, status != "pending", !TriggerBatch.outcomeNames.contains(status) {
                    throw ValidationError(
                        "unknown status \"\(status)\"; use pending or one of \(TriggerBatch.outcomeNames.joined(separator: ", "))")
                }
                guard limit >= 1 else { throw ValidationError("--limit must be at least 1") }
            }

            func run() throws {
                _ = global.makeLogger()
                let events = try MemberEventStore.list(type: type, status: status, limit: limit, try global.connect())
                if json {
                    events.forEach { RunOutput.printJSON($0) }
                    return
                }
                // Local time like every command: the job's zone (or --tz); unconsumed events the default zone.
                let times = global.timeDisplay()
                var table = TextTable(header: ["ID", "EXTERNAL ID", "MEMBER", "TYPE", "AMOUNT FEN", "RECEIVED", "JOB", "OUTCOME", "RUN", "COUPONS"])
                for event in events {
                    let received = times.text(event.receivedAt, job: event.job ?? "")
                    table.add([
                        "\(event.id)", event.externalID, "\(event.memberID)", event.type, event.amountFen.map(String.init) ?? "-",
                        received, event.job ?? "-", event.outcome ?? "pending",
                        event.runID.map(String.init) ?? "-", "\(event.coupons)",
                    ])
                }
                print(events.isEmpty ? "no events" : table.render())
            }
        }
    }
}
