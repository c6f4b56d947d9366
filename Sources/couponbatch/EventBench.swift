import CouponKit
import Foundation
import Postgres
import Synchronization

/// `make bench`'s event-triggered issuance: events inserted at a steady rate (one INSERT per
/// event, as senders write them) for a while, one scheduler issuing, then latency from an
/// event's `received_at` to its batch's commit and the cost per coupon beside a floor: the same
/// number of coupons written by one INSERT … SELECT.
enum EventBench {
    static func run(rate: Int, seconds: Int, url: String?, _ connection: Connection) throws {
        print("== event triggers: \(rate) payment events/s for \(seconds) s, one scheduler; floor = one INSERT … SELECT of as many coupons")
        try Couponbatch.Bench.prepareMembers(100_000, url: url, connection)
        let jobsDir = try writeJobs()
        defer { try? FileManager.default.removeItem(atPath: jobsDir) }
        try reset(connection)
        let scheduler = Process()
        scheduler.executableURL = URL(fileURLWithPath: CommandLine.arguments[0])
        scheduler.arguments = ["scheduler", "--jobs-dir", jobsDir, "--event-poll-seconds", "1"]
        scheduler.standardOutput = FileHandle.nullDevice
        scheduler.standardError = FileHandle.nullDevice
        try scheduler.run()
        defer { if scheduler.isRunning { scheduler.terminate() } }
        Thread.sleep(forTimeInterval: 1)
        let cpuBefore = cpuSeconds(pid: scheduler.processIdentifier)

        // Producers: each paced to its share of the rate; an event due in the past goes at once.
        let producers = 2
        let total = rate * seconds
        let group = DispatchGroup()
        let failures = Mutex<[String]>([])
        let started = Date()
        for producer in 0..<producers {
            group.enter()
            WorkerThread.start {
                defer { group.leave() }
                do {
                    let sender = try Connection.connect(url: url)
                    var index = producer
                    while index < total {
                        let due = started.addingTimeInterval(Double(index) / Double(rate))
                        let wait = due.timeIntervalSinceNow
                        if wait > 0 { usleep(UInt32(wait * 1_000_000)) }
                        try sender.execute(
                            """
                            INSERT INTO member_events (external_id, member_id, type, amount_fen, occurred_at)
                            VALUES ($1, $2, 'payment', 12000, now()) ON CONFLICT (external_id) DO NOTHING
                            """, ["bench-\(index)", Int64(index % 100_000 + 1)])
                        index += producers
                    }
                } catch {
                    failures.withLock { $0.append("\(error)") }
                }
            }
        }
        group.wait()
        let sendSeconds = Date().timeIntervalSince(started)
        if let failure = failures.withLock({ $0.first }) { throw ConfigurationError("event producer failed: \(failure)") }
        // Let the scheduler finish what is left.
        let drainDeadline = Date().addingTimeInterval(120)
        while Date() < drainDeadline {
            let left = try connection.query(
                "SELECT count(*) FROM member_events e WHERE NOT EXISTS (SELECT 1 FROM trigger_outcomes o WHERE o.event_id = e.id)"
            ).row(0).decode(0, as: Int.self)
            if left == 0 { break }
            Thread.sleep(forTimeInterval: 0.2)
        }
        let cpu = cpuSeconds(pid: scheduler.processIdentifier) - cpuBefore
        let peakKB = peakRSSKilobytes(pid: scheduler.processIdentifier)
        scheduler.terminate()
        scheduler.waitUntilExit()

        let stats = try connection.query(
            """
            SELECT count(*) AS events,
                   count(*) FILTER (WHERE o.outcome = 'issued') AS issued,
                   percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM r.finished_at - e.received_at)) AS p50,
                   percentile_cont(0.99) WITHIN GROUP (ORDER BY extract(epoch FROM r.finished_at - e.received_at)) AS p99,
                   max(extract(epoch FROM r.finished_at - e.received_at)) AS max
            FROM member_events e
            JOIN trigger_outcomes o ON o.event_id = e.id
            JOIN job_runs r ON r.id = o.run_id
            """
        ).row(0)
        let batches = try connection.query(
            """
            SELECT count(*) AS runs, coalesce(sum(extract(epoch FROM finished_at - started_at)), 0) AS seconds
            FROM job_runs WHERE trigger = 'event'
            """
        ).row(0)
        let coupons = try connection.query("SELECT count(*) FROM coupons").row(0).decode(0, as: Int.self)
        let events: Int = try stats.decode("events")
        let runs: Int = try batches.decode("runs")
        let batchSeconds: Double = try batches.decode("seconds")
        print(
            String(
                format: "  sent %d events in %.1f s (%.0f/s); %d outcomes, %d coupons, %d batches (%.0f events each)",
                total, sendSeconds, Double(total) / sendSeconds, events, coupons, runs, Double(events) / Double(max(runs, 1))))
        print(
            String(
                format: "  received_at → commit: p50 %.3f s, p99 %.3f s, max %.3f s (goal p99 ≤ 2 s)",
                try stats.decode("p50", as: Double.self), try stats.decode("p99", as: Double.self),
                try stats.decode("max", as: Double.self)))
        let floorSeconds = try floor(coupons: coupons, connection)
        let perCoupon = { (seconds: Double) in seconds / Double(max(coupons, 1)) * 1_000_000 }
        print(
            String(
                format: "  per coupon: batch transactions %.1f µs, scheduler CPU %.1f µs; floor (one INSERT … SELECT of %d) %.1f µs; ratio %.1f",
                perCoupon(batchSeconds), perCoupon(cpu), coupons, perCoupon(floorSeconds),
                batchSeconds / max(floorSeconds, 0.000_001)))
        print(String(format: "  scheduler peak RSS %.1f MB", Double(peakKB) / 1024))
    }

