import Foundation
#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif
import Postgres
import TestSupport
import Testing

/// `scheduler --http-port` as Prometheus, a load balancer and an operator's browser see it.
@Suite("Operations HTTP server")
struct OperationsServerTests {
    static let jobs = [
        "every-minute.yaml": """
        name: every-minute
        kind: noop
        schedule: "* * * * *"
        chunks: 3
        """
    ]

    @Test func metricsAreValidPrometheusTextWithTheRunsSeriesAndReadyzFailsWhenTheDatabaseGoesAway() throws {
        let fixture = try EngineFixture(jobs: Self.jobs)
        let scheduler = try fixture.start(["scheduler", "--http-port", "0", "--poll-seconds", "0.5"])
        defer {
            scheduler.signal(SIGTERM)
            _ = scheduler.wait(seconds: 10)
        }
        let base = try #require(try HTTPProbe.address(of: scheduler))
        #expect(try HTTPProbe.get(base + "/healthz").status == 200)
        #expect(try HTTPProbe.get(base + "/readyz").status == 200)

        // A job due every minute: the first pass runs the current minute's slot at once.
        var samples: [PrometheusSample] = []
        let ran = try eventually(within: 30) {
            samples = try PrometheusText.parse(try HTTPProbe.get(base + "/metrics").body)
            return samples.contains { $0.name == "couponbatch_runs_succeeded_total" && $0.labels["job"] == "every-minute" }
        }
        #expect(ran, "no succeeded run in /metrics; scheduler said: \(scheduler.stderrSoFar)")
        let succeeded = samples.first { $0.name == "couponbatch_runs_succeeded_total" }?.value ?? 0
        let started = samples.first { $0.name == "couponbatch_runs_started_total" }?.value ?? 0
        #expect(succeeded >= 1 && started >= succeeded)
        // Every run committed 3 chunks; each chunk is one observation of the chunk histogram.
        let chunkCount = samples.first { $0.name == "couponbatch_chunk_duration_seconds_count" }?.value ?? 0
        #expect(chunkCount >= 3 * succeeded)
        let runBuckets = samples.filter { $0.name == "couponbatch_run_duration_seconds_bucket" }
        #expect(runBuckets.contains { $0.labels["le"] == "+Inf" && $0.value >= succeeded })
        #expect(samples.contains { $0.name == "couponbatch_scheduling_lag_seconds_count" })
        let ledger = try fixture.connect().query("SELECT count(*)::int AS n FROM job_runs WHERE status = 'succeeded'")
        #expect(Double(try ledger.row(0).decode("n", as: Int.self)) >= succeeded)

        // The console shows the run it made, read-only.
        let runs = try HTTPProbe.get(base + "/runs?job=every-minute")
        #expect(runs.status == 200)
        #expect(runs.body.contains("every-minute") && runs.body.contains("succeeded"))
        #expect(try HTTPProbe.get(base + "/runs/1").body.contains("Committed chunks"))
        #expect(try HTTPProbe.get(base + "/no-such-page").status == 404)

        // The database goes away (the test's own database is dropped, as when a DBA removes it or
        // the URL points nowhere): the process stays healthy but is no longer ready.
        let admin = try Connection.connect(url: TestDatabase.split(fixture.database.url).base + "/postgres")
        try admin.execute("DROP DATABASE \(fixture.database.name) WITH (FORCE)")
        let unready = try HTTPProbe.get(base + "/readyz")
        #expect(unready.status == 503)
        #expect(unready.body.hasPrefix("not ready: database unreachable"))
        #expect(try HTTPProbe.get(base + "/healthz").status == 200)
        // Metrics still render (from this process's memory) for Prometheus to see the outage's history.
        #expect(try HTTPProbe.get(base + "/metrics").status == 200)
    }

