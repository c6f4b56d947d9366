import Foundation
import Logging
import Postgres

/// `kind: bundle`: delivers every due period of the subscriptions of the job's plans exactly
/// once. A period's coupons are written in the same transaction as its `bundle_deliveries` row,
/// whose primary key (subscription, period) makes a second delivery impossible; one chunk of the
/// member id space is one transaction, fenced and checkpointed by the engine like issuance.
public struct BundleExecutor: JobExecutor {
    public let action: BundleAction

    public init(action: BundleAction) { self.action = action }

    // MARK: Planning

    public func plan(_ context: RunContext, _ connection: Connection) throws -> RunPlan {
        var runPlan = try makeRunPlan(context, connection, register: true)
        // The watermarks and horizon first, then the bounds: every subscription a watermark of
        // this run will cover is visible to the bounds read and to every chunk.
        let (marks, horizon, freshAfter) = try BundleWatermark.read(runPlan.plans, connection)
        for index in runPlan.plans.indices { runPlan.plans[index].watermark = marks[runPlan.plans[index].key] ?? BundleWatermark.none }
        runPlan.horizon = horizon
        runPlan.freshAfter = freshAfter
        let keys = runPlan.plans.map(\.key)
        let bounds = try connection.query(
            "SELECT min(member_id) AS lo, max(member_id) AS hi FROM subscriptions WHERE plan = ANY($1::text[])", [keys]
        ).row(0)
        var chunks: [RunPlan.Chunk] = []
        if let lo = try bounds.decodeIfPresent("lo", as: Int64.self), let hi = try bounds.decodeIfPresent("hi", as: Int64.self) {
            chunks = Self.chunks(from: lo, to: hi + 1, size: Int64(action.chunkSize), readAhead: !runPlan.hasFiniteStock)
        }
        let payload = String(decoding: try JSONEncoder().encode(runPlan), as: UTF8.self)
        // With finite stock, chunks commit in member order on one worker, as issuance does, so
        // the periods served are the same whatever the number of workers.
        return RunPlan(chunks: chunks, payload: payload, parallel: !runPlan.hasFiniteStock)
    }

    /// The run's chunks of the member id range. When chunks are read ahead (`BundlePrefetch`), the
    /// first two are a quarter of the others. Nothing reads the first ahead, so the server waits
    /// while the runner reads it and decides its periods (about 50 ms for 20,000 subscriptions, a
    /// twentieth of a 100,000-subscriber run on one worker); a short one is written sooner, and
    /// the next chunk is read ahead while it writes. A second worker starts on the second chunk
    /// and waits for its read ahead, begun a moment before: short, so it waits less (with two
    /// workers, the bundle run to the issue job over 12 alternating turns: median 1.125 with one
    /// short chunk, 1.075 with two).
    static func chunks(from lower: Int64, to upper: Int64, size: Int64, readAhead: Bool) -> [RunPlan.Chunk] {
        let first = readAhead ? max(1, size / 4) : size
        guard upper - lower > size, first < size else { return RunPlan.ranges(from: lower, to: upper, size: size) }
        let shortEnd = min(upper, lower + first * 2)
        return RunPlan.ranges(from: lower, to: shortEnd, size: first) + RunPlan.ranges(from: shortEnd, to: upper, size: size)
    }

    func makeRunPlan(_ context: RunContext, _ connection: Connection, register: Bool) throws -> BundleRunPlan {
        try BundleRunPlan.make(
            keys: action.planKeys(in: context.deployment), deployment: context.deployment, jobName: context.job.name,
            issuedAt: context.run.slot, sink: action.sink, register: register, connection)
    }

    static func runPlan(_ plan: RunPlan) throws -> BundleRunPlan {
        guard let payload = plan.payload else { throw ConfigurationError("a bundle run's plan has no payload") }
        return try JSONDecoder().decode(BundleRunPlan.self, from: Data(payload.utf8))
    }

    // MARK: One chunk

