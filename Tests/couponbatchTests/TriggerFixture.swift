import Foundation
import Postgres
import TestSupport

/// An issuance fixture with member events and schedulers: events go in with the same INSERT the
/// merchant's systems use, schedulers run as the built binary.
extension IssueFixture {
    /// Records events; each tuple is (external id, member, type, amount fen, occurred seconds ago).
    func addEvents(_ events: [(String, Int64, String, Int64?, Int)]) throws {
        let connection = try db.connect()
        try connection.transaction { tx in
            for (externalID, member, type, amount, ago) in events {
                try tx.execute(
                    """
                    INSERT INTO member_events (external_id, member_id, type, amount_fen, occurred_at)
                    VALUES ($1, $2, $3, $4, now() - make_interval(secs => $5)) ON CONFLICT (external_id) DO NOTHING
                    """, [externalID, member, type, amount, Int64(ago)])
            }
        }
    }

    /// `payment` events of `amount` for each member, with external ids `prefix-<member>`.
    func addPayments(_ members: [Int64], amountFen: Int64 = 20_000, prefix: String = "pay") throws {
        try addEvents(members.map { ("\(prefix)-\($0)", $0, "payment", amountFen, 0) })
    }

    func startScheduler(_ extra: [String] = []) throws -> RunningCommand {
        try Couponbatch.start(["scheduler", "--event-poll-seconds", "0.5", "--poll-seconds", "1"] + extra + baseArguments)
    }

    /// Waits until `condition` holds, at most `seconds`; returns whether it held.
    func waitUntil(seconds: Double, _ condition: () throws -> Bool) rethrows -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            if try condition() { return true }
            usleep(100_000)
        }
        return try condition()
    }

    /// Events of `job` with no outcome yet.
    func unconsumed(job: String) throws -> Int64 {
        try int(
            "SELECT count(*) FROM member_events e WHERE NOT EXISTS (SELECT 1 FROM trigger_outcomes o WHERE o.event_id = e.id AND o.job = $1)",
            [job])
    }

    /// Outcome of each event of `job`, by external id.
    func outcomes(job: String) throws -> [String: String] {
        var result: [String: String] = [:]
        for row in try rows(
            "SELECT e.external_id, o.outcome FROM trigger_outcomes o JOIN member_events e ON e.id = o.event_id WHERE o.job = $1",
            [job])
        {
            result[row["external_id"] ?? ""] = row["outcome"]
        }
        return result
    }
}

/// A trigger job file.
func triggerJob(
    _ name: String, event: String = "payment", filter: String = "", within: String = "1h", segment: String = "everyone",
    _ offer: String
) -> String {
    """
    name: \(name)
    kind: issue
    trigger: {event: \(event)\(filter.isEmpty ? "" : ", where: \(filter)"), within: \(within)}
    segment: \(segment)
    \(offer)
    """
}