    @Test func tickWritesTheNodeExporterTextfileWithCouponsPerTemplateAndTheStockLeft() throws {
        let fixture = try IssueFixture(
            templates: """
                templates:
                  - {key: gift-50, type: cash, off_fen: 5000, validity: {days: 7}, stock: 100}
                """)
        try fixture.addJob(
            """
            name: hourly-gift
            kind: issue
            schedule: "0 * * * *"
            segment: everyone
            chunk_size: 100
            coupons:
              - {template: gift-50}
            """)
        try fixture.addMembers(1...250)
        let file = fixture.jobsDir + "/couponbatch.prom"
        let tick = try fixture.command(["tick", "--now", "2026-01-05T01:00:30Z", "--metrics-textfile", file])
        #expect(tick.status == 0, "\(tick.transcript)")
        let samples = try PrometheusText.parse(try String(contentsOfFile: file, encoding: .utf8))
        func value(_ name: String, _ label: String, _ labelValue: String) -> Double? {
            samples.first { $0.name == name && $0.labels[label] == labelValue }?.value
        }
        #expect(value("couponbatch_runs_succeeded_total", "job", "hourly-gift") == 1)
        #expect(value("couponbatch_coupons_issued_total", "template", "gift-50") == 100)
        #expect(value("couponbatch_chunk_duration_seconds_count", "job", "hourly-gift") == 3)
        #expect(value("couponbatch_stock_remaining", "template", "gift-50") == 0)
        #expect(try fixture.int("SELECT count(*) FROM coupons") == 100)
    }

    @Test func aTakeoverOfARunWhoseRunnerDiedIsCounted() throws {
        let fixture = try EngineFixture(jobs: ["manual.yaml": "name: manual\nkind: noop\nmanual_only: true\nchunks: 2\n"])
        // A run whose runner died: running, its lease lapsed a minute ago.
        try fixture.connect().execute(
            """
            INSERT INTO job_runs (job, slot, trigger, status, attempt, owner, lease_until, started_at)
            VALUES ('manual', '2026-01-05T00:00:00Z', 'manual', 'running', 1, 'dead-host', now() - interval '1 minute', now())
            """)
        let file = fixture.jobsDir + "/couponbatch.prom"
        let tick = try fixture.run(["tick", "--now", "2026-01-05T00:00:30Z", "--metrics-textfile", file])
        #expect(tick.status == 0, "\(tick.transcript)")
        let samples = try PrometheusText.parse(try String(contentsOfFile: file, encoding: .utf8))
        #expect(samples.first { $0.name == "couponbatch_lease_takeovers_total" && $0.labels["job"] == "manual" }?.value == 1)
        #expect(samples.first { $0.name == "couponbatch_runs_succeeded_total" && $0.labels["job"] == "manual" }?.value == 1)
        // Not a scheduled run's first attempt: no lag is recorded for it.
        #expect(!samples.contains { $0.name == "couponbatch_scheduling_lag_seconds_count" })
    }

    @Test func readyzIsUnreadyWhileMigrationsArePending() throws {
        let fixture = try EngineFixture(jobs: Self.jobs)
        try fixture.connect().execute("DELETE FROM schema_migrations WHERE version = (SELECT max(version) FROM schema_migrations)")
        let scheduler = try fixture.start(["scheduler", "--http-port", "0", "--poll-seconds", "60"])
        defer {
            scheduler.signal(SIGTERM)
            _ = scheduler.wait(seconds: 10)
        }
        let base = try #require(try HTTPProbe.address(of: scheduler))
        let ready = try HTTPProbe.get(base + "/readyz")
        #expect(ready.status == 503)
        #expect(ready.body.contains("migrations pending"), "\(ready.body)")
    }

    @Test func bindingBeyondLoopbackWithoutATokenIsRefusedAndWithOneTheConsoleNeedsIt() throws {
        let fixture = try EngineFixture(jobs: Self.jobs)
        let refused = try Couponbatch.run(
            fixture.arguments(["scheduler", "--http-port", "0", "--http-host", "0.0.0.0"]),
            environment: ["COUPONBATCH_HTTP_TOKEN": ""])
        #expect(refused.status == 78, "\(refused.transcript)")
        #expect(refused.stderr.contains("COUPONBATCH_HTTP_TOKEN"))

        let token = "s3cret-token-for-this-test"
        let scheduler = try Couponbatch.start(
            fixture.arguments(["scheduler", "--http-port", "0", "--http-host", "0.0.0.0", "--poll-seconds", "60"]),
            environment: ["COUPONBATCH_HTTP_TOKEN": token])
        defer {
            scheduler.signal(SIGTERM)
            _ = scheduler.wait(seconds: 10)
        }
        let bound = try #require(try HTTPProbe.address(of: scheduler))
        let base = bound.replacingOccurrences(of: "0.0.0.0", with: "127.0.0.1")
        #expect(try HTTPProbe.get(base + "/runs").status == 401)
        #expect(try HTTPProbe.get(base + "/metrics", token: "wrong").status == 401)
        #expect(try HTTPProbe.get(base + "/metrics", token: token).status == 200)
        #expect(try HTTPProbe.get(base + "/runs", token: token).status == 200)
        // Probes stay open: a load balancer checks them without credentials.
        #expect(try HTTPProbe.get(base + "/healthz").status == 200)
        #expect(!scheduler.stdoutSoFar.contains(token) && !scheduler.stderrSoFar.contains(token))
    }

