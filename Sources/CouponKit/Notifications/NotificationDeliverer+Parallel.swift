import Foundation
import Postgres
import Synchronization

extension NotificationDeliverer {
    /// Delivers `sink`'s due notifications with `workers` deliverers side by side, each on a
    /// connection and thread of its own (the extra ones connect through `connect`).
    ///
    /// Why: one deliverer waits in turn on PostgreSQL (claim, mark), on its own encoding and on
    /// the receiver; several overlap those waits. Their claims are the same `FOR UPDATE SKIP
    /// LOCKED` claims with a token and a lease as any deliverers beside each other, so none sends
    /// what another holds, and at-least-once is unchanged.
    public func deliver(
        sink name: String, now: Date? = nil, workers: Int, budgetSeconds: Double, _ connection: Connection,
        connect: @escaping @Sendable () throws -> Connection
    ) throws -> Tally {
        guard workers > 1 else { return try deliver(sink: name, now: now, budgetSeconds: budgetSeconds, connection) }
        let results = Mutex<(tally: Tally, error: (any Error)?)>((Tally(), nil))
        let group = DispatchGroup()
        for _ in 1..<workers {
            group.enter()
            WorkerThread.start { [self] in
                defer { group.leave() }
                do {
                    let tally = try deliver(sink: name, now: now, budgetSeconds: budgetSeconds, try connect())
                    results.withLock { $0.tally.add(tally) }
                } catch {
                    results.withLock { if $0.error == nil { $0.error = error } }
                }
            }
        }
        var mine = Tally()
        var myError: (any Error)?
        do { mine = try deliver(sink: name, now: now, budgetSeconds: budgetSeconds, connection) } catch { myError = error }
        group.wait()
        if let myError { throw myError }
        let (tally, error) = results.withLock { ($0.tally, $0.error) }
        if let error { throw error }
        mine.add(tally)
        return mine
    }
}
