import Foundation
import Postgres
import Synchronization

/// What the threads driving one run share: the chunks left, the totals so far, why the run must
/// stop if it must, and the chunks in flight (for the watchdog that turns "no progress" into
/// "stop renewing the lease").
final class RunState: Sendable {
    struct Snapshot: Sendable {
        var todo: [Int] = []
        var done = 0
        var counts: RunCounts = [:]
        /// A chunk failed for good; the run fails.
        var failure: String?
        /// Another runner owns the run now.
        var lost = false
        /// The job's `timeout` was reached.
        var timedOut = false
        /// The database stayed away past the outage budget; the run is left for another runner.
        var outage: String?
        /// A chunk made no progress for a lease length; the lease is left to lapse.
        var stalled: String?
        /// When each worker's current chunk began, and how to cut its socket.
        var inFlight: [Int: InFlight] = [:]

        /// True once the run must stop taking chunks.
        var mustStop: Bool { failure != nil || lost || timedOut || outage != nil || stalled != nil }
    }

    struct InFlight: Sendable {
        var since: Date
        var breaker: SocketBreaker
    }

    private let mutex: Mutex<Snapshot>

    init() { mutex = Mutex(Snapshot()) }

    func withLock<R: Sendable>(_ body: (inout Snapshot) -> R) -> R { mutex.withLock { body(&$0) } }

    var snapshot: Snapshot { withLock { $0 } }

    func begin(worker: Int, breaker: SocketBreaker) {
        withLock { $0.inFlight[worker] = InFlight(since: Date(), breaker: breaker) }
    }

    func end(worker: Int) { withLock { _ = $0.inFlight.removeValue(forKey: worker) } }
}