    @Test func theConsoleShowsTheOutboxFilteredByStatusAndJobAndTheReport() throws {
        let sink = FileManager.default.temporaryDirectory.appendingPathComponent("cbt-\(UUID().uuidString).ndjson").path
        defer { try? FileManager.default.removeItem(atPath: sink) }
        let fixture = try IssueFixture(templates: "templates: []\n", jobs: [remindJob("nudge")])
        try fixture.writeSinks("sinks:\n  - {name: out, type: file, path: \(sink)}\n")
        try fixture.addMembers(1...6)
        // Coupons that run out in two days (from now, so that the report's last 30 days see them
        // outstanding), reminded of at the current minute.
        let iso = ISO8601DateFormatter()
        let now = Date(timeIntervalSince1970: (Date().timeIntervalSince1970 / 60).rounded(.down) * 60)
        try fixture.addCoupons(1...6, expiresAt: iso.string(from: now.addingTimeInterval(2 * 86_400)), faceValueFen: 2500)
        #expect(try fixture.run("nudge", at: iso.string(from: now)).status == 0)
        #expect(try fixture.int("SELECT count(*) FROM notifications") == 6)
        // One of them gave up (as after max_attempts failures): dead, with its last error.
        let deadID = try fixture.int(
            "UPDATE notifications SET status = 'dead', attempts = 10, last_error = 'HTTP 503 from out' WHERE member_id = 4 RETURNING id")
        let scheduler = try Couponbatch.start(
            ["scheduler", "--http-port", "0", "--poll-seconds", "60"] + fixture.baseArguments,
            environment: ["COUPONBATCH_CODE_SECRET": ""])
        defer {
            scheduler.signal(SIGTERM)
            _ = scheduler.wait(seconds: 10)
        }
        let base = try #require(try HTTPProbe.address(of: scheduler))

        let all = try HTTPProbe.get(base + "/")
        #expect(all.body.contains("href=\"/outbox\"") && all.body.contains("href=\"/report\""))
        let outbox = try HTTPProbe.get(base + "/outbox")
        #expect(outbox.status == 200)
        let rows = outbox.body.components(separatedBy: "<tr>").dropFirst(2)
        #expect(rows.count == 6, "\(outbox.body)")
        #expect(rows.allSatisfy { $0.contains(">nudge<") && $0.contains(">out<") })
        let dead = try HTTPProbe.get(base + "/outbox?status=dead")
        let deadRows = dead.body.components(separatedBy: "<tr>").dropFirst(2)
        #expect(deadRows.count == 1)
        #expect(deadRows.first?.contains("<td class=\"n\">\(deadID)</td>") == true)
        #expect(deadRows.first?.contains("HTTP 503 from out") == true)
        #expect(dead.body.contains("<option selected>dead</option>"))
        let otherJob = try HTTPProbe.get(base + "/outbox?status=dead&job=no-such-job")
        #expect(otherJob.body.contains("No notifications match."))

        // The report, as `report --format html` renders it, with the console's links on top.
        let report = try HTTPProbe.get(base + "/report")
        #expect(report.status == 200)
        #expect(report.body.contains("<h1>Coupon report</h1>") && report.body.contains("href=\"/outbox\""))
        let outstanding = try fixture.int("SELECT sum(face_value_fen) FROM coupons WHERE status = 'active'")
        #expect(outstanding == 6 * 2500)
        #expect(report.body.contains("of ¥150.00 outstanding"), "\(report.body.prefix(3000))")
    }
}

/// A plain HTTP GET through URLSession, and the scheduler's announced address.
enum HTTPProbe {
    struct Response {
        let status: Int
        let body: String
    }

