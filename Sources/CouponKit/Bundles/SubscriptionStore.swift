import Foundation
import Postgres

/// One subscription as `subscriptions list` and `show` print it.
public struct SubscriptionSummary: Sendable, Equatable, Codable {
    public var id: Int64
    public var externalID: String
    public var memberID: Int64
    public var plan: String
    /// active | paused | cancelled | ended, at the time asked about.
    public var status: String
    public var startedAt: Date
    public var anchorDay: Int
    public var paidThrough: CalendarDay
    public var pausedFrom: Date?
    public var pausedUntil: Date?
    public var cancelledAt: Date?
    public var endsOn: CalendarDay?
    /// The last period delivered or skipped (0: none yet).
    public var settledPeriod: Int
    /// When the next period is due, if any is left in the paid term.
    public var nextDueAt: Date?

    var terms: SubscriptionTerms {
        SubscriptionTerms(
            startedAt: startedAt, paidThrough: paidThrough,
            pause: pausedFrom.flatMap { from in pausedUntil.map { DateInterval(start: from, end: max(from, $0)) } },
            endsOn: endsOn)
    }
}

/// A change recorded for a subscription.
public struct SubscriptionEvent: Sendable, Equatable, Codable {
    public var at: Date
    public var action: String
    public var detail: String
}

/// A settled (or waiting) period of a subscription.
public struct BundleDeliveryRecord: Sendable, Equatable, Codable {
    public var period: Int
    public var dueAt: Date
    public var status: String
    public var runID: Int64
    public var coupons: Int
    public var recordedAt: Date
}

/// Reads and changes subscriptions: `subscriptions list | show | pause | resume | cancel | renew`.
/// Every change is one transaction that also records a `subscription_events` row.
public struct SubscriptionStore: Sendable {
    public let plans: [String: BundlePlan]

    public init(plans: [String: BundlePlan]) { self.plans = plans }

    static let columns = """
        s.id, s.external_id, s.member_id, s.plan, s.status, s.started_at, s.anchor_day, s.paid_through::text AS paid_through,
        s.paused_from, s.paused_until, s.cancelled_at, s.ends_on::text AS ends_on,
        coalesce((SELECT max(d.period) FROM bundle_deliveries d
                  WHERE d.subscription_id = s.id AND d.status <> 'waiting_stock'), 0) AS settled
        """

    /// Subscriptions by id, optionally of one plan and with one status at `now`.
    public func list(plan: String?, status: String?, limit: Int, now: Date, _ connection: Connection) throws
        -> [SubscriptionSummary]
    {
        var result: [SubscriptionSummary] = []
        try connection.forEachRow(
            "SELECT \(Self.columns) FROM subscriptions s WHERE $1::text IS NULL OR s.plan = $1 ORDER BY s.id", [plan]
        ) { row in
            guard result.count < limit else { return }
            let summary = try summary(row, now: now)
            if status == nil || summary.status == status { result.append(summary) }
        }
        return result
    }

    public func find(_ id: Int64, now: Date, _ connection: Connection) throws -> SubscriptionSummary {
        guard let row = try connection.query("SELECT \(Self.columns) FROM subscriptions s WHERE s.id = $1", [id]).first
        else { throw InputError("no subscription with id \(id)") }
        return try summary(row, now: now)
    }

    public func events(_ id: Int64, _ connection: Connection) throws -> [SubscriptionEvent] {
        try connection.query(
            "SELECT at, action, detail::text FROM subscription_events WHERE subscription_id = $1 ORDER BY id", [id]
        ).rows.map { SubscriptionEvent(at: try $0.decode(0), action: try $0.decode(1), detail: try $0.decode(2)) }
    }

    public func deliveries(_ id: Int64, _ connection: Connection) throws -> [BundleDeliveryRecord] {
        try connection.query(
            """
            SELECT period, due_at, status, run_id, coupons, recorded_at FROM bundle_deliveries
            WHERE subscription_id = $1 ORDER BY period
            """, [id]
        ).rows.map {
            BundleDeliveryRecord(
                period: try $0.decode(0), dueAt: try $0.decode(1), status: try $0.decode(2), runID: try $0.decode(3),
                coupons: try $0.decode(4), recordedAt: try $0.decode(5))
        }
    }

    // MARK: Changes

    /// Periods due from `now` until the start of `until` (in the plan's zone) are skipped.
    public func pause(_ id: Int64, until: CalendarDay, now: Date, _ connection: Connection) throws -> SubscriptionSummary {
        try change(id, now: now, connection) { current, plan, tx in
            guard current.status != "ended" else { throw InputError("subscription \(id) has ended; nothing to pause") }
            let end = ZonedCivilTime.instant(day: until, minutes: 0, in: plan.schedule.timeZone)
            guard end > now else {
                throw InputError("--until \(until) is not after now (\(Self.iso(now))); a pause ends in the future")
            }
            try tx.execute(
                "UPDATE subscriptions SET paused_from = $2, paused_until = $3, updated_at = now() WHERE id = $1",
                [id, now, end])
            return ("paused", ["from": Self.iso(now), "until": Self.iso(end)])
        }
    }

