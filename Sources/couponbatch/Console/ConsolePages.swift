import CouponKit
import FlyingFox
import Foundation
import Postgres

/// The read-only web console: jobs, recent runs (filterable by job and status) and one run's
/// detail, rendered on the server from the same queries the CLI uses. Nothing here writes.
struct ConsolePages: Sendable {
    let connect: @Sendable () throws -> Connection
    let jobsDir: String
    let timeFormat: LocalTimeFormat
    /// Pages other features add (the notifications outbox, the report): listed in the navigation
    /// after Jobs and Runs, each served at its path. See `ConsoleExtension`.
    var extensions: [ConsoleExtension] = ConsoleExtension.registered

    var navigation: [(path: String, title: String)] {
        [("/", "Jobs"), ("/runs", "Runs")] + extensions.map { ($0.path, $0.title) }
    }

    func respond(to request: HTTPRequest) async -> HTTPResponse {
        let path = request.path
        let query = Dictionary(request.query.map { ($0.name, $0.value) }, uniquingKeysWith: { first, _ in first })
        return await Blocking.run { render(path: path, query: query) }
    }

    func render(path: String, query: [String: String]) -> HTTPResponse {
        do {
            if path == "/" { return Self.html(try jobsPage()) }
            if path == "/runs" { return Self.html(try runsPage(query)) }
            if path.hasPrefix("/runs/"), let id = Int64(path.dropFirst("/runs/".count)) {
                return Self.html(try runPage(id))
            }
            if let page = extensions.first(where: { $0.path == path }) {
                let connection = try connect()
                if page.standalone {
                    return Self.html(withNavigation(try page.render(query, connection, display()), current: page.path))
                }
                return Self.html(
                    HTML.page(
                        title: page.title, navigation: navigation, current: page.path,
                        body: try page.render(query, connection, display())))
            }
            return Self.html(notFound("no page at \(path)"), status: .notFound)
        } catch let missing as InputError {
            return Self.html(notFound(missing.description), status: .notFound)
        } catch {
            let body = "<p class=\"error\">\(HTML.escape("\(error)"))</p><p class=\"muted\">Is the database reachable?</p>"
            return Self.html(
                HTML.page(title: "Unavailable", navigation: navigation, current: "", body: body), status: .serviceUnavailable)
        }
    }

    /// A standalone page with the console's links first in its body, styled inline (its own
    /// stylesheet knows nothing of the console's).
    private func withNavigation(_ document: String, current: String) -> String {
        let links = navigation.map { item in
            "<a href=\"\(item.path)\" style=\"margin-right:1em\(item.path == current ? ";font-weight:bold" : "")\">\(HTML.escape(item.title))</a>"
        }.joined()
        let bar = "<nav style=\"padding:.5em 1em;font:14px system-ui,sans-serif\"><strong style=\"margin-right:1em\">couponbatch</strong>\(links)</nav>"
        guard let body = document.range(of: "<body>") else { return bar + document }
        return document.replacingCharacters(in: body, with: "<body>" + bar)
    }

    private func notFound(_ message: String) -> String {
        HTML.page(title: "Not found", navigation: navigation, current: "", body: "<p>\(HTML.escape(message))</p>")
    }

    private func display() -> TimeDisplay {
        TimeDisplay(format: timeFormat, deployment: deployment)
    }

    private var deployment: Deployment? { try? DefinitionLoader.load(directory: jobsDir) }

    // MARK: - Pages

    func jobsPage() throws -> String {
        let connection = try connect()
        let latest = try RunQueries.latestByJob(connection)
        let paused = try RunQueries.pausedJobs(connection)
        let body: String
        if let deployment {
            let times = TimeDisplay(format: timeFormat, deployment: deployment)
            let rows = deployment.jobs.map { job -> [String] in
                let next = job.schedule?.next(after: Date(), in: job.timeZone)
                let last = latest[job.name]
                return [
                    "<a href=\"/runs?job=\(HTML.query(job.name))\">\(HTML.escape(job.name))</a>",
                    HTML.escape(job.kind.rawValue),
                    "<code>\(HTML.escape(job.schedule?.description ?? "manual"))</code>",
                    HTML.escape(job.timeZone.identifier),
                    next.map { HTML.nowrap(times.text($0, job: job.name)) } ?? "-",
                    HTML.badge(paused.contains(job.name) ? "paused" : "active"),
                    last.map { "<a href=\"/runs/\($0.id)\">run \($0.id)</a> \(HTML.badge($0.status))" } ?? "never",
                ]
            }
            body = HTML.table(["Job", "Kind", "Schedule", "Zone", "Next due", "State", "Last run"], rows)
        } else {
            body = "<p class=\"error\">The job files in \(HTML.escape(jobsDir)) do not load; run <code>couponbatch jobs validate</code>.</p>"
        }
        return HTML.page(title: "Jobs", navigation: navigation, current: "/", body: body)
    }

