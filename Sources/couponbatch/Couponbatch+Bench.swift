import ArgumentParser
import CouponKit
import Foundation
import Postgres

extension Couponbatch {
    struct Bench: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Benchmarks for `make bench`: couponbatch's figures beside a floor measured in the same run.",
            discussion: "Writes to the database it is given: point it at a scratch database (its name must contain \"bench\").",
            shouldDisplay: false)

        @OptionGroup var global: GlobalOptions

        @Option(help: "Members to issue to in the issuance cases.")
        var members: Int = 1_000_000

        @Option(help: "Members for the peak-RSS comparison (peak RSS should not grow from here to --members).")
        var smallMembers: Int = 100_000

        @Option(help: "Turns (a floor, then a run, alternating which goes first) of each issuance row at least; single-worker rows take 5 and rows after a big run 3 (see IssuanceBenchmark.turns). Each row prints the medians.")
        var repeats: Int = 2

        @Option(help: "Rows of earlier runs in coupons for the issuance cases after a big run (0 skips them).")
        var earlierCoupons: Int = 10_000_000

        @Option(help: "Another couponbatch binary to measure issuance and bundles with instead of this one (e.g. an earlier release).")
        var productBinary: String?

        @Option(help: "Only issuance cases whose label contains this text.")
        var only: String?

        @Flag(help: "Only the issuance cases, without cron, codes, sweeps, imports and reports.")
        var issuanceOnly = false

        @Option(help: "Member events per second for the trigger benchmark.")
        var eventRate: Int = 1_000

        @Option(help: "Seconds the trigger benchmark sends events for (0 skips it).")
        var eventSeconds: Int = 60

        @Flag(help: "Only the trigger benchmark.")
        var eventsOnly = false

        @Option(help: "Subscribers for the bundle benchmark (each gets 4 coupons); 0 skips it.")
        var bundleSubscribers: Int = 100_000

        @Flag(help: "Only the bundle benchmark.")
        var onlyBundles = false

        @Option(help: "Expiring coupons for the sweep benchmarks (0 skips them).")
        var sweepCoupons: Int = 1_000_000

        @Option(help: "Members holding the sweep benchmarks' coupons.")
        var sweepMembers: Int = 300_000

        @Flag(help: "Only the sweep benchmarks (and the index cost), not cron, codes and issuance.")
        var onlySweeps = false

        @Option(help: "Alternating with/without pairs measuring what the sweeps' index costs issuance.")
        var indexRepeats: Int = 3

        @Option(help: "Which sweep figures (comma-separated: index, remind, delivery, expiry, history).")
        var sweepParts: String = "index,remind,delivery,expiry,history"

        @Option(help: "Rows of the members import benchmark (0 skips it).")
        var importRows: Int = 1_000_000

        @Option(help: "Coupons of the report benchmark (0 skips it).")
        var reportCoupons: Int = 10_000_000

        @Option(help: "Rows of the redemptions import benchmark, run on the report's coupons (0 skips it).")
        var backfillRows: Int = 100_000

        @Flag(help: "Only the merchant data benchmarks: members import, report, redemptions import.")
        var onlyMerchant = false

        func run() throws {
            _ = global.makeLogger()
            guard let url = global.resolvedDatabaseURL else {
                throw ValidationError("bench needs --database-url or DATABASE_URL (it clones databases from that one)")
            }
            let bench = try BenchDatabases(templateURL: url)
            print("== server: \(try bench.settings())")
            if !onlySweeps && !eventsOnly && !onlyBundles && !onlyMerchant {
                if !issuanceOnly { try Self.microBenchmarks() }
                // First, while no connection holds the bench database: issuance clones it.
                try issuance(bench)
                try bench.dropScratch()
            }
            if issuanceOnly { return }

            let connection = try global.connect()
            // Children get the URL through their environment, never their command line (ps shows that).
            setenv("DATABASE_URL", url, 1)
            let jobsDir = try Self.writeBenchJobs()
            defer { try? FileManager.default.removeItem(atPath: jobsDir) }

            if onlyBundles {
                try benchBundles(jobsDir: jobsDir, connection)
                return
            }
            if onlyMerchant {
                try Self.merchantBenchmarks(
                    importRows: importRows, backfillRows: backfillRows, reportCoupons: reportCoupons, connection)
                return
            }
            if eventSeconds > 0 {
                try EventBench.run(rate: eventRate, seconds: eventSeconds, url: url, connection)
            }
            if eventsOnly { return }

            if onlySweeps {
                try Self.prepareMembers(members, url: url, connection)
                try sweeps(jobsDir: jobsDir, url: url, connection)
                return
            }
            if sweepCoupons > 0 { try sweeps(jobsDir: jobsDir, url: url, connection) }
            try Self.merchantBenchmarks(
                importRows: importRows, backfillRows: backfillRows, reportCoupons: reportCoupons, connection)
            if bundleSubscribers > 0 { try benchBundles(jobsDir: jobsDir, connection) }
        }

        /// The sweeps' figures (issue 9) named by `--sweep-parts`.
        func sweeps(jobsDir: String, url: String?, _ connection: Connection) throws {
            let parts = Set(sweepParts.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) })
            if parts.contains("index") { try SweepBench.indexCost(jobsDir: jobsDir, url: url, repeats: indexRepeats, connection) }
            let rest = parts.intersection(["remind", "delivery", "expiry", "history"])
            if !rest.isEmpty {
                try SweepBench.run(coupons: sweepCoupons, members: sweepMembers, parts: rest, jobsDir: jobsDir, url: url, connection)
            }
        }

        /// The issuance cases of issue 12, each beside its floor (`IssueBench`).
        func issuance(_ bench: BenchDatabases) throws {
            let startup = try (0..<5).map { _ in try IssueBench.timed(["version"]).seconds }.min() ?? 0
            print(String(format: "== process start-up (couponbatch version): %.0f ms", startup * 1000))

            let measure = IssueBench(bench: bench, repeats: repeats, binary: productBinary ?? CommandLine.arguments[0])
            func selected(_ cases: [IssuanceBenchmark.Case]) -> [IssuanceBenchmark.Case] {
                guard let only else { return cases }
                return cases.filter { $0.label.contains(only) }
            }
            print("== peak RSS of couponbatch run, per_member: 1, --workers default")
            for count in [smallMembers, members] where count > 0 {
                try bench.prepareMembers(count)
                let probe = IssuanceBenchmark.cases(members: count, workers: [nil])[2]
                print(String(format: "  %9d members: %6.1f MB", count, try measure.product(probe).rssMB))
            }

            print("== issuance, \(members) members, one coupon each unless noted; fresh database, coupons never analyzed")
            print("   floors (one INSERT … SELECT, same table and indexes): plain; capped (with cap_seq) for per_member;")
            print("   3 capped coupons a member for the combo; a capped coupon with its arm by the same hash for A/B")
            print("   rows without --workers use run's default: this machine's processors, at least 2 (here \(Runner.Options.defaultWorkers))")
            IssueBench.printHeader()
            for benchCase in selected(IssuanceBenchmark.cases(members: members)) { try measure.row(benchCase) }

            if earlierCoupons > 0 {
                let runs = max(1, earlierCoupons / members)
                print("== after a big earlier run: coupons holds \(runs * members) earlier rows, VACUUM ANALYZEd as autovacuum leaves them")
                _ = try bench.makeBigDatabase(earlierRuns: runs)
                IssueBench.printHeader()
                for benchCase in selected(IssuanceBenchmark.afterBigRunCases(members: members)) { try measure.row(benchCase, big: true) }
            }
        }

        /// Cron next-time computations and code computations, in-process.
        static func microBenchmarks() throws {
            print("== cron: 1M next-time computations per expression (release build)")
            for result in CronBenchmark.run(count: 1_000_000) {
                print("  \(result.label.padding(toLength: 44, withPad: " ", startingAt: 0)) \(String(format: "%.3f", result.seconds)) s")
            }

            print("== codes: 1M codes computed")
            let codec = CouponCodec(keyring: try CodeKeyring(secret: try CodeSecret(Array("bench-secret-0123456789abcdef".utf8))))
            let codeStart = Date()
            var checksum = 0
            for id in Int64(1)...1_000_000 { checksum &+= try codec.code(for: id).utf8.count }
            let codeSeconds = Date().timeIntervalSince(codeStart)
            print("  \(Int(1_000_000 / codeSeconds)) codes/s (\(checksum / 1_000_000) chars each)")
        }

        /// Bundles against their floor: the same 4 coupons per member written by an issue job, in
        /// the same run on the same members (the machine may be shared, so only the ratio means much).
        /// Three bundle figures: without a sink; with one, so each chunk also writes its members'
        /// `bundle` notifications into the outbox (inside the measured time); and the next month,
        /// where every subscription is covered by the watermark the first month's run left. Sending
        /// notifications is not measured here (the sweep benchmark measures delivery): the bench
        /// sink's secret is unset, so the run's delivery attempt stops before sending anything.
        ///
        /// Like the issuance rows (`BenchEstimate`), each figure is the median of interleaved turns,
        /// each turn measuring the floor and every bundle figure side by side (in alternating
        /// order), and each ratio the median of the turns' own ratios: one run of each, or the
        /// fastest of each side, moved 0.2 from one run of the bench to the next on a quiet machine.
        /// Seven turns: with five, the median ratio still moved 0.1 between two runs minutes apart
        /// (single runs of the same job moved ±12% on this 2-core machine).
        func benchBundles(jobsDir benchJobs: String, _ connection: Connection) throws {
            let count = bundleSubscribers
            let jobsDir = try Self.writeBundleJobs(benchJobs)
            let binary = productBinary ?? CommandLine.arguments[0]
            let turns = max(7, repeats)
            print("== bundles: \(count) subscribers × 4 coupons; floor = an issue job writing the same 4 coupons to each member")
            print("   + outbox: the bundle job with a sink, writing one notification per member in each chunk's transaction")
            print("   next month: period 2 of every subscription, covered by the watermark the first month's run left")
            print("   (\(turns) interleaved turns; each figure the median of its turns, each ratio the median of the turns' own ratios)")
            print("   workers: 1, and run's default on this machine (\(Runner.Options.defaultWorkers))")
            print("  workers   issue s   bundle s  ratio   + outbox s  ratio   next month s  ratio   peak RSS")
            try Self.prepareMembers(count, url: global.resolvedDatabaseURL, connection)
            try connection.execute("TRUNCATE subscriptions CASCADE")
            try connection.execute(
                """
                INSERT INTO subscriptions (external_id, member_id, plan, started_at, anchor_day, paid_through)
                SELECT 'B' || m.id, m.id, 'bench-plan', '2026-11-23T09:00:00+08:00', 23, '2027-11-22' FROM members m
                """)
            try connection.execute("VACUUM ANALYZE subscriptions")
            var rows: [(deliveries: Double, notifications: Double)] = []
            for _ in 0..<max(3, repeats) { rows.append(try Self.bundleRowsFloor(connection)) }
            var floors: [Int: Double] = [:]
            var products: [Int: Double] = [:]
            // One worker, and `run`'s default --workers (this machine's processors, at least 2).
            let workerCounts = [1, Runner.Options.defaultWorkers]
            for workerCount in workerCounts {
                var issue: [Double] = []
                var bundle: [Double] = []
                var outbox: [Double] = []
                var next: [Double] = []
                var rss: [Double] = []
                func measure(_ job: String, at slot: String = "2026-11-23T02:00:00Z") throws -> Double {
                    let (seconds, megabytes) = try Self.product(
                        job: job, jobsDir: jobsDir, workers: workerCount, expected: count * 4, at: slot, binary: binary, connection)
                    rss.append(megabytes)
                    return seconds
                }
                for turn in 0..<turns {
                    var steps = ["issue", "bundle", "outbox", "next"]
                    if turn % 2 == 1 { steps.reverse() }
                    for step in steps {
                        switch step {
                        case "issue":
                            issue.append(try measure("bench-issue4"))
                        case "bundle":
                            try connection.execute(Self.clearBundleLedger)
                            bundle.append(try measure("bench-bundle"))
                        case "outbox":
                            try connection.execute(Self.clearBundleLedger)
                            outbox.append(try measure("bench-bundle-outbox"))
                            let written = try connection.query("SELECT count(*) FROM notifications WHERE kind = 'bundle'").row(0)
                                .decode(0, as: Int.self)
                            guard written == count else { throw ConfigurationError("the bundle run wrote \(written) notifications, not \(count)") }
                        default:
                            // The first month's run (untimed) leaves the watermark the next month's trusts.
                            try connection.execute(Self.clearBundleLedger)
                            _ = try measure("bench-bundle")
                            next.append(try measure("bench-bundle", at: "2026-12-23T02:00:00Z"))
                        }
                    }
                }
                let plain = BenchEstimate(floors: issue, products: bundle)
                let withOutbox = BenchEstimate(floors: issue, products: outbox)
                let nextMonth = BenchEstimate(floors: issue, products: next)
                floors[workerCount] = plain.floorSeconds
                products[workerCount] = withOutbox.productSeconds
                print(
                    String(
                        format: "  %-7d  %8.2f  %9.2f  %5.2f  %11.2f  %5.2f  %13.2f  %5.2f   %6.1f MB", workerCount, plain.floorSeconds,
                        plain.productSeconds, plain.ratio, withOutbox.productSeconds, withOutbox.ratio, nextMonth.productSeconds,
                        nextMonth.ratio, rss.max() ?? 0))
                let each = (0..<turns).map { String(format: "%.2f/%.2f/%.2f/%.2f", issue[$0], bundle[$0], outbox[$0], next[$0]) }
                print("      turns (issue/bundle/+ outbox/next month s): \(each.joined(separator: "  "))")
                fflush(nil)
            }
            // What the rows a bundle writes besides the coupons cost by themselves: the ratio's
            // floor writes none of them.
            let deliveries = BenchEstimate.median(rows.map(\.deliveries))
            let notifications = BenchEstimate.median(rows.map(\.notifications))
            print(
                String(
                    format: "  the same %d periods and %d notifications, each by one plain INSERT … SELECT (medians): %.2f s and %.2f s",
                    count, count, deliveries, notifications))
            for workerCount in workerCounts {
                let floor = floors[workerCount] ?? 0
                print(
                    String(
                        format: "  %d worker(s): issue floor + the periods %.2f s (%.2f of the floor); + the notifications too %.2f s (%.2f); bundle + outbox / that: %.2f",
                        workerCount, floor + deliveries, (floor + deliveries) / max(floor, 0.001), floor + deliveries + notifications,
                        (floor + deliveries + notifications) / max(floor, 0.001),
                        (products[workerCount] ?? 0) / max(floor + deliveries + notifications, 0.001)))
            }
        }

        /// The rows a bundle run writes besides its coupons (a period row and a notification per
        /// subscriber), each kind by one plain `INSERT … SELECT` from `subscriptions` on a clean
        /// ledger, like `floor`: seconds for each.
        static func bundleRowsFloor(_ connection: Connection) throws -> (deliveries: Double, notifications: Double) {
            try connection.execute(Self.clearBundleLedger)
            try reset(connection)
            var started = Date()
            try connection.execute(
                """
                INSERT INTO bundle_deliveries (subscription_id, period, member_id, plan, due_at, status, run_id, coupons)
                SELECT s.id, 1, s.member_id, s.plan, '2026-11-23T01:00:00Z', 'delivered', 1, 4 FROM subscriptions s
                """)
            let deliveries = Date().timeIntervalSince(started)
            started = Date()
            // The payload and coupon ids the product writes for a member (made-up ids).
            try connection.execute(
                """
                INSERT INTO notifications (job, slot, run_id, kind, member_id, openid, coupon_ids, payload, sink, zone, next_try_at)
                SELECT 'bench-bundle-outbox', '2026-11-23T02:00:00Z', 1, 'bundle', s.member_id, m.openid,
                       ARRAY[s.id * 4 - 3, s.id * 4 - 2, s.id * 4 - 1, s.id * 4],
                       '{"bundles": [{"plan": "bench-plan", "due_at": "2026-11-23T09:00:00+08:00", "period": 1, "coupons": 4}]}',
                       'bench-unsent', 'Asia/Shanghai', '2026-11-23T02:00:00Z'
                FROM subscriptions s LEFT JOIN members m ON m.id = s.member_id
                """)
            let notifications = Date().timeIntervalSince(started)
            try connection.execute(Self.clearBundleLedger)
            return (deliveries, notifications)
        }

        /// The bundle benchmark's deployment, in a folder of its own (its sinks.yaml is not the
        /// sweeps'): the issue floor, the bundle job without and with a sink, and the plan.
        static func writeBundleJobs(_ benchJobs: String) throws -> String {
            let dir = benchJobs + "/bundles"
            try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
            for file in ["templates.yaml", "plans.yaml", "bench-issue4.yaml", "bench-bundle.yaml"] {
                try? FileManager.default.removeItem(atPath: "\(dir)/\(file)")
                try FileManager.default.copyItem(atPath: "\(benchJobs)/\(file)", toPath: "\(dir)/\(file)")
            }
            try """
            name: bench-bundle-outbox
            kind: bundle
            manual_only: true
            chunk_size: 20000
            sink: bench-unsent
            """.write(toFile: "\(dir)/bench-bundle-outbox.yaml", atomically: true, encoding: .utf8)
            // Its secret variable is never set: the run's delivery attempt stops before sending.
            try """
            sinks:
              - {name: bench-unsent, type: webhook, url: "http://127.0.0.1:9/unsent", secret_env: COUPONBATCH_BENCH_UNSET_SECRET}
            """.write(toFile: "\(dir)/sinks.yaml", atomically: true, encoding: .utf8)
            return dir
        }

        static func writeBenchJobs() throws -> String {
            let dir = FileManager.default.temporaryDirectory.appendingPathComponent("couponbatch-bench-\(getpid())").path
            try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
            try """
            templates:
              - key: bench-cash
                type: cash
                off_fen: 1000
                validity: {days: 7}
              - key: bench-gift
                type: gift
                sku: BENCH-1
                value_fen: 3900
                validity: {days: 30}
            """.write(toFile: "\(dir)/templates.yaml", atomically: true, encoding: .utf8)
            try """
            name: bench-issue
            kind: issue
            manual_only: true
            segment: everyone
            chunk_size: 20000
            coupons:
              - {template: bench-cash}
            """.write(toFile: "\(dir)/bench-issue.yaml", atomically: true, encoding: .utf8)
            // The bundle benchmark: an issue job and a plan giving each member the same 4 coupons.
            try """
            name: bench-issue4
            kind: issue
            manual_only: true
            segment: everyone
            chunk_size: 20000
            coupons:
              - {template: bench-cash, quantity: 3}
              - {template: bench-gift}
            """.write(toFile: "\(dir)/bench-issue4.yaml", atomically: true, encoding: .utf8)
            try """
            name: bench-bundle
            kind: bundle
            manual_only: true
            chunk_size: 20000
            """.write(toFile: "\(dir)/bench-bundle.yaml", atomically: true, encoding: .utf8)
            try """
            plans:
              - key: bench-plan
                price_fen: 29900
                coupons: [{template: bench-cash, quantity: 3}, {template: bench-gift}]
            """.write(toFile: "\(dir)/plans.yaml", atomically: true, encoding: .utf8)
            return dir
        }

        /// Grows or shrinks `members` to `count`; seeding runs as a child process so its rate and
        /// peak memory are the command's own.
        static func prepareMembers(_ count: Int, url: String?, _ connection: Connection) throws {
            let present = try connection.query("SELECT count(*) FROM members").row(0).decode(0, as: Int.self)
            if present > count { try connection.execute("DELETE FROM members WHERE id > $1", [count]) }
            if present < count {
                let arguments = ["seed", "members", "--count", "\(count)", "--seed", "42", "--as-of", "2026-11-01"]
                let started = Date()
                let usage = try ChildProcess.run(CommandLine.arguments[0], arguments, databaseURL: url)
                let seconds = Date().timeIntervalSince(started)
                guard usage.status == 0 else { throw ConfigurationError("seeding failed with exit \(usage.status)") }
                let written = Double(count - present)
                print(
                    String(
                        format: "  seed members --count %d: %.0f members written by COPY in %.2f s (%.0f/s), peak RSS %.1f MB",
                        count, written, seconds, written / seconds, Double(usage.maxRSSKilobytes) / 1024))
            }
            try connection.execute("VACUUM ANALYZE members")
        }

        static func reset(_ connection: Connection) throws {
            try connection.execute(
                "TRUNCATE coupons, notifications, issue_holdouts, run_chunks, job_runs, job_state, template_stock, template_issued_chunks, coupon_templates")
            try connection.execute("CHECKPOINT")
        }

        static func floor(_ connection: Connection) throws -> Double {
            try reset(connection)
            let started = Date()
            try connection.execute(
                """
                INSERT INTO coupons (template_key, template_version, member_id, run_id, seq, face_value_fen, issued_at,
                                     valid_from, expires_at)
                SELECT 'bench-cash', 1, m.id, 1, 1, 1000, now(), now(), now() + interval '7 days' FROM members m
                """)
            return Date().timeIntervalSince(started)
        }

        static func product(jobsDir: String, url: String?, workers: Int, _ connection: Connection) throws -> (Double, Double) {
            let members = try connection.query("SELECT count(*) FROM members").row(0).decode(0, as: Int.self)
            return try product(job: "bench-issue", jobsDir: jobsDir, workers: workers, expected: members, connection)
        }

        /// Empties what bundle runs recorded (periods and the watermarks over them), so the next run
        /// delivers every subscription's first period again.
        static let clearBundleLedger = "TRUNCATE bundle_deliveries, bundle_watermarks"

        /// Runs `job` once on a clean ledger as a child process: its seconds and peak memory.
        static func product(
            job: String, jobsDir: String, workers: Int, expected: Int, at slot: String = "2026-11-23T02:00:00Z",
            binary: String = CommandLine.arguments[0], _ connection: Connection
        ) throws -> (Double, Double) {
            try reset(connection)
            let arguments = ["run", job, "--jobs-dir", jobsDir, "--workers", "\(workers)", "--at", slot]
            let started = Date()
            let usage = try ChildProcess.run(binary, arguments)
            let seconds = Date().timeIntervalSince(started)
            guard usage.status == 0 else { throw ConfigurationError("bench run of \(job) failed with exit \(usage.status)") }
            let issued = try connection.query("SELECT count(*) FROM coupons").row(0).decode(0, as: Int.self)
            guard issued == expected else { throw ConfigurationError("bench run of \(job) issued \(issued) coupons, not \(expected)") }
            return (seconds, Double(usage.maxRSSKilobytes) / 1024)
        }
    }
}

