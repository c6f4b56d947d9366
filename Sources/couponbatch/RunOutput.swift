import CouponKit
import Foundation

/// How runs are shown: aligned text for people, stable JSON for scripts.
enum RunOutput {
    static func printReports(_ reports: [RunReport], times: TimeDisplay, json: Bool = false) {
        if json {
            for report in reports { printJSON(ReportJSON(report)) }
            return
        }
        if reports.isEmpty {
            print("nothing due")
            return
        }
        for report in reports {
            var line = "run \(report.runID) \(report.job) slot \(times.text(report.slot, job: report.job)) attempt \(report.attempt): \(report.outcome.rawValue)"
            line += " in \(String(format: "%.2f", report.seconds)) s"
            if !report.counts.isEmpty { line += " — " + countsText(report.counts) }
            if let note = report.note { line += " (\(note))" }
            if let error = report.error { line += "; error: \(error)" }
            print(line)
        }
    }

    static func countsText(_ counts: RunCounts) -> String {
        counts.keys.sorted().map { "\($0)=\(counts[$0] ?? 0)" }.joined(separator: " ")
    }

    static func printSummary(_ summary: RunSummary, times: TimeDisplay, json: Bool) {
        if json {
            printJSON(summary)
            return
        }
        var table = TextTable(header: ["field", "value"])
        table.add(["id", "\(summary.id)"])
        table.add(["job", summary.job])
        table.add(["slot", times.text(summary.slot, job: summary.job)])
        table.add(["trigger", summary.trigger])
        table.add(["status", summary.status])
        table.add(["attempt", "\(summary.attempt)"])
        table.add(["failures", "\(summary.failures)"])
        table.add(["chunks", "\(summary.chunksDone)/\(summary.chunksTotal.map(String.init) ?? "?")"])
        if let owner = summary.owner { table.add(["owner", owner]) }
        if let lease = summary.leaseUntil { table.add(["lease until", times.text(lease, job: summary.job)]) }
        if let started = summary.startedAt { table.add(["started", times.text(started, job: summary.job)]) }
        if let finished = summary.finishedAt { table.add(["finished", times.text(finished, job: summary.job)]) }
        if let seconds = summary.seconds { table.add(["seconds", String(format: "%.2f", seconds)]) }
        for key in summary.counts.keys.sorted() { table.add([key, "\(summary.counts[key] ?? 0)"]) }
        if let note = summary.note { table.add(["note", note]) }
        if let error = summary.error { table.add(["error", error]) }
        print(table.render())
    }

    static func printDryRun(_ report: DryRunReport, job: JobDefinition, slot: Date, times: TimeDisplay, json: Bool) {
        if json {
            printJSON(report)
            return
        }
        print("dry run of \(job.name) (\(job.kind.rawValue)) at \(times.text(slot, job: job.name)); nothing written")
        var table = TextTable(header: ["", ""])
        for line in report.lines { table.add([line.label, line.value]) }
        print(table.render().split(separator: "\n").dropFirst().joined(separator: "\n"))
    }

    static func printJSON(_ value: some Encodable) {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        encoder.dateEncodingStrategy = .iso8601
        if let data = try? encoder.encode(value) { print(String(decoding: data, as: UTF8.self)) }
    }

    struct ReportJSON: Encodable {
        let run_id: Int64
        let job: String
        let slot: Date
        let attempt: Int
        let outcome: String
        let counts: RunCounts
        let note: String?
        let error: String?
        let seconds: Double

        init(_ r: RunReport) {
            run_id = r.runID
            job = r.job
            slot = r.slot
            attempt = r.attempt
            outcome = r.outcome.rawValue
            counts = r.counts
            note = r.note
            error = r.error
            seconds = r.seconds
        }
    }
}