    func runsPage(_ query: [String: String]) throws -> String {
        let job = query["job"].flatMap { $0.isEmpty ? nil : $0 }
        let status = query["status"].flatMap { RunStatus(rawValue: $0) }?.rawValue
        let limit = min(500, max(1, query["limit"].flatMap(Int.init) ?? 50))
        let runs = try RunQueries.list(job: job, status: status, limit: limit, try connect())
        let times = display()
        let jobNames = Set((deployment?.jobs.map(\.name) ?? []) + [job].compactMap { $0 }).sorted()
        let jobOptions = (["<option value=\"\">all jobs</option>"] + jobNames.map {
            "<option\($0 == job ? " selected" : "") value=\"\(HTML.escape($0))\">\(HTML.escape($0))</option>"
        }).joined()
        let statusOptions = (["<option value=\"\">any status</option>"] + RunStatus.allCases.map {
            "<option\($0.rawValue == status ? " selected" : "")>\($0.rawValue)</option>"
        }).joined()
        let form = """
            <form class="filters" method="get" action="/runs">
            <label>Job <select name="job">\(jobOptions)</select></label>
            <label>Status <select name="status">\(statusOptions)</select></label>
            <button type="submit">Filter</button>
            <span class="muted">newest slot first, at most \(limit)</span>
            </form>
            """
        let rows = runs.map { run -> [String] in
            [
                "<a href=\"/runs/\(run.id)\">\(run.id)</a>",
                "<a href=\"/runs?job=\(HTML.query(run.job))\">\(HTML.nowrap(run.job))</a>",
                HTML.nowrap(times.text(run.slot, job: run.job)),
                HTML.escape(run.trigger),
                HTML.badge(run.status),
                "\(run.attempt)",
                HTML.progress(done: run.chunksDone, total: run.chunksTotal),
                run.seconds.map { String(format: "%.2f", $0) } ?? "-",
                run.error.map { "<span class=\"error\">\(HTML.escape($0))</span>" }
                    ?? HTML.escape(RunOutput.countsText(run.counts)),
            ]
        }
        let table =
            runs.isEmpty
            ? "<p class=\"muted\">No runs match.</p>"
            : HTML.table(
                ["Run", "Job", "Slot", "Trigger", "Status", "Attempt", "Chunks", "Seconds", "Counts / error"], rows,
                numeric: [0, 5, 7])
        return HTML.page(title: "Runs", navigation: navigation, current: "/runs", body: form + table)
    }

    func runPage(_ id: Int64) throws -> String {
        let connection = try connect()
        let run = try RunQueries.summary(id: id, connection)
        let chunks = try RunQueries.chunks(runID: id, connection)
        let times = display()
        func time(_ date: Date?) -> String { date.map { HTML.nowrap(times.text($0, job: run.job)) } ?? "-" }
        var fields: [[String]] = [
            ["Job", "<a href=\"/runs?job=\(HTML.query(run.job))\">\(HTML.escape(run.job))</a>"],
            ["Status", HTML.badge(run.status)],
            ["Slot", time(run.slot)],
            ["Trigger", HTML.escape(run.trigger)],
            ["Attempt", "\(run.attempt) (failures \(run.failures))"],
            ["Chunks", HTML.progress(done: run.chunksDone, total: run.chunksTotal)],
            ["Owner", run.owner.map(HTML.escape) ?? "-"],
            ["Lease until", time(run.leaseUntil)],
            ["Created", time(run.createdAt)],
            ["Started", time(run.startedAt)],
            ["Finished", time(run.finishedAt)],
            ["Seconds", run.seconds.map { String(format: "%.2f", $0) } ?? "-"],
        ]
        if let note = run.note { fields.append(["Note", HTML.escape(note)]) }
        if let error = run.error { fields.append(["Error", "<span class=\"error\">\(HTML.escape(error))</span>"]) }
        var body = HTML.table(["Field", "Value"], fields)
        body += "<h2>Counts</h2>"
        body +=
            run.counts.isEmpty
            ? "<p class=\"muted\">None yet.</p>"
            : HTML.table(
                ["Count", "Value"], run.counts.keys.sorted().map { [HTML.escape($0), "\(run.counts[$0] ?? 0)"] }, numeric: [1])
        body += "<h2>Committed chunks</h2>"
        body +=
            chunks.isEmpty
            ? "<p class=\"muted\">None committed.</p>"
            : HTML.table(
                ["Chunk", "Attempt", "Committed", "Counts"],
                chunks.map {
                    ["\($0.chunk)", "\($0.attempt)", time($0.committedAt), HTML.escape(RunOutput.countsText($0.counts))]
                }, numeric: [0, 1])
        body += "<p><a href=\"/runs\">All runs</a></p>"
        return HTML.page(title: "Run \(run.id)", navigation: navigation, current: "", body: body)
    }

    static func html(_ page: String, status: HTTPStatusCode = .ok) -> HTTPResponse {
        HTTPResponse(statusCode: status, headers: [.contentType: "text/html; charset=utf-8"], body: Data(page.utf8))
    }
}

/// A console page another feature adds: the outbox once notifications exist, the report once it
/// exists. Add one to `registered`; it gets a navigation link and its path, read-only.
struct ConsoleExtension: Sendable {
    let path: String
    let title: String
    /// The page's body HTML from the request's query, a connection and the time display.
    let render: @Sendable ([String: String], Connection, TimeDisplay) throws -> String
    /// The page is a whole document of its own (the report, with its own styles): served as it is,
    /// with a line of console links put first in its body.
    var standalone = false

    init(
        path: String, title: String, standalone: Bool = false,
        render: @escaping @Sendable ([String: String], Connection, TimeDisplay) throws -> String
    ) {
        self.path = path
        self.title = title
        self.standalone = standalone
        self.render = render
    }
}