    public func execute(chunk: Int, of plan: RunPlan, _ context: RunContext, in tx: Connection) throws -> RunCounts {
        let runPlan = try Self.runPlan(plan)
        let bounds = plan.chunks[chunk]
        let outbox = BundleOutbox(runPlan, context)
        // Without finite stock, the chunk's read may have been made ahead (`BundlePrefetch`), and
        // this worker reads the next chunk ahead while this one writes.
        let prefetch = runPlan.hasFiniteStock ? nil : BundlePrefetch.of(context)
        let ahead = prefetch?.take(chunk)
        if let prefetch, chunk + 1 < plan.chunks.count {
            let next = plan.chunks[chunk + 1]
            let runID = context.run.id
            prefetch.start(chunk + 1) { connection in
                try Self.readAhead(chunk: next, runPlan, runID: runID, outbox: outbox, connection)
            }
        }
        let (planCounts, tally, written) = try writePeriods(
            chunk: bounds, runPlan, runID: context.run.id, outbox: outbox, ahead: ahead, tx)
        var faceValue = tally.faceValue
        var counts = planCounts
        for (key, count) in tally.issued { counts["template.\(key)"] = count }
        if tally.hasBlindbox {
            faceValue = try tx.query(
                """
                SELECT coalesce(sum(face_value_fen), 0)::bigint FROM coupons
                WHERE run_id = $1 AND member_id >= $2 AND member_id < $3
                """, [context.run.id, bounds.lower, bounds.upper]
            ).row(0).decode(0, as: Int64.self)
        }
        counts["coupons_issued"] = Int64(written.coupons)
        counts["notifications"] = written.notifications
        counts["face_value_fen"] = faceValue
        return counts.filter { $0.value != 0 || $0.key == "coupons_issued" }
    }

    /// What a chunk's read and decided periods count, before anything is written: computed where
    /// the periods are decided (for a chunk read ahead, on the read-ahead thread, so the worker
    /// does not count 20,000 periods between its write and its commit).
    static func plannedCounts(_ subscriptions: [SubscriptionRecord], _ planned: [PlannedDelivery]) -> RunCounts {
        var delivered: Int64 = 0
        var skipped: Int64 = 0
        var waiting: Int64 = 0
        // `BundleAllocation.decide` returns a member's periods together (in member order), so a
        // member delivered to is counted where the delivered periods' member changes: no set of
        // 20,000 members per chunk.
        var members: Int64 = 0
        var lastMember: Int64?
        for delivery in planned {
            switch delivery.status {
            case .delivered: delivered += 1
            case .skipped: skipped += 1
            case .waitingStock: waiting += 1
            }
            if delivery.status == .delivered, delivery.memberID != lastMember {
                members += 1
                lastMember = delivery.memberID
            }
        }
        return [
            "subscriptions_scanned": Int64(subscriptions.count),
            // How many needed the probe of their periods (the rest a watermark answered).
            "subscriptions_probed": Int64(subscriptions.lazy.filter(\.probed).count),
            "periods_delivered": delivered,
            "periods_skipped": skipped,
            "periods_waiting_stock": waiting,
            "members_delivered": members,
            // Subscriptions that reached the catch-up limit still have periods due: the run must not
            // advance the watermark past them.
            "subscriptions_capped": capped(planned),
        ]
    }

