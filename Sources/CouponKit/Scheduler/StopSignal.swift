import Dispatch
import Foundation
import Synchronization

/// Asks long-running work to stop between chunks (SIGTERM, SIGINT), and wakes sleepers early.
public final class StopSignal: Sendable {
    private let requested = Atomic<Bool>(false)
    private let wakeup = DispatchSemaphore(value: 0)

    public init() {}

    public var isRequested: Bool { requested.load(ordering: .acquiring) }

    public func request() {
        requested.store(true, ordering: .releasing)
        wakeup.signal()
    }

    /// Wakes a `sleep` early without stopping (a run finished, files changed).
    public func poke() { wakeup.signal() }

    /// Sleeps up to `seconds`, returning early on `request()` or `poke()`.
    public func sleep(seconds: Double) {
        guard !isRequested, seconds > 0 else { return }
        _ = wakeup.wait(timeout: .now() + .milliseconds(Int(min(seconds, 86_400) * 1000)))
    }
}

/// Connections a runner may hold for chunk work at once (`--workers`).
public final class WorkerTokens: Sendable {
    private let semaphore: DispatchSemaphore
    public let count: Int

    public init(count: Int) {
        self.count = max(1, count)
        semaphore = DispatchSemaphore(value: self.count)
    }

    public func acquire() { semaphore.wait() }
    public func tryAcquire() -> Bool { semaphore.wait(timeout: .now()) == .success }
    public func release() { semaphore.signal() }
}

/// Starts workers on threads of their own. Workers block on libpq for long stretches; GCD's
/// pools add a thread for blocked work only after about a second, which made short runs crawl,
/// so each worker gets a real thread at once. DispatchGroups still join them.
public enum WorkerThread {
    public static func start(_ body: @escaping @Sendable () -> Void) {
        let thread = Thread(block: body)
        thread.stackSize = 4 << 20
        thread.start()
    }
}
