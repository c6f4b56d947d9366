import Foundation
import Postgres

/// Reads a bundle chunk's subscriptions, decides its periods and builds its write ahead, on a
/// connection of its own, while the worker's connection writes the chunk before it. With one worker the server
/// otherwise waits for the read (about 20 ms of its CPU for 20,000 subscriptions) and then for
/// the runner's deciding (20-40 ms) before each write.
///
/// A read made ahead, outside the chunk's transaction, is what the chunk's own read would have
/// seen had it run a little earlier; the chunk's read is a statement of its own under READ
/// COMMITTED anyway, so the write never relied on nothing changing since the read. What can change
/// in between, and why it is safe:
/// - Another run records some of the chunk's periods: the stale read under-counts what is settled
///   (periods are only ever added or settled, never removed), so the write's plain INSERT collides
///   on the periods' primary key, or finds a period waiting for stock settled meanwhile, and the
///   chunk is redone in its savepoint with a fresh read inside the transaction (every subscription
///   probed). A stale read never counts a period settled that is not.
/// - A subscription's terms change (renewal, pause, cancel) or one is created: as with a read in
///   the transaction that came just before the change. The change's transaction was not finished
///   when the run was planned (the read ahead starts after the plan), so its `terms_xid` or
///   `created_xid` is not below the horizons this run's watermark records: the next run probes it.
/// - Stock: only runs without finite stock read ahead (with finite stock, chunks go in member
///   order on one worker and the stock left is read in the chunk's transaction).
/// - Fencing, the lease, SIGKILL: the read ahead writes nothing and holds no lock; the chunk's
///   transaction is fenced at its commit as before, so a runner that lost its run commits nothing.
/// - A broken connection (a restart): the read ahead is dropped and the chunk reads in its
///   transaction, which reconnects as any chunk does.
///
/// Chunks are taken in ascending order (the engine's list is reversed and popped), so after
/// taking chunk k a worker reads chunk k+1 ahead unless a worker or another read took it. A chunk
/// whose read ahead is in progress when a worker takes it waits for it.
final class BundlePrefetch: @unchecked Sendable {
    struct Ahead {
        /// What the chunk's read and periods count (`BundleExecutor.plannedCounts`).
        var counts: RunCounts
        var tally: BundleExecutor.PackTally
        /// The chunk's write statement, built too (nil when nothing is due).
        var write: BundleChunkStatement.PreparedWrite?
    }

    private enum Slot {
        case reading
        case ready(Ahead)
    }

    private let condition = NSCondition()
    private var slots: [Int: Slot] = [:]
    private var claimed: Set<Int> = []
    /// Connections of finished reads, kept for the next (one per read in flight at most).
    private var idle: [Connection] = []
    private let connect: @Sendable () throws -> Connection
    /// How long a worker waits for a chunk's read ahead before reading it itself.
    static let waitSeconds: Double = 10

    init(connect: @escaping @Sendable () throws -> Connection) { self.connect = connect }

    /// The run's prefetcher: one per run (and attempt), shared by its workers.
    static func of(_ context: RunContext) -> BundlePrefetch? {
        guard let connect = context.connect else { return nil }
        return context.scratch.object("bundle.prefetch") { BundlePrefetch(connect: connect) }
    }

    /// Marks `chunk` taken by a worker and returns its read made ahead, if one was (waiting for a
    /// read in progress). Each read ahead is handed out once: a chunk tried again reads in its
    /// transaction.
    func take(_ chunk: Int) -> Ahead? {
        condition.lock()
        defer { condition.unlock() }
        claimed.insert(chunk)
        // Bounded: a read ahead stuck on a connection that went away must not hold the chunk
        // (the chunk's own statements are under the worker's timeout and watchdog; this one is not).
        let deadline = Date().addingTimeInterval(Self.waitSeconds)
        while case .reading = slots[chunk], condition.wait(until: deadline) {}
        defer { slots[chunk] = nil }
        if case .ready(let ahead) = slots[chunk] { return ahead }
        return nil
    }

    /// Starts reading `chunk` ahead on a thread of its own, unless it was taken or is being read.
    func start(_ chunk: Int, read: @escaping @Sendable (Connection) throws -> Ahead) {
        condition.lock()
        guard !claimed.contains(chunk) else {
            condition.unlock()
            return
        }
        claimed.insert(chunk)
        slots[chunk] = .reading
        condition.unlock()
        WorkerThread.start { [self] in
            var ahead: Ahead?
            var kept: Connection?
            do {
                let connection = try takeIdle() ?? open()
                ahead = try read(connection)
                kept = connection
            } catch {
                // Dropped (with its connection): the chunk reads in its transaction.
            }
            condition.lock()
            if let kept { idle.append(kept) }
            // Unless the worker that took the chunk stopped waiting for it.
            if slots[chunk] != nil { slots[chunk] = ahead.map { .ready($0) } }
            condition.broadcast()
            condition.unlock()
        }
    }

    /// Waits until `chunk` is not being read ahead, without taking it (for tests that change the
    /// database between the read ahead and the chunk).
    func waitForRead(_ chunk: Int) {
        condition.lock()
        defer { condition.unlock() }
        while case .reading = slots[chunk] { condition.wait() }
    }

    private func takeIdle() -> Connection? {
        condition.lock()
        defer { condition.unlock() }
        // One that broke (a restart) is dropped; the read then opens a new one.
        while let connection = idle.popLast() {
            if connection.isOpen { return connection }
        }
        return nil
    }

    private func open() throws -> Connection {
        let connection = try connect()
        // As in the chunks' transactions: compiling the read cost far more than running it.
        try connection.executeScript("SET jit = off; SET statement_timeout = '60s'")
        return connection
    }
}
