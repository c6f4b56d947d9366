import CouponKit
import Foundation
import Postgres

/// The console pages of later features: the notifications outbox and the coupon report.
extension ConsoleExtension {
    static let registered: [ConsoleExtension] = [outbox, report]

    /// The outbox by status (filter by status and job), newest first, with the counts per status.
    static let outbox = ConsoleExtension(path: "/outbox", title: "Outbox") { query, connection, times in
        let status = query["status"].flatMap(NotificationQueries.Status.init(rawValue:))
        let job = query["job"].flatMap { $0.isEmpty ? nil : $0 }
        let rows = try NotificationQueries.list(status: status, job: job, limit: 100, connection)
        let counts = try NotificationQueries.counts(job: job, connection)
        let options = (["<option value=\"\">any status</option>"] + NotificationQueries.Status.allCases.map {
            "<option\($0 == status ? " selected" : "")>\($0.rawValue)</option>"
        }).joined()
        let summary = NotificationQueries.Status.allCases.map {
            "<a href=\"/outbox?status=\($0.rawValue)\(job.map { "&amp;job=" + HTML.query($0) } ?? "")\">\(HTML.badge($0.rawValue))</a> \(counts[$0.rawValue] ?? 0)"
        }.joined(separator: " &nbsp; ")
        let form = """
            <form class="filters" method="get" action="/outbox">
            <label>Job <input name="job" value="\(HTML.escape(job ?? ""))" placeholder="all jobs"></label>
            <label>Status <select name="status">\(options)</select></label>
            <button type="submit">Filter</button><span class="muted">\(summary)</span>
            </form>
            """
        let table = HTML.table(
            ["ID", "Job", "Kind", "Member", "Coupons", "Sink", "Status", "Attempts", "Next try / delivered", "Last error"],
            rows.map { row in
                [
                    "\(row.id)", "<a href=\"/runs?job=\(HTML.query(row.job))\">\(HTML.nowrap(row.job))</a>",
                    HTML.escape(row.kind), "\(row.memberID)", "\(row.coupons)", HTML.escape(row.sink), HTML.badge(row.status),
                    "\(row.attempts)", HTML.nowrap(times.text(row.deliveredAt ?? row.nextTryAt, job: row.job)),
                    row.lastError.map { "<span class=\"error\">\(HTML.escape($0))</span>" } ?? "",
                ]
            }, numeric: [0, 3, 4, 7])
        return form + (rows.isEmpty ? "<p class=\"muted\">No notifications match.</p>" : table)
    }

    /// The coupon report (`couponbatch report --format html`) for the last 30 days, as its own page.
    static let report = ConsoleExtension(path: "/report", title: "Report", standalone: true) { _, connection, _ in
        ReportPage.html(try ReportQueries(options: ReportOptions()).build(connection))
    }
}
