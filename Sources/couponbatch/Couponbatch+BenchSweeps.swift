import CouponKit
import Foundation
import Postgres

#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif

/// `make bench` figures of the sweeps: the reminder outbox, delivery to a webhook receiver and to
/// a file, expiry, and what the sweeps' index costs issuance. Each figure beside a floor measured
/// in the same run (plain SQL doing the same rows' work in one statement).
enum SweepBench {
    static let slot = "2026-11-23T02:00:00Z"
    static let webhookSecret = "bench-webhook-secret-0123456789abcdef"
    static let codeSecret = "bench-code-secret-0123456789abcdef"

    static func writeJobs(_ dir: String, receiverPort: Int) throws {
        try """
        sinks:
          - {name: bench-hook, type: webhook, url: "http://127.0.0.1:\(receiverPort)/coupon-events",
             secret_env: BENCH_WEBHOOK_SECRET, batch_size: 500, timeout: 10s}
          - {name: bench-file, type: file, path: "\(dir)/notifications.ndjson", batch_size: 500}
        """.write(toFile: "\(dir)/sinks.yaml", atomically: true, encoding: .utf8)
        try """
        name: bench-remind
        kind: remind
        manual_only: true
        remind: {before: 3d}
        sink: bench-hook
        """.write(toFile: "\(dir)/bench-remind.yaml", atomically: true, encoding: .utf8)
        try """
        name: bench-expire
        kind: expire
        manual_only: true
        """.write(toFile: "\(dir)/bench-expire.yaml", atomically: true, encoding: .utf8)
    }

