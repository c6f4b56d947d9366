import Foundation
import Logging
import Postgres

/// What a job kind does, as the engine drives it. The engine owns claiming, leases, chunk
/// transactions, checkpoints and fencing; a kind only plans chunks and does one chunk's work.
public protocol JobExecutor: Sendable {
    /// Decides the run's chunks. Called once per run, on its first start; the plan is stored in
    /// the run's checkpoint so a resumed run works through exactly the same chunks.
    func plan(_ context: RunContext, _ connection: Connection) throws -> RunPlan

    /// Does one chunk's work inside `transaction`. The engine then records the chunk, fenced by
    /// (run id, attempt), in the same transaction, and commits.
    func execute(chunk: Int, of plan: RunPlan, _ context: RunContext, in transaction: Connection) throws -> RunCounts

    /// Called once when every chunk has committed; returns a one-line note for the run, if any.
    func finish(_ plan: RunPlan, counts: RunCounts, _ context: RunContext, _ connection: Connection) throws -> String?

    /// What a run would do, writing nothing.
    func dryRun(_ context: RunContext, _ connection: Connection) throws -> DryRunReport
}

extension JobExecutor {
    public func finish(_ plan: RunPlan, counts: RunCounts, _ context: RunContext, _ connection: Connection) throws
        -> String?
    {
        nil
    }
}

/// Numbers a run reports, summed over its chunks (`members_scanned`, `coupons_issued`, …).
public typealias RunCounts = [String: Int64]

extension Dictionary where Key == String, Value == Int64 {
    /// Adds another chunk's counts.
    public mutating func add(_ other: RunCounts) {
        for (key, value) in other { self[key, default: 0] += value }
    }
}

/// The chunks of a run and whatever the kind needs to redo them identically after a crash.
public struct RunPlan: Codable, Sendable, Equatable {
    /// Half-open ranges of whatever the kind splits on (member ids for issuance).
    public struct Chunk: Codable, Sendable, Equatable {
        public var lower: Int64
        public var upper: Int64
        public init(lower: Int64, upper: Int64) {
            self.lower = lower
            self.upper = upper
        }
    }

    public var chunks: [Chunk]
    /// The kind's own frozen inputs (JSON text), e.g. a resolved segment and template versions.
    public var payload: String?
    /// False when chunks must commit in order on one worker (e.g. stock may run out and
    /// members are served lowest id first).
    public var parallel: Bool

    public init(chunks: [Chunk], payload: String? = nil, parallel: Bool = true) {
        self.chunks = chunks
        self.payload = payload
        self.parallel = parallel
    }

    enum CodingKeys: String, CodingKey { case chunks, payload, parallel }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        chunks = try container.decode([Chunk].self, forKey: .chunks)
        payload = try container.decodeIfPresent(String.self, forKey: .payload)
        parallel = try container.decodeIfPresent(Bool.self, forKey: .parallel) ?? true
    }

    /// Splits `lower..<upper` into chunks of `size`.
    public static func ranges(from lower: Int64, to upper: Int64, size: Int64) -> [Chunk] {
        guard upper > lower, size > 0 else { return [] }
        return stride(from: lower, to: upper, by: Int(size)).map { Chunk(lower: $0, upper: Swift.min($0 + size, upper)) }
    }
}

/// The lines a dry run prints (and its JSON form).
public struct DryRunReport: Sendable, Equatable, Codable {
    public struct Line: Sendable, Equatable, Codable {
        public var label: String
        public var value: String
        public init(_ label: String, _ value: String) {
            self.label = label
            self.value = value
        }
    }
    public var lines: [Line]
    public init(lines: [Line]) { self.lines = lines }
}

/// Everything a kind needs to know about the run it works on.
public struct RunContext: Sendable {
    public let run: ClaimedRun
    public let job: JobDefinition
    public let deployment: Deployment
    public let logger: Logger
    /// Where `sql:` segments run (a read-only role on a connection of its own); nil only in
    /// tests that exercise a kind without a runner.
    public let segmentSandbox: SegmentSandbox?
    /// Opens another connection to the run's database, for a kind that reads ahead beside its
    /// chunks' transactions (bundles); nil in dry runs and in tests without a runner.
    public let connect: (@Sendable () throws -> Connection)?
    /// What the run's workers share for the length of the run (one per run and attempt).
    public let scratch: RunScratch

    public init(
        run: ClaimedRun, job: JobDefinition, deployment: Deployment, logger: Logger,
        segmentSandbox: SegmentSandbox? = nil, connect: (@Sendable () throws -> Connection)? = nil
    ) {
        self.run = run
        self.job = job
        self.deployment = deployment
        self.logger = logger
        self.segmentSandbox = segmentSandbox
        self.connect = connect
        self.scratch = RunScratch()
    }
}

/// A kind's own state shared by the workers of one run, dropped with the run: one object per key,
/// made by the first worker that asks.
public final class RunScratch: @unchecked Sendable {
    private let lock = NSLock()
    private var objects: [String: AnyObject] = [:]

    public init() {}

    func object<T: AnyObject>(_ key: String, make: () -> T) -> T {
        lock.lock()
        defer { lock.unlock() }
        if let known = objects[key] as? T { return known }
        let made = make()
        objects[key] = made
        return made
    }
}

/// Picks the executor for a job; the engine's tests pass kinds of their own.
public typealias ExecutorResolver = @Sendable (JobDefinition) -> (any JobExecutor)?