    /// Reads the chunk's subscriptions, decides their due periods against the stock left, and
    /// writes them (with their notifications). When another run records one of the same periods
    /// first, the insert collides on the periods' primary key (or a waiting period is found
    /// settled); the chunk's reads and writes are then redone in a savepoint, and the fresh read
    /// sees that run's periods as settled.
    private func writePeriods(
        chunk bounds: RunPlan.Chunk, _ runPlan: BundleRunPlan, runID: Int64, outbox: BundleOutbox?,
        ahead: BundlePrefetch.Ahead?, _ tx: Connection
    )
        throws -> (RunCounts, PackTally, BundleChunkStatement.Written)
    {
        // With watermarks (runs planned since migration 0021) the first attempt trusts them; a
        // collision means some assumption was short (a run in progress recorded periods of
        // subscriptions created since the watermark, say), and the redo probes every subscription.
        let marks = runPlan.chunkWatermarks
        func attempt(probe: Bool) throws -> (RunCounts, PackTally, BundleChunkStatement.Written) {
            // The first attempt writes what was read ahead, if it was: a stale read only
            // under-counts what is settled, which the write's collision check catches.
            if !probe, let ahead {
                let written = try BundleChunkStatement.run(ahead.write, tx)
                return (ahead.counts, ahead.tally, written)
            }
            let subscriptions = try BundleChunkStatement.subscriptions(
                lower: bounds.lower, upper: bounds.upper, plans: runPlan.plans.map(\.key), watermarks: probe ? nil : marks, tx)
            var available: [String: Int64] = [:]
            for line in runPlan.plans.flatMap({ $0.coupons + $0.welcome }) where line.finiteStock {
                if let left = try TemplateCatalogStore.available(line.templateKey, tx) { available[line.templateKey] = left }
            }
            let planned = try BundleAllocation.decide(
                subscriptions, plan: runPlan, through: runPlan.issuedAt, available: available)
            let tally = PackTally(planned, runPlan)
            let written = try BundleChunkStatement.write(
                planned, plan: runPlan, runID: runID, stock: tally.issued, outbox: outbox, tx)
            return (Self.plannedCounts(subscriptions, planned), tally, written)
        }
        // JIT off, as for issue chunks: the chunk's statements are short and repeated, and compiling
        // the subscriptions read (its estimate grows with bundle_deliveries) cost about 0.4 s a chunk.
        // The settings and the savepoint go with the subscriptions read (or, read ahead, with the
        // write), in one round trip; the savepoint is never released (a commit ends it).
        tx.sendWithNext(IssueChunkStatement.settings)
        tx.sendWithNext("SAVEPOINT bundle_periods")
        for tries in 0..<IssueExecutor.capCollisionRetries {
            do {
                return try attempt(probe: tries > 0)
            } catch let error as PostgresError
                where error.code == .uniqueViolation && error.constraint == BundleChunkStatement.periodConstraint
            {
                try tx.execute("ROLLBACK TO SAVEPOINT bundle_periods")
            } catch is BundleChunkStatement.PeriodSettledMeanwhile {
                try tx.execute("ROLLBACK TO SAVEPOINT bundle_periods")
            }
        }
        throw PeriodContention()
    }

    /// A chunk's first attempt, read and decided outside its transaction (`BundlePrefetch`): only
    /// for runs without finite stock, so no stock is read.
    static func readAhead(
        chunk bounds: RunPlan.Chunk, _ runPlan: BundleRunPlan, runID: Int64, outbox: BundleOutbox?, _ connection: Connection
    ) throws -> BundlePrefetch.Ahead {
        let marks = runPlan.chunkWatermarks
        let subscriptions = try BundleChunkStatement.subscriptions(
            lower: bounds.lower, upper: bounds.upper, plans: runPlan.plans.map(\.key), watermarks: marks, connection)
        let planned = try BundleAllocation.decide(subscriptions, plan: runPlan, through: runPlan.issuedAt, available: [:])
        let tally = PackTally(planned, runPlan)
        let write = try BundleChunkStatement.prepareWrite(
            planned, plan: runPlan, runID: runID, stock: tally.issued, outbox: outbox)
        return BundlePrefetch.Ahead(counts: plannedCounts(subscriptions, planned), tally: tally, write: write)
    }

    /// Subscriptions with `BundleSchedule.catchUpLimit` periods in `planned` (in subscription
    /// order, as `BundleAllocation.decide` returns them): they may have more due.
    static func capped(_ planned: [PlannedDelivery]) -> Int64 {
        var capped: Int64 = 0
        var run = 0
        for (index, delivery) in planned.enumerated() {
            run = index > 0 && planned[index - 1].subscriptionID == delivery.subscriptionID ? run + 1 : 1
            if run == BundleSchedule.catchUpLimit { capped += 1 }
        }
        return capped
    }

    /// What a chunk's delivered periods issue: coupons per template (sorted by key) and face value.
    struct PackTally {
        var issued: [(key: String, count: Int64)] = []
        var faceValue: Int64 = 0
        var hasBlindbox = false