    static func writeJobs() throws -> String {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("couponbatch-event-bench-\(getpid())").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        try """
        templates:
          - {key: bench-thanks, type: cash, off_fen: 500, validity: {days: 7}}
        """.write(toFile: "\(dir)/templates.yaml", atomically: true, encoding: .utf8)
        try """
        name: bench-repurchase
        kind: issue
        trigger: {event: payment, where: {amount_fen: {min: 10000}}, within: 1h}
        segment: everyone
        coupons: [{template: bench-thanks}]
        """.write(toFile: "\(dir)/bench-repurchase.yaml", atomically: true, encoding: .utf8)
        return dir
    }

    static func reset(_ connection: Connection) throws {
        try connection.execute(
            """
            TRUNCATE coupons, issue_holdouts, run_chunks, job_runs, job_state, template_stock, template_issued_chunks, coupon_templates,
                     member_events, trigger_outcomes, trigger_cursors
            """)
        try connection.execute("CHECKPOINT")
    }

    /// The same number of coupons by one INSERT … SELECT into the same table and indexes.
    static func floor(coupons: Int, _ connection: Connection) throws -> Double {
        try connection.execute("TRUNCATE coupons")
        try connection.execute("CHECKPOINT")
        let started = Date()
        try connection.execute(
            """
            INSERT INTO coupons (template_key, template_version, member_id, run_id, seq, face_value_fen, issued_at,
                                 valid_from, expires_at, event_id)
            SELECT 'bench-thanks', 1, (g % 100000) + 1, g / 100000 + 1, 1, 500, now(), now(), now() + interval '7 days', g
            FROM generate_series(1, $1::bigint) g
            """, [Int64(coupons)])
        return Date().timeIntervalSince(started)
    }

    /// User + system CPU seconds of a process so far (/proc/PID/stat, clock ticks).
    static func cpuSeconds(pid: Int32) -> Double {
        guard let text = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
            let close = text.lastIndex(of: ")")
        else { return 0 }
        let fields = text[text.index(after: close)...].split(separator: " ")
        // After the command name: state is field 3, utime 14 and stime 15 (1-based in proc(5)).
        guard fields.count > 13, let user = Double(fields[11]), let system = Double(fields[12]) else { return 0 }
        return (user + system) / Double(sysconf(Int32(_SC_CLK_TCK)))
    }

    static func peakRSSKilobytes(pid: Int32) -> Int {
        guard let status = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8) else { return 0 }
        for line in status.split(separator: "\n") where line.hasPrefix("VmHWM:") {
            return Int(line.filter(\.isNumber)) ?? 0
        }
        return 0
    }
}