    static func address(of scheduler: RunningCommand) throws -> String? {
        var address: String?
        _ = eventually(within: 20) {
            address = scheduler.stdoutSoFar.split(separator: "\n").first { $0.hasPrefix("http: ") }
                .flatMap { $0.split(separator: " ").last }.map { String($0.dropLast()) }
            return address != nil
        }
        return address
    }

    static func get(_ url: String, token: String? = nil) throws -> Response {
        var request = URLRequest(url: try #require(URL(string: url)), timeoutInterval: 20)
        if let token { request.setValue("Bearer \(token)", forHTTPHeaderField: "Authorization") }
        let box = ResponseBox()
        let done = DispatchSemaphore(value: 0)
        URLSession.shared.dataTask(with: request) { data, response, error in
            box.set(data: data, status: (response as? HTTPURLResponse)?.statusCode, error: error)
            done.signal()
        }.resume()
        done.wait()
        return try box.response()
    }

    private final class ResponseBox: @unchecked Sendable {
        // Safe: written once by URLSession's callback before the semaphore is signalled, read after.
        private var data: Data?
        private var status: Int?
        private var error: (any Error)?
        func set(data: Data?, status: Int?, error: (any Error)?) {
            self.data = data
            self.status = status
            self.error = error
        }
        func response() throws -> Response {
            if let error { throw error }
            return Response(status: status ?? 0, body: String(decoding: data ?? Data(), as: UTF8.self))
        }
    }
}

/// One sample of the Prometheus text exposition format.
struct PrometheusSample: Equatable {
    let name: String
    let labels: [String: String]
    let value: Double
}

/// A strict reader of the Prometheus text format (0.0.4): every line must be a comment, blank,
/// or `name{label="value",...} number`, and every sample's family must be declared by `# TYPE`.
enum PrometheusText {
    struct FormatError: Error, CustomStringConvertible {
        let description: String
    }

    static func parse(_ text: String) throws -> [PrometheusSample] {
        var types: [String: String] = [:]
        var samples: [PrometheusSample] = []
        for (number, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            if line.isEmpty { continue }
            if line.hasPrefix("# TYPE ") {
                let parts = line.split(separator: " ")
                guard parts.count == 4, ["counter", "gauge", "histogram", "summary", "untyped"].contains(parts[3]) else {
                    throw FormatError(description: "line \(number + 1): bad TYPE: \(line)")
                }
                types[String(parts[2])] = String(parts[3])
                continue
            }
            if line.hasPrefix("#") { continue }
            samples.append(try sample(String(line), number: number + 1))
        }
        for sample in samples {
            let family = ["_bucket", "_sum", "_count"].reduce(sample.name) { name, suffix in
                types[name] == nil && name.hasSuffix(suffix) ? String(name.dropLast(suffix.count)) : name
            }
            guard types[family] != nil else { throw FormatError(description: "\(sample.name) has no # TYPE line") }
        }
        return samples
    }

    private static func sample(_ line: String, number: Int) throws -> PrometheusSample {
        let nameEnd = line.firstIndex { $0 == "{" || $0 == " " } ?? line.endIndex
        let name = String(line[..<nameEnd])
        guard name.range(of: "^[a-zA-Z_:][a-zA-Z0-9_:]*$", options: .regularExpression) != nil else {
            throw FormatError(description: "line \(number): bad metric name in \(line)")
        }
        var labels: [String: String] = [:]
        var rest = line[nameEnd...]
        if rest.hasPrefix("{") {
            guard let close = rest.firstIndex(of: "}") else { throw FormatError(description: "line \(number): unclosed {") }
            let body = rest[rest.index(after: rest.startIndex)..<close]
            for pair in body.split(separator: ",") {
                let parts = pair.split(separator: "=", maxSplits: 1)
                guard parts.count == 2, parts[1].hasPrefix("\""), parts[1].hasSuffix("\""), parts[1].count >= 2 else {
                    throw FormatError(description: "line \(number): bad label \(pair)")
                }
                labels[String(parts[0])] = String(parts[1].dropFirst().dropLast())
            }
            rest = rest[rest.index(after: close)...]
        }
        let fields = rest.split(separator: " ")
        guard (1...2).contains(fields.count), let value = Double(fields[0]) ?? (fields[0] == "+Inf" ? .infinity : nil) else {
            throw FormatError(description: "line \(number): bad value in \(line)")
        }
        return PrometheusSample(name: name, labels: labels, value: value)
    }
}
