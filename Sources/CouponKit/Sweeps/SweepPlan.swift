import Foundation
import Postgres

/// A sweep's frozen inputs, stored in the run's checkpoint so that every chunk, and a run resumed
/// after a crash, sweeps exactly the same window for the same members with the same settings.
struct SweepPlan: Codable, Sendable, Equatable {
    var window: SweepWindow
    /// Reminders only; nil is everyone.
    var segment: ResolvedSegment?
    /// Where notifications go; nil writes none (expiry without `notify`).
    var sink: String?
    var zone: String
    var quietFromMinute: Int?
    var quietUntilMinute: Int?
    /// Expiry sweeps: the database's clock when the plan was made, before its snapshot was read.
    /// A later sweep of the job starts its window from it (`ExpirySweepBound`). Nil for reminders,
    /// and in plans made before the bound existed (a later sweep then runs unbounded once).
    var expiryPlannedAtMicros: Int64?

    var quietHours: QuietHours? {
        guard let quietFromMinute, let quietUntilMinute else { return nil }
        return QuietHours(fromMinute: quietFromMinute, untilMinute: quietUntilMinute)
    }

    var timeZone: TimeZone { TimeZone(identifier: zone) ?? DefinitionDefaults.timeZone }

    init(window: SweepWindow, segment: ResolvedSegment?, sink: String?, zone: TimeZone, quietHours: QuietHours?) {
        self.window = window
        self.segment = segment
        self.sink = sink
        self.zone = zone.identifier
        quietFromMinute = quietHours?.fromMinute
        quietUntilMinute = quietHours?.untilMinute
    }

    func encoded() throws -> String { String(decoding: try JSONEncoder().encode(self), as: UTF8.self) }

    static func decode(_ plan: RunPlan) throws -> SweepPlan {
        guard let payload = plan.payload else { throw ConfigurationError("a sweep run's plan has no payload") }
        return try JSONDecoder().decode(SweepPlan.self, from: Data(payload.utf8))
    }

    /// Delivers the sweep's sink once its outbox is complete; the run's note, if any.
    func deliverAfterRun(_ context: RunContext, _ connection: Connection) -> String? {
        sink.map { NotificationDelivery.deliverAfterRun(sink: $0, context, connection) }
    }

    func outbox(kind: NotificationKind, _ context: RunContext) -> NotificationOutbox? {
        sink.map {
            NotificationOutbox(
                kind: kind, job: context.job.name, slot: context.run.slot, runID: context.run.id, sink: $0,
                zone: timeZone, quietHours: quietHours)
        }
    }
}