    /// Ends the current pause now.
    public func resume(_ id: Int64, now: Date, _ connection: Connection) throws -> SubscriptionSummary {
        try change(id, now: now, connection) { current, _, tx in
            guard let until = current.pausedUntil, until > now, let from = current.pausedFrom else {
                throw InputError("subscription \(id) is not paused")
            }
            // A pause that has not begun yet is withdrawn whole.
            let end = max(from, now)
            try tx.execute("UPDATE subscriptions SET paused_until = $2, updated_at = now() WHERE id = $1", [id, end])
            return ("resumed", ["at": Self.iso(now), "was_until": Self.iso(until)])
        }
    }

    /// Stops deliveries after the paid term as it stands now (`ends_on`); no later renewal or
    /// import extends it.
    public func cancel(_ id: Int64, now: Date, _ connection: Connection) throws -> SubscriptionSummary {
        try change(id, now: now, connection) { current, _, tx in
            guard current.cancelledAt == nil else { throw InputError("subscription \(id) is already cancelled") }
            try tx.execute(
                """
                UPDATE subscriptions SET status = 'cancelled', cancelled_at = $2, ends_on = paid_through, updated_at = now()
                WHERE id = $1
                """, [id, now])
            return ("cancelled", ["at": Self.iso(now), "ends_on": current.paidThrough.description])
        }
    }

    /// Extends the paid term to `through`.
    public func renew(_ id: Int64, through: CalendarDay, now: Date, _ connection: Connection) throws
        -> SubscriptionSummary
    {
        try change(id, now: now, connection) { current, _, tx in
            guard current.cancelledAt == nil else {
                throw InputError("subscription \(id) was cancelled; import a new subscription instead of renewing it")
            }
            guard through > current.paidThrough else {
                throw InputError("--through \(through) does not extend paid_through \(current.paidThrough)")
            }
            try tx.execute(
                "UPDATE subscriptions SET paid_through = $2::date, updated_at = now() WHERE id = $1",
                [id, through.description])
            return ("renewed", ["from": current.paidThrough.description, "through": through.description])
        }
    }

    private func change(
        _ id: Int64, now: Date, _ connection: Connection,
        _ body: (SubscriptionSummary, BundlePlan, Connection) throws -> (String, [String: String])
    ) throws -> SubscriptionSummary {
        try connection.transaction { tx in
            guard let row = try tx.query("SELECT \(Self.columns) FROM subscriptions s WHERE s.id = $1 FOR UPDATE", [id]).first
            else { throw InputError("no subscription with id \(id)") }
            let current = try summary(row, now: now)
            guard let plan = plans[current.plan] else {
                throw ConfigurationError("subscription \(id): plan \(current.plan) is not defined in plans.yaml")
            }
            let (action, detail) = try body(current, plan, tx)
            try tx.execute(
                "INSERT INTO subscription_events (subscription_id, at, action, detail) VALUES ($1, $2, $3, $4::jsonb)",
                [id, now, action, PostgresJSON(detail)])
            guard let updated = try tx.query("SELECT \(Self.columns) FROM subscriptions s WHERE s.id = $1", [id]).first else {
                throw InputError("no subscription with id \(id)")
            }
            return try summary(updated, now: now)
        }
    }

    // MARK: Reading rows

    private func summary(_ row: Row, now: Date) throws -> SubscriptionSummary {
        func day(_ name: String) throws -> CalendarDay? {
            try row.decodeIfPresent(name, as: String.self).flatMap { CalendarDay($0) }
        }
        var summary = SubscriptionSummary(
            id: try row.decode("id"), externalID: try row.decode("external_id"), memberID: try row.decode("member_id"),
            plan: try row.decode("plan"), status: try row.decode("status"), startedAt: try row.decode("started_at"),
            anchorDay: try row.decode("anchor_day"),
            paidThrough: try day("paid_through") ?? CalendarDay(clampingYear: 1970, month: 1, day: 1),
            pausedFrom: try row.decodeIfPresent("paused_from"), pausedUntil: try row.decodeIfPresent("paused_until"),
            cancelledAt: try row.decodeIfPresent("cancelled_at"), endsOn: try day("ends_on"),
            settledPeriod: try row.decode("settled"), nextDueAt: nil)
        guard let plan = plans[summary.plan] else { return summary }
        let schedule = plan.schedule
        let next = summary.settledPeriod + 1
        let terms = summary.terms
        if schedule.day(ofPeriod: next, startedAt: summary.startedAt) <= terms.lastDay {
            summary.nextDueAt = schedule.dueAt(period: next, startedAt: summary.startedAt)
        }
        let today = ZonedCivilTime.localDay(of: now, in: schedule.timeZone)
        if today > terms.lastDay {
            summary.status = "ended"
        } else if summary.cancelledAt != nil {
            summary.status = "cancelled"
        } else if terms.isPaused(at: now) {
            summary.status = "paused"
        } else {
            summary.status = "active"
        }
        return summary
    }

    static func iso(_ date: Date) -> String { date.formatted(.iso8601) }

    public static let statuses = ["active", "paused", "cancelled", "ended"]
}
