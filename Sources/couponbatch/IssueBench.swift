import CouponKit
import Foundation
import Postgres

/// Measures the issuance cases: each product figure (a `couponbatch run` child process, start-up
/// included) beside its own floor statement, in turns, each on a fresh clone (or on the big
/// database reset to its earlier runs); the medians of the turns are printed (`BenchEstimate`).
final class IssueBench {
    let bench: BenchDatabases
    let repeats: Int
    /// The couponbatch binary measured.
    let binary: String

    init(bench: BenchDatabases, repeats: Int, binary: String) {
        self.bench = bench
        self.repeats = repeats
        self.binary = binary
    }

    struct Product {
        let seconds: Double
        let rssMB: Double
    }

    static func printHeader() {
        print("  (each figure the median of its turns; ratio: the median of the turns' own ratios)")
        print("  case                                               floor s  couponbatch s  ratio  goal     peak RSS")
    }

    func row(_ benchCase: IssuanceBenchmark.Case, big: Bool = false) throws {
        // Every row measures its own floor beside its figures, in turns (floor, product, then
        // product, floor, …): on a machine others share, the load changes within minutes, and a
        // floor measured for an earlier row would be unfair to this one (or kind to it).
        var products: [Product] = []
        var floors: [Double] = []
        for turn in 0..<IssuanceBenchmark.turns(for: benchCase, repeats: repeats, big: big) {
            if turn % 2 == 0 {
                floors.append(try floor(benchCase.floor, big: big))
                products.append(try product(benchCase, big: big))
            } else {
                products.append(try product(benchCase, big: big))
                floors.append(try floor(benchCase.floor, big: big))
            }
        }
        let estimate = BenchEstimate(floors: floors, products: products.map(\.seconds))
        print(
            String(
                format: "  %@ %7.2f  %13.2f  %5.2f  ≤%.2f %@  %5.1f MB",
                benchCase.label.padding(toLength: 50, withPad: " ", startingAt: 0), estimate.floorSeconds,
                estimate.productSeconds, estimate.ratio, benchCase.goal, estimate.ratio <= benchCase.goal ? "ok  " : "OVER",
                products.map(\.rssMB).max() ?? 0))
        if products.count > 1 {
            // Every turn, so a reader sees how far one pair moves from the next under this load.
            let turns = zip(floors, products).map { String(format: "%.2f/%.2f", $0, $1.seconds) }
            print("      turns (floor/couponbatch s): \(turns.joined(separator: "  "))")
        }
        fflush(nil)  // progress shows when the output goes to a file
    }

    private func database(big: Bool) throws -> String {
        if big {
            try bench.resetBig()
            return bench.url(BenchDatabases.bigName)
        }
        return try bench.fresh(BenchDatabases.freshName)
    }

    func floor(_ floor: IssuanceBenchmark.Floor, big: Bool) throws -> Double {
        let connection = try Connection.connect(url: try database(big: big))
        let started = Date()
        try connection.execute(floor.sql)
        return Date().timeIntervalSince(started)
    }

    func product(_ benchCase: IssuanceBenchmark.Case, big: Bool = false) throws -> Product {
        let url = try database(big: big)
        let jobsDir = FileManager.default.temporaryDirectory.appendingPathComponent("couponbatch-bench-\(getpid())").path
        try FileManager.default.createDirectory(atPath: jobsDir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: jobsDir) }
        try benchCase.templates.write(toFile: "\(jobsDir)/templates.yaml", atomically: true, encoding: .utf8)
        try benchCase.job.write(toFile: "\(jobsDir)/bench-issue.yaml", atomically: true, encoding: .utf8)
        var arguments = ["run", "bench-issue", "--jobs-dir", jobsDir, "--at", "2026-11-23T02:00:00Z"]
        if let workers = benchCase.workers { arguments += ["--workers", "\(workers)"] }
        let started = Date()
        let usage = try ChildProcess.run(binary, arguments, databaseURL: url)
        let seconds = Date().timeIntervalSince(started)
        guard usage.status == 0 else { throw ConfigurationError("bench run (\(benchCase.label)) failed with exit \(usage.status)") }
        let connection = try Connection.connect(url: url)
        let issued = try connection.query(
            "SELECT count(*) FROM coupons WHERE run_id < $1", [IssuanceBenchmark.earlierRunBase]
        ).row(0).decode(0, as: Int.self)
        guard issued == benchCase.expectedCoupons else {
            throw ConfigurationError("bench run (\(benchCase.label)) issued \(issued) coupons, not \(benchCase.expectedCoupons)")
        }
        return Product(seconds: seconds, rssMB: Double(usage.maxRSSKilobytes) / 1024)
    }

    /// Runs couponbatch with `arguments`, timed.
    static func timed(_ arguments: [String]) throws -> (seconds: Double, status: Int32) {
        let started = Date()
        let usage = try ChildProcess.run(CommandLine.arguments[0], arguments, databaseURL: nil)
        return (Date().timeIntervalSince(started), usage.status)
    }
}