    /// The issuance bench's product run (1 worker) and its floor with and without the sweeps'
    /// index (`SweepIndex.name`), measured in alternating pairs (with first, then without
    /// first) so that a machine whose load drifts during the run weighs on both sides alike.
    /// Prints every pair and the median of the pairs' ratios beside the issue's goal (+10%), and
    /// the WAL the run wrote (the index's write cost, which the machine's load does not move).
    static func indexCost(jobsDir: String, url: String?, repeats: Int, _ connection: Connection) throws {
        let members = try connection.query("SELECT count(*) FROM members").row(0).decode(0, as: Int.self)
        let index = SweepIndex.name
        print("== index cost: issuance of one coupon to \(members) members with and without \(index), \(repeats) alternating pairs")
        let definition = try connection.query(
            "SELECT pg_get_indexdef($1::regclass), obj_description($1::regclass, 'pg_class')", [index]
        ).row(0)
        let create: String = try definition.decode(0)
        let comment: String? = try definition.decodeIfPresent(1)
        func walPosition() throws -> String { try connection.query("SELECT pg_current_wal_insert_lsn()::text").row(0).decode(0) }
        func measure(withIndex: Bool) throws -> (run: Double, floor: Double, walMB: Double) {
            if !withIndex { try connection.execute("DROP INDEX \(index)") }
            defer {
                if !withIndex {
                    _ = try? connection.execute("TRUNCATE coupons")
                    _ = try? connection.execute(create)
                    if let comment {
                        _ = try? connection.execute(
                            "COMMENT ON INDEX \(index) IS '\(comment.replacingOccurrences(of: "'", with: "''"))'")
                    }
                }
            }
            let floor = try Couponbatch.Bench.floor(connection)
            let start = try walPosition()
            let run = try Couponbatch.Bench.product(jobsDir: jobsDir, url: url, workers: 1, connection).0
            let wal = try connection.query("SELECT pg_wal_lsn_diff(pg_current_wal_insert_lsn(), $1::pg_lsn)::float8", [start]).row(0)
            return (run, floor, try wal.decode(0, as: Double.self) / 1_048_576)
        }
        var runRatios: [Double] = []
        var floorRatios: [Double] = []
        var walRatios: [Double] = []
        try alternatingPairs(repeats, measure: measure(withIndex:)) { pair, withFirst, with, without in
            runRatios.append(with.run / without.run)
            floorRatios.append(with.floor / without.floor)
            walRatios.append(with.walMB / without.walMB)
            print(
                String(
                    format: "  pair %d (%@ first): run %.2f s with, %.2f s without (%+.1f%%), WAL %.1f MB with, %.1f MB without; floor INSERT … SELECT %.2f s with, %.2f s without (%+.1f%%)",
                    pair + 1, withFirst ? "with" : "without", with.run, without.run, (with.run / without.run - 1) * 100, with.walMB,
                    without.walMB, with.floor, without.floor, (with.floor / without.floor - 1) * 100))
        }
        let run = median(runRatios)
        print(
            String(
                format: "  median over %d pairs: run bench-issue (1 worker) %+.1f%% (its WAL %+.1f%%), floor %+.1f%%; goal: issuance at most +10%% (%@)",
                runRatios.count, (run - 1) * 100, (median(walRatios) - 1) * 100, (median(floorRatios) - 1) * 100,
                run <= 1.10 ? "met" : "NOT met"))
    }

    /// `repeats` pairs (at least one) of `measure(true)` and `measure(false)`, alternating which
    /// goes first, so that a machine whose load drifts weighs on both sides alike; `report` gets
    /// each pair's number, whether true went first, and the two results.
    static func alternatingPairs<Result>(
        _ repeats: Int, measure: (Bool) throws -> Result, report: (Int, Bool, Result, Result) throws -> Void
    ) throws {
        for pair in 0..<max(1, repeats) {
            let trueFirst = pair % 2 == 0
            let first = try measure(trueFirst)
            let second = try measure(!trueFirst)
            try report(pair, trueFirst, trueFirst ? first : second, trueFirst ? second : first)
        }
    }

    static func median(_ values: [Double]) -> Double {
        let sorted = values.sorted()
        guard !sorted.isEmpty else { return 0 }
        return sorted.count % 2 == 1 ? sorted[sorted.count / 2] : (sorted[sorted.count / 2 - 1] + sorted[sorted.count / 2]) / 2
    }

    static func run(coupons: Int, members: Int, parts: Set<String>, jobsDir: String, url: String?, _ connection: Connection) throws {
        try Couponbatch.Bench.prepareMembers(members, url: url, connection)
        let receiver = try Receiver.start()
        defer { receiver.stop() }
        try writeJobs(jobsDir, receiverPort: receiver.port)
        setenv("BENCH_WEBHOOK_SECRET", webhookSecret, 1)
        try seedCoupons(coupons, members: members, connection)
        if parts.contains("remind") || parts.contains("delivery") {
            try remind(coupons: coupons, members: members, repeats: parts.contains("remind") ? 2 : 0, jobsDir: jobsDir, connection)
        }
        if parts.contains("delivery") { try delivery(coupons: coupons, members: members, receiver: receiver, jobsDir: jobsDir, connection) }
        if parts.contains("expiry") { try expiry(coupons: coupons, url: url, jobsDir: jobsDir, connection) }
        if parts.contains("history") {
            try expiryHistory(coupons: coupons, members: members, repeats: 2, jobsDir: jobsDir, connection)
        }
    }

    /// The reminder outbox beside one `INSERT … SELECT … GROUP BY member`; with `repeats` 0 it
    /// only builds the outbox (for the delivery figures).
    static func remind(coupons: Int, members: Int, repeats: Int, jobsDir: String, _ connection: Connection) throws {
        func build(workers: Int) throws -> (Double, Double) {
            try resetOutbox(connection)
            // Without the code secret the run only builds the outbox: delivery is measured below.
            unsetenv("COUPONBATCH_CODE_SECRET")
            let started = Date()
            let usage = try ChildProcess.run(
                CommandLine.arguments[0], ["run", "bench-remind", "--jobs-dir", jobsDir, "--workers", "\(workers)", "--at", slot])
            let seconds = Date().timeIntervalSince(started)
            guard usage.status == 0 else { throw ConfigurationError("bench-remind failed with exit \(usage.status)") }
            try expect("SELECT count(*) FROM notifications", Int64(members), connection)
            try expect("SELECT sum(cardinality(coupon_ids)) FROM notifications", Int64(coupons), connection)
            return (seconds, Double(usage.maxRSSKilobytes) / 1024)
        }
        guard repeats > 0 else {
            _ = try build(workers: 2)
            return
        }
        print("== reminders: outbox for \(coupons) coupons expiring within 3 days, \(members) members; floor = one INSERT … SELECT … GROUP BY member")
        var floors: [Double] = []
        var products: [Int: [(Double, Double)]] = [1: [], 2: []]
        for _ in 0..<repeats {
            floors.append(try remindFloor(connection))
            for workers in [1, 2] { products[workers, default: []].append(try build(workers: workers)) }
        }
        let floor = min(floors)
        print(String(format: "  floor                 %7.2f s", floor))
        for workers in [1, 2] {
            let runs = products[workers] ?? []
            let best = min(runs.map(\.0))
            print(String(format: "  run, %d worker%@       %7.2f s   %.2fx floor   peak RSS %.1f MB", workers, workers == 1 ? " " : "s", best, best / floor, runs.map(\.1).max() ?? 0))
        }
    }

    /// Delivery of the outbox to the file sink, through the webhook with 1 and 2 deliverers, then
    /// the receiver alone (the file's messages in the same batches, signed, POSTed one after
    /// another: what the receiver can take, so that it is known not to be the limit).
    static func delivery(coupons: Int, members: Int, receiver: Receiver, jobsDir: String, _ connection: Connection) throws {
        print("== delivery of \(members) notifications (\(coupons) coupons, codes computed per coupon), batches of 500")
        setenv("COUPONBATCH_CODE_SECRET", codeSecret, 1)
        let file = "\(jobsDir)/notifications.ndjson"
        for (sink, workers, label) in [
            ("bench-file", 1, "file sink, fsync per batch, 1 deliverer"),
            ("bench-hook", 1, "webhook, receiver verifying every signature, 1 deliverer"),
            ("bench-hook", 2, "webhook, receiver verifying every signature, 2 deliverers"),
            // Last: it reads the whole file into this process, whose size a child started
            // afterwards would report as its own peak (fork copies it until exec).
            ("receiver alone", 0, "receiver alone (the same messages, signed, one client)"),
        ] {
            receiver.clearLog()
            let seconds: Double
            var detail = ""
            if workers == 0 {
                seconds = try receiver.floor(ndjson: file, batchSize: 500)
            } else {
                try connection.execute("UPDATE notifications SET sink = $1, status = 'pending', attempts = 0, delivered_at = NULL", [sink])
                try connection.execute("VACUUM ANALYZE notifications")
                if sink == "bench-file" { try? FileManager.default.removeItem(atPath: file) }
                let started = Date()
                let usage = try ChildProcess.run(
                    CommandLine.arguments[0], ["notifications", "deliver", "--sink", sink, "--workers", "\(workers)", "--jobs-dir", jobsDir])
                seconds = Date().timeIntervalSince(started)
                guard usage.status == 0 else { throw ConfigurationError("deliver to \(sink) failed with exit \(usage.status)") }
                try expect("SELECT count(*) FROM notifications WHERE status = 'delivered'", Int64(members), connection)
                detail = String(format: "peak RSS %.1f MB", Double(usage.maxRSSKilobytes) / 1024)
            }
            if sink != "bench-file" {
                let (ok, bad, ids) = receiver.tally()
                guard bad == 0, ids == members else { throw ConfigurationError("receiver: \(ok) good, \(bad) bad requests, \(ids) ids") }
                detail += (detail.isEmpty ? "" : ", ") + "\(ok) POSTs verified"
            }
            let goal = sink == "bench-hook" ? String(format: "; goal 20000/s (%@)", Double(members) / seconds >= 20_000 ? "met" : "NOT met") : ""
            print(String(format: "  %@: %.0f notifications/s (%.2f s, %@)%@", label, Double(members) / seconds, seconds, detail, goal))
        }
    }

    /// Expiry of the seeded coupons beside one plain UPDATE of the same rows: with one worker
    /// (its longest transaction read exactly from the ledger) and with `run`'s default workers
    /// (its longest transaction sampled from pg_stat_activity every 10 ms by another connection).
    static func expiry(coupons: Int, url: String?, jobsDir: String, _ connection: Connection) throws {
        print("== expiry of \(coupons) coupons; floor = one plain UPDATE … SET status = 'expired' of the same rows")
        let after = "2026-11-26T02:00:01Z"
        var floors: [Double] = []
        var runs: [String: [(seconds: Double, longest: Double, chunks: Int)]] = [:]
        for _ in 0..<2 {
            try restoreActive(connection)
            let started = Date()
            let expired = try connection.execute("UPDATE coupons SET status = 'expired' WHERE status = 'active' AND expires_at <= $1", [after])
            floors.append(Date().timeIntervalSince(started))
            guard expired == coupons else { throw ConfigurationError("floor expired \(expired)") }
            for workers in ["1", "default"] {
                try restoreActive(connection)
                try connection.execute("TRUNCATE run_chunks, job_runs, job_state")
                let sampler = workers == "1" ? nil : try TransactionSampler(url: url)
                let runStarted = Date()
                let usage = try ChildProcess.run(
                    CommandLine.arguments[0],
                    ["run", "bench-expire", "--jobs-dir", jobsDir, "--at", after] + (workers == "1" ? ["--workers", "1"] : []))
                let seconds = Date().timeIntervalSince(runStarted)
                let sampled = sampler?.stop() ?? 0
                guard usage.status == 0 else { throw ConfigurationError("bench-expire failed with exit \(usage.status)") }
                try expect("SELECT count(*) FROM coupons WHERE status = 'expired'", Int64(coupons), connection)
                // With one worker, a chunk's transaction lasts at most until the next one starts
                // (run_chunks.committed_at is its transaction's start); the last one until the run ends.
                let longest = try connection.query(
                    """
                    SELECT max(seconds)::float8, count(*)::bigint FROM (
                        SELECT extract(epoch FROM coalesce(lead(c.committed_at) OVER (ORDER BY c.committed_at), r.finished_at)
                                       - c.committed_at) AS seconds
                        FROM run_chunks c JOIN job_runs r ON r.id = c.run_id) AS chunk_times
                    """
                ).row(0)
                let chunks = Int(try longest.decode(1, as: Int64.self))
                runs[workers, default: []].append((seconds, workers == "1" ? try longest.decodeIfPresent(0, as: Double.self) ?? 0 : sampled, chunks))
            }
        }
        let floor = min(floors)
        print(String(format: "  floor %.2f s", floor))
        for (workers, label) in [("1", "run, --workers 1      "), ("default", "run, default --workers")] {
            let measured = runs[workers] ?? []
            let best = measured.min { $0.seconds < $1.seconds } ?? (0, 0, 0)
            let longest = measured.map(\.longest).max() ?? 0
            print(
                String(
                    format: "  %@ %.2f s = %.2fx floor (goal 1.2: %@); %d chunks, longest transaction %.3f s%@ (goal 1 s: %@)",
                    label, best.seconds, best.seconds / floor, best.seconds / floor <= 1.2 ? "met" : "NOT met", best.chunks, longest,
                    workers == "1" ? "" : " (sampled every 10 ms)", longest <= 1 ? "met" : "NOT met"))
        }
    }

    /// The age of the oldest open transaction of other sessions on this database, sampled every
    /// 10 ms until stopped: a lower bound of the longest transaction (off by at most one interval).
    /// Client sessions only: an autovacuum worker's ANALYZE takes an xid, and a 25 s "transaction"
    /// seen once during a 5.7 s expiry run on the durable cluster was most likely one.
    final class TransactionSampler: @unchecked Sendable {
        private let stopped = DispatchSemaphore(value: 0)
        private let finished = DispatchSemaphore(value: 0)
        private var longest = 0.0

        init(url: String?) throws {
            // Used by the sampling thread only, once handed over.
            nonisolated(unsafe) let connection = try Connection.connect(url: url, applicationName: "couponbatch-bench-sampler")
            Thread.detachNewThread { [self] in
                while stopped.wait(timeout: .now() + .milliseconds(10)) == .timedOut {
                    let age = try? connection.query(
                        """
                        SELECT coalesce(max(extract(epoch FROM clock_timestamp() - xact_start)), 0)::float8 FROM pg_stat_activity
                        WHERE datname = current_database() AND pid <> pg_backend_pid() AND xact_start IS NOT NULL
                          AND application_name <> 'couponbatch-bench-sampler' AND backend_xid IS NOT NULL
                          AND backend_type = 'client backend'
                        """
                    ).row(0).decode(0, as: Double.self)
                    longest = max(longest, age ?? 0)
                }
                finished.signal()
            }
        }

        func stop() -> Double {
            stopped.signal()
            finished.wait()
            return longest
        }
    }

    // MARK: Data

    static func seedCoupons(_ count: Int, members: Int, _ connection: Connection) throws {
        try connection.execute("TRUNCATE coupons, notifications, issue_holdouts, run_chunks, job_runs, job_state, template_stock, template_issued_chunks, coupon_templates")
        try connection.execute(
            """
            INSERT INTO coupon_templates (key, version, fingerprint, type, spec, face_value_fen)
            VALUES ('bench-cash', 1, 'bench', 'cash', '{"title": "满100减10"}', 1000)
            """)
        try insertLiveCoupons(count, members: members, connection)
        try connection.execute("VACUUM ANALYZE coupons")
        try unsummarize(connection)
    }

    /// Coupons spread over the members and over the 3 days after the slot, at six expiry instants
    /// (validity ends at the end of a day; templates in other zones end at other hours).
    static func insertLiveCoupons(_ count: Int, members: Int, _ connection: Connection) throws {
        try connection.execute(
            """
            INSERT INTO coupons (template_key, template_version, member_id, run_id, seq, face_value_fen, issued_at,
                                 valid_from, expires_at)
            SELECT 'bench-cash', 1, 1 + (g % $2), 0, (g / $2)::int + 1, 1000, $3::timestamptz - interval '7 days',
                   $3::timestamptz - interval '7 days', $3::timestamptz + make_interval(hours => 12 * (1 + (g % 6)::int))
            FROM generate_series(0::bigint, $1 - 1) g
            """, [Int64(count), Int64(members), slot])
    }

    /// VACUUM summarizes the sweeps' BRIN; right after a bulk issuance its new ranges are not, and
    /// a sweep's plan summarizes them itself. Undone here, so that the sweeps' figures include that.
    static func unsummarize(_ connection: Connection) throws {
        try connection.execute(
            """
            SELECT count(brin_desummarize_range($1::regclass, b))
            FROM generate_series(0::bigint, pg_relation_size('coupons') / current_setting('block_size')::bigint) b
            """, [SweepIndex.name])
    }

    static func remindFloor(_ connection: Connection) throws -> Double {
        try resetOutbox(connection)
        let outbox = NotificationOutbox(
            kind: .remind, job: "bench-floor", slot: ISO8601DateFormatter().date(from: slot) ?? Date(), runID: 0,
            sink: "bench-hook", zone: DefinitionDefaults.timeZone, quietHours: nil)
        let insert = outbox.insert(
            from: "(SELECT * FROM coupons c WHERE c.status = 'active' AND c.expires_at > $1 AND c.expires_at <= $2)",
            parameters: [slot, "2026-11-26T02:00:00Z"])
        try connection.execute("SET TimeZone = 'Asia/Shanghai'")
        let started = Date()
        try connection.execute(insert.sql, insert.parameters)
        let seconds = Date().timeIntervalSince(started)
        try connection.execute("RESET TimeZone")
        return seconds
    }

    static func resetOutbox(_ connection: Connection) throws {
        try connection.execute("TRUNCATE notifications, run_chunks, job_runs, job_state")
        try connection.execute("CHECKPOINT")
    }

    static func restoreActive(_ connection: Connection) throws {
        try connection.execute("UPDATE coupons SET status = 'active' WHERE status <> 'active'")
        try connection.execute("VACUUM ANALYZE coupons")
        try unsummarize(connection)
        try connection.execute("CHECKPOINT")
    }

    static func expect(_ sql: String, _ value: Int64, _ connection: Connection) throws {
        let got = try connection.query(sql).row(0).decodeIfPresent(0, as: Int64.self) ?? 0
        guard got == value else { throw ConfigurationError("bench check failed: \(sql) gave \(got), expected \(value)") }
    }

    static func min(_ values: [Double]) -> Double { Swift.max(values.min() ?? 0, 0.001) }

    /// Tests/Receiver/webhook_receiver.py as a helper process: checks every signature.
    final class Receiver {
        let process: Process
        let port: Int
        let log: String

        static func start() throws -> Receiver {
            let script = FileManager.default.currentDirectoryPath + "/Tests/Receiver/webhook_receiver.py"
            guard FileManager.default.fileExists(atPath: script) else {
                throw ConfigurationError("run bench from the project folder (needs \(script))")
            }
            let log = FileManager.default.temporaryDirectory.appendingPathComponent("couponbatch-bench-receiver-\(getpid()).log").path
            let process = Process()
            process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
            process.arguments = ["python3", script, "--secret-env", "BENCH_WEBHOOK_SECRET", "--log", log]
            var environment = ProcessInfo.processInfo.environment
            environment["BENCH_WEBHOOK_SECRET"] = webhookSecret
            process.environment = environment
            let out = Pipe()
            process.standardOutput = out
            try process.run()
            let line = String(decoding: out.fileHandleForReading.availableData, as: UTF8.self)
            guard let port = Int(line.split(separator: " ").last?.trimmingCharacters(in: .whitespacesAndNewlines) ?? "") else {
                process.terminate()
                throw ConfigurationError("the webhook receiver did not start (python3 missing?)")
            }
            return Receiver(process: process, port: port, log: log)
        }

        init(process: Process, port: Int, log: String) {
            self.process = process
            self.port = port
            self.log = log
        }

        /// Seconds to POST the messages of `ndjson` in batches of `batchSize`, each signed, one
        /// after another on one keep-alive connection: the receiver's own rate (with a client's).
        func floor(ndjson: String, batchSize: Int) throws -> Double {
            let data = try Data(contentsOf: URL(fileURLWithPath: ndjson), options: .alwaysMapped)
            let lines = data.split(separator: UInt8(ascii: "\n"))
            let signature = WebhookSignature(secret: Array(webhookSecret.utf8))
            var bodies: [Data] = []
            for start in stride(from: 0, to: lines.count, by: batchSize) {
                var body = Data("{\"notifications\":[".utf8)
                for (index, line) in lines[start..<Swift.min(start + batchSize, lines.count)].enumerated() {
                    if index > 0 { body.append(UInt8(ascii: ",")) }
                    body.append(contentsOf: line)
                }
                body.append(contentsOf: Array("]}".utf8))
                bodies.append(body)
            }
            let configuration = URLSessionConfiguration.ephemeral
            configuration.httpMaximumConnectionsPerHost = 1
            let session = URLSession(configuration: configuration)
            defer { session.finishTasksAndInvalidate() }
            let url = URL(string: "http://127.0.0.1:\(port)/coupon-events")!
            let started = Date()
            for body in bodies {
                var request = URLRequest(url: url)
                request.httpMethod = "POST"
                request.httpBody = body
                request.setValue("application/json", forHTTPHeaderField: "Content-Type")
                request.setValue(
                    signature.header(body: body, timestamp: Int64(Date().timeIntervalSince1970)),
                    forHTTPHeaderField: WebhookSignature.headerName)
                let done = DispatchSemaphore(value: 0)
                nonisolated(unsafe) var status = 0
                session.dataTask(with: request) { _, response, _ in
                    status = (response as? HTTPURLResponse)?.statusCode ?? 0
                    done.signal()
                }.resume()
                done.wait()
                guard status == 200 else { throw ConfigurationError("the receiver answered \(status)") }
            }
            return Date().timeIntervalSince(started)
        }

        func clearLog() { try? Data().write(to: URL(fileURLWithPath: log)) }

        /// (verified requests, refused requests, notification ids received)
        func tally() -> (Int, Int, Int) {
            guard let data = FileManager.default.contents(atPath: log) else { return (0, 0, 0) }
            var ok = 0
            var bad = 0
            var ids = 0
            struct Line: Decodable {
                let signature_ok: Bool
                let ids: [Int64]?
            }
            for line in String(decoding: data, as: UTF8.self).split(separator: "\n") {
                guard let entry = try? JSONDecoder().decode(Line.self, from: Data(line.utf8)) else { continue }
                if entry.signature_ok { ok += 1 } else { bad += 1 }
                ids += entry.ids?.count ?? 0
            }
            return (ok, bad, ids)
        }

        func stop() {
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
            try? FileManager.default.removeItem(atPath: log)
        }
    }
}
