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

        @Option(help: "Measurements of each figure and of each floor; the fastest of each is printed.")
        var repeats: Int = 2

        @Option(help: "Rows of earlier runs in coupons for the cases after a big run (0 skips them).")
        var earlierCoupons: Int = 10_000_000

        @Option(help: "Another couponbatch binary to measure instead of this one (e.g. an earlier release).")
        var productBinary: String?

        @Option(help: "Only cases whose label contains this text.")
        var only: String?

        @Flag(help: "Skip the cron and code micro-benchmarks.")
        var issuanceOnly = false

        func run() throws {
            _ = global.makeLogger()
            guard let url = global.resolvedDatabaseURL else {
                throw ValidationError("bench needs --database-url or DATABASE_URL (it clones databases from that one)")
            }
            let bench = try BenchDatabases(templateURL: url)
            print("== server: \(try bench.settings())")

            if !issuanceOnly { try Self.microBenchmarks() }

            let startup = try (0..<5).map { _ in try IssueBench.timed(["version"]).seconds }.min() ?? 0
            print(String(format: "== process start-up (couponbatch version): %.0f ms", startup * 1000))

            let measure = IssueBench(bench: bench, repeats: repeats, binary: productBinary ?? CommandLine.arguments[0])
            func selected(_ cases: [IssuanceBenchmark.Case]) -> [IssuanceBenchmark.Case] {
                guard let only else { return cases }
                return cases.filter { $0.label.contains(only) }
            }
            print("== peak RSS of couponbatch run, per_member: 1, --workers default")
            var rss: [Int: Double] = [:]
            for count in [smallMembers, members] where count > 0 {
                try bench.prepareMembers(count)
                let probe = IssuanceBenchmark.cases(members: count, workers: [nil])[2]
                rss[count] = try measure.product(probe).rssMB
                print(String(format: "  %9d members: %6.1f MB", count, rss[count] ?? 0))
            }

            print("== issuance, \(members) members, one coupon each unless noted; fresh database, coupons never analyzed")
            print("   floors (one INSERT … SELECT, same table and indexes): plain; capped (with cap_seq) for per_member;")
            print("   3 capped coupons a member for the combo; a capped coupon with its arm by the same hash for A/B")
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
    }
}

/// Runs a child process and reports its exit status and peak resident memory (wait4's rusage).
enum ChildProcess {
    struct Usage {
        let status: Int32
        let maxRSSKilobytes: Int
    }

    /// `databaseURL` reaches the child through its environment, never its command line (ps shows that).
    static func run(_ executable: String, _ arguments: [String], databaseURL: String?) throws -> Usage {
        if let databaseURL { setenv("DATABASE_URL", databaseURL, 1) }
        let argv = ([executable] + arguments).map { strdup($0) } + [nil]
        defer { argv.forEach { free($0) } }
        var pid: pid_t = 0
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0)
        let spawned = posix_spawn(&pid, executable, &actions, nil, argv, environ)
        guard spawned == 0 else { throw ConfigurationError("cannot start \(executable): error \(spawned)") }
        var status: Int32 = 0
        var usage = rusage()
        _ = wait4(pid, &status, 0, &usage)
        let exitStatus = (status & 0x7f) == 0 ? (status >> 8) & 0xff : 128 + (status & 0x7f)
        return Usage(status: exitStatus, maxRSSKilobytes: usage.ru_maxrss)
    }
}