        /// Counts the delivered periods of `planned`.
        init(_ planned: [PlannedDelivery], _ runPlan: BundleRunPlan) {
            // Delivered periods by (plan, first period or not): each such group gets the same
            // lines. Counted for a run of periods of one plan at a time (a chunk's periods mostly
            // share their plan), not by hashing each period's plan key.
            var groups: [String: (first: Int64, later: Int64)] = [:]
            var plan: String?
            var run: (first: Int64, later: Int64) = (0, 0)
            func flush() {
                guard let plan, run != (0, 0) else { return }
                groups[plan, default: (0, 0)].first += run.first
                groups[plan, default: (0, 0)].later += run.later
            }
            for delivery in planned where delivery.status == .delivered {
                if delivery.plan != plan {
                    flush()
                    plan = delivery.plan
                    run = (0, 0)
                }
                if delivery.period == 1 { run.first += 1 } else { run.later += 1 }
            }
            flush()
            var perKey: [String: Int64] = [:]
            for (key, group) in groups {
                guard let plan = runPlan.plan(key) else { continue }
                for (periods, lines) in [(group.first, plan.lines(period: 1)), (group.later, plan.coupons)] where periods > 0 {
                    for line in lines {
                        perKey[line.templateKey, default: 0] += periods * Int64(line.quantity)
                        faceValue += periods * line.faceValueFen * Int64(line.quantity)
                        hasBlindbox = hasBlindbox || line.blindbox != nil
                    }
                }
            }
            issued = perKey.sorted { $0.key < $1.key }.map { ($0.key, $0.value) }
        }
    }

    /// Other runs kept recording this chunk's periods first; the engine retries the chunk later.
    struct PeriodContention: Error, RetryableError, CustomStringConvertible {
        var description: String { "other bundle runs kept delivering this chunk's periods first; retrying" }
    }

    public func finish(_ plan: RunPlan, counts: RunCounts, _ context: RunContext, _ connection: Connection) throws
        -> String?
    {
        var notes: [String] = []
        // Every chunk committed: every period due by the slot is recorded for the subscriptions
        // the chunks read, unless one stopped at the catch-up limit. One statement, so the
        // watermark moves whole or not at all; a resumed run doing it again changes nothing.
        let runPlan = try Self.runPlan(plan)
        if let horizon = runPlan.horizon, (counts["subscriptions_capped"] ?? 0) == 0 {
            try BundleWatermark.advance(
                runPlan, horizon: horizon, freshAfter: runPlan.freshAfter ?? horizon, runID: context.run.id, connection)
        }
        if let waiting = counts["periods_waiting_stock"], waiting > 0 {
            let keys = try connection.query(
                """
                SELECT string_agg(DISTINCT plan, ', ' ORDER BY plan) FROM bundle_deliveries
                WHERE run_id = $1 AND status = 'waiting_stock'
                """, [context.run.id]
            ).row(0).decodeIfPresent(0, as: String.self)
            notes.append("\(waiting) periods waiting for stock (plans: \(keys ?? "-")); later runs retry them")
        }
        // The outbox is complete: deliver what the sink takes now (never fails the run).
        if let sink = runPlan.sink, (counts["notifications"] ?? 0) > 0 {
            notes.append(NotificationDelivery.deliverAfterRun(sink: sink, context, connection))
        }
        return notes.isEmpty ? nil : notes.joined(separator: "; ")
    }

    // MARK: Dry run

    public func dryRun(_ context: RunContext, _ connection: Connection) throws -> DryRunReport {
        let runPlan = try makeRunPlan(context, connection, register: false)
        var available: [String: Int64] = [:]
        for key in Set(runPlan.plans.flatMap { ($0.coupons + $0.welcome).filter(\.finiteStock).map(\.templateKey) }) {
            if let template = context.deployment.templates[key] {
                available[key] = try TemplateCatalogStore.availableOnceSynced(template, connection) ?? Int64.max
            }
        }
        let subscriptions = try BundleChunkStatement.subscriptions(
            lower: Int64.min, upper: Int64.max, plans: runPlan.plans.map(\.key), connection)
        let planned = try BundleAllocation.decide(
            subscriptions, plan: runPlan, through: runPlan.issuedAt, available: available)
        var lines: [DryRunReport.Line] = [.init("subscriptions", "\(subscriptions.count)")]
        for plan in runPlan.plans {
            let mine = planned.filter { $0.plan == plan.key }
            func count(_ status: PlannedDelivery.Status) -> Int { mine.filter { $0.status == status }.count }
            lines.append(
                .init(
                    "plan \(plan.key)",
                    "\(count(.delivered)) periods to deliver (\(mine.reduce(0) { $0 + $1.coupons }) coupons), "
                        + "\(count(.skipped)) to skip (paused), \(count(.waitingStock)) would wait for stock"))
        }
        let members = Set(planned.filter { $0.status == .delivered }.map(\.memberID)).count
        lines.append(.init("notify", action.sink.map { "\(members) members, through sink \($0)" } ?? "no (the job has no sink)"))
        return DryRunReport(lines: lines)
    }
}