/// Runs a child process and reports its exit status and peak resident memory (as the child
/// measured it, `PeakMemoryReport`; wait4's rusage would count this process's peak too).
enum ChildProcess {
    struct Usage {
        let status: Int32
        let maxRSSKilobytes: Int
    }

    /// This process's environment as it is now (`environ`: the bench sets and unsets secrets
    /// between children, which `ProcessInfo.environment`, read once, did not show them), with
    /// `overrides` in place of any of the same names.
    static func childEnvironment(_ overrides: [String: String]) -> [String] {
        var entries: [String] = []
        var cursor = environ
        while let entry = cursor.pointee {
            let text = String(cString: entry)
            let name = text.split(separator: "=", maxSplits: 1).first.map(String.init) ?? text
            if overrides[name] == nil { entries.append(text) }
            cursor += 1
        }
        return entries + overrides.map { "\($0.key)=\($0.value)" }
    }

    /// `databaseURL` reaches the child through its environment, never its command line (ps shows that).
    /// Only the child's: setting it in this process's environment made a later `connect()` here
    /// follow the last child to a scratch database, dropped by then (a `make bench` ended with
    /// exit 69 right after the issuance rows).
    static func run(_ executable: String, _ arguments: [String], databaseURL: String? = nil) throws -> Usage {
        let argv = ([executable] + arguments).map { strdup($0) } + [nil]
        defer { argv.forEach { free($0) } }
        let peakFile = FileManager.default.temporaryDirectory
            .appendingPathComponent("couponbatch-peak-\(getpid())-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: peakFile) }
        var overrides = [PeakMemoryReport.variable: peakFile]
        if let databaseURL { overrides["DATABASE_URL"] = databaseURL }
        let envp = childEnvironment(overrides).map { strdup($0) } + [nil]
        defer { envp.forEach { free($0) } }
        var pid: pid_t = 0
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0)
        let spawned = posix_spawn(&pid, executable, &actions, nil, argv, envp)
        guard spawned == 0 else { throw ConfigurationError("cannot start \(executable): error \(spawned)") }
        var status: Int32 = 0
        var usage = rusage()
        _ = wait4(pid, &status, 0, &usage)
        let exitStatus = (status & 0x7f) == 0 ? (status >> 8) & 0xff : 128 + (status & 0x7f)
        // A child that is not couponbatch, or one killed before its exit handlers ran, reports
        // nothing: then the rusage figure, an upper bound.
        let reported = (try? String(contentsOfFile: peakFile, encoding: .utf8)).flatMap { Int($0) }
        return Usage(status: exitStatus, maxRSSKilobytes: reported ?? usage.ru_maxrss)
    }
}
