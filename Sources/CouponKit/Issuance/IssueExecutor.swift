import Foundation
import Logging
import Postgres

/// `kind: issue`: gives every member of a segment the job's coupons (or their A/B arm's),
/// exactly once, never past stock. One chunk of the member id space is one transaction.
public struct IssueExecutor: JobExecutor {
    public let action: IssueAction

    public init(action: IssueAction) { self.action = action }

    /// Stock ran out between reading it and reserving it (another run took it): the chunk
    /// rolls back and is retried with fresh numbers.
    struct StockContention: Error, RetryableError, CustomStringConvertible {
        let key: String
        var description: String { "stock of \(key) changed while the chunk ran; retrying" }
    }

    // MARK: Planning

    public func plan(_ context: RunContext, _ connection: Connection) throws -> RunPlan {
        var issuePlan = try makeIssuePlan(context, connection)
        let bounds = try connection.query("SELECT min(id) AS lo, max(id) AS hi FROM members").row(0)
        var chunks: [RunPlan.Chunk] = []
        if let lo = try bounds.decodeIfPresent("lo", as: Int64.self), let hi = try bounds.decodeIfPresent("hi", as: Int64.self) {
            chunks = RunPlan.ranges(from: lo, to: hi + 1, size: Int64(action.chunkSize))
        }
        // Finite stock is allotted to the chunks now and set aside, so they run in parallel and
        // still serve members lowest id first, whatever other runs take meanwhile.
        try StockAllotment.reserve(
            &issuePlan, runID: context.run.id, chunks: chunks, chunkSize: Int64(action.chunkSize), connection)
        for warning in issuePlan.warnings { context.logger.info("\(warning)") }
        let payload = String(decoding: try JSONEncoder().encode(issuePlan), as: UTF8.self)
        return RunPlan(chunks: chunks, payload: payload, parallel: true)
    }

    func makeIssuePlan(_ context: RunContext, _ connection: Connection, register: Bool = true) throws -> IssuePlan {
        let issuedAt = context.run.slot
        let segment = try SegmentResolver.resolve(
            action.segment, asOf: issuedAt, connection: connection,
            options: .init(sandbox: context.segmentSandbox), logger: context.logger)
        var warnings = segment.warnings.map { "\($0)" }
        func lines(_ grants: [CouponGrant]) throws -> [IssuePlan.Line] {
            try grants.map { grant in
                try Self.planLine(
                    grant, deployment: context.deployment, owner: "job \(context.job.name)", issuedAt: issuedAt,
                    register: register, connection)
            }
        }
        var arms: [IssuePlan.Arm] = []
        var total = 0
        switch action.offer {
        case .coupons(let grants):
            arms = [IssuePlan.Arm(name: nil, bucketFrom: 0, bucketTo: 1, holdout: false, lines: try lines(grants))]
            total = 1
        case .variants(let variants):
            for variant in variants {
                arms.append(
                    IssuePlan.Arm(
                        name: variant.name, bucketFrom: total, bucketTo: total + variant.weight, holdout: variant.holdout,
                        lines: try lines(variant.coupons)))
                total += variant.weight
            }
        }
        if segment.warningCount > segment.warnings.count {
            warnings.append("and \(segment.warningCount - segment.warnings.count) more segment warnings")
        }
        return IssuePlan(
            segment: segment, arms: arms, totalWeight: total, armSeed: RunLedger.lockKey("arm:\(context.job.name)"),
            issuedAt: issuedAt, warnings: warnings)
    }

    /// One coupon line as a run freezes it: the template's version (registered unless `register`
    /// is false, for dry runs), its validity from `issuedAt`, value and limits. Bundle runs freeze
    /// their plans' lines the same way.
    static func planLine(
        _ grant: CouponGrant, deployment: Deployment, owner: String, issuedAt: Date, register: Bool,
        _ connection: Connection
    ) throws -> IssuePlan.Line {
        guard let template = deployment.templates[grant.templateKey] else {
            throw ConfigurationError("\(owner): template \(grant.templateKey) is not defined")
        }
        let version =
            register
            ? try TemplateCatalogStore.register(template, connection)
            : try TemplateCatalogStore.versionIfRegistered(template, connection)
        let window = ValidityWindow.compute(for: template, issuedAt: issuedAt)
        if !window.isOpen(at: issuedAt) {
            throw ConfigurationError(
                "template \(template.key): its validity window ended before this run's slot; nothing to issue")
        }
        var blindbox: [IssuePlan.WeightedValue]?
        var uses: Int?
        switch template.kind {
        case .blindbox(let choices, _): blindbox = choices.map { .init(valueFen: $0.offFen, weight: $0.weight) }
        case .punch(let count, _): uses = count
        default: break
        }
        return IssuePlan.Line(
            templateKey: template.key, version: version, quantity: grant.quantity,
            faceValueFen: template.faceValueFen, blindbox: blindbox, usesLeft: uses,
            validFrom: window.validFrom, expiresAt: window.expiresAt, perMemberLimit: template.perMemberLimit,
            reissueAfterDays: template.reissueAfterDays, finiteStock: template.stock != nil,
            unnumberedCoupons: try TemplateCatalogStore.hasUnnumberedCoupons(template.key, connection))
    }

    static func issuePlan(_ plan: RunPlan) throws -> IssuePlan {
        guard let payload = plan.payload else { throw ConfigurationError("an issue run's plan has no payload") }
        return try JSONDecoder().decode(IssuePlan.self, from: Data(payload.utf8))
    }

    // MARK: One chunk

    public func execute(chunk: Int, of plan: RunPlan, _ context: RunContext, in tx: Connection) throws -> RunCounts {
        let issuePlan = try Self.issuePlan(plan)
        let bounds = plan.chunks[chunk]
        // The chunk's statement also counts the members it scanned (`members_scanned`).
        return try issue(
            issuePlan, to: .range(lower: bounds.lower, upper: bounds.upper), atMost: bounds.upper - bounds.lower,
            runID: context.run.id, chunk: chunk, tx)
    }

    /// Issues the plan's packs to the eligible ones of `members` (at most `most` of them) in
    /// `tx`, stock taken in the same transaction: one INSERT … SELECT for every arm at once, or
    /// one per arm when an arm takes stock as it goes (a later arm must see what an earlier one
    /// took). Scheduled chunks and trigger batches both issue through here, so limits and stock
    /// hold across both. `chunk` names the scheduled chunk whose stock allotment applies; a
    /// trigger batch has none (its plan allots nothing) and takes stock from `template_stock`.
    func issue(
        _ issuePlan: IssuePlan, to members: IssueChunkStatement.Members, atMost most: Int64, runID: Int64,
        chunk: Int? = nil, _ tx: Connection
    ) throws -> RunCounts {
        // A deleted list or SQL snapshot would make the segment match nobody: a resumed run would
        // then "succeed" having silently skipped its remaining members.
        if !issuePlan.segment.snapshots.isEmpty { try issuePlan.segment.verifySnapshots(connection: tx) }
        // Per arm: the members its chunk allotment allows, and the finite-stock templates it draws
        // from the run's reservation. Lines whose stock the run set aside draw on it, without
        // asking first (a round trip a chunk): only a run that has ended loses its reservation,
        // and its chunks cannot pass the fence anyway; a draw the reservation cannot cover rolls
        // the chunk back (`StockContention`). Others (plans from before allotments, trigger
        // batches) take from stock as they go.
        var allotted: [Int64?] = []
        var reservedKeys: [Set<String>] = []
        var takesLiveStock = false
        for (armIndex, arm) in issuePlan.arms.enumerated() {
            let allotment = chunk.flatMap { issuePlan.allotments?[armIndex]?[$0] }
            var reserved: Set<String> = []
            for line in arm.lines where line.finiteStock {
                if allotment != nil {
                    reserved.insert(line.templateKey)
                } else {
                    takesLiveStock = true
                }
            }
            allotted.append(allotment)
            reservedKeys.append(reserved)
        }
        // An allotment that covers every member the chunk could have (stock well above demand)
        // limits nothing, and the statement need not rank the members.
        let limits = allotted.map { allotment in allotment.flatMap { $0 >= most ? nil : $0 } }
        var counts: RunCounts = [:]
        func account(_ armIndex: Int, _ result: IssueChunkStatement.ArmResult?, limit: Int64?) throws {
            let arm = issuePlan.arms[armIndex]
            let issuedMembers = result?.members ?? 0
            if arm.holdout {
                counts["holdout_members", default: 0] += issuedMembers
                if let name = arm.name { counts["arm.\(name).members", default: 0] += issuedMembers }
                return
            }
            for line in arm.lines where issuedMembers > 0 {
                counts["template.\(line.templateKey)", default: 0] += issuedMembers * Int64(line.quantity)
            }
            counts["coupons_issued", default: 0] += issuedMembers * Int64(arm.packSize)
            counts["members_issued", default: 0] += issuedMembers
            counts["face_value_fen", default: 0] += try faceValue(runID: runID, members, arm, tx, members: issuedMembers)
            if let name = arm.name { counts["arm.\(name).members", default: 0] += issuedMembers }
            // Eligible members that a stock limit left without a pack (an allotment of 0 skipped
            // the statement: planning counted them).
            let eligible = result?.eligible ?? (limit == 0 ? chunk.flatMap { issuePlan.eligibleWhenPlanned?[armIndex]?[$0] } : nil)
            if limit != nil, let eligible, eligible > issuedMembers {
                counts["stock_exhausted", default: 0] += eligible - issuedMembers
            }
        }
        // Where each line's coupons are counted: the run's reservation; for a template without
        // stock, a row of the chunk's own (so chunks never wait for each other's COMMIT on the
        // template's stock row); else (trigger batches, stock taken as they go) that row.
        func draws(_ armIndexes: [Int]) -> [IssueChunkStatement.StockDraw] {
            armIndexes.flatMap { armIndex in
                issuePlan.arms[armIndex].lines.map { line in
                    let counted: IssueChunkStatement.StockDraw.Where =
                        reservedKeys[armIndex].contains(line.templateKey)
                        ? .reservation : (chunk != nil && !line.finiteStock ? .chunkTally : .stockRow)
                    return IssueChunkStatement.StockDraw(
                        arm: armIndex, key: line.templateKey, quantity: Int64(line.quantity), counted: counted,
                        chunk: chunk ?? -1)
                }
            }
        }
        let countScanned: Bool = if case .range = members { chunk != nil } else { false }
        if !takesLiveStock {
            // One statement: each member's arm is drawn once and every arm's pack written together.
            let statement = IssueChunkStatement(plan: issuePlan, runID: runID)
            let result = try insertPacks(
                statement, members, limits: limits, stock: draws(Array(issuePlan.arms.indices)), countScanned: countScanned, tx)
            if let scanned = result.scanned { counts["members_scanned"] = scanned }
            for armIndex in issuePlan.arms.indices { try account(armIndex, result.arms[armIndex], limit: limits[armIndex]) }
            return counts
        }
        for (armIndex, arm) in issuePlan.arms.enumerated() {
            // How many members stock allows (nil: enough for every member of the chunk).
            var limit = limits[armIndex]
            for line in arm.lines where line.finiteStock && !reservedKeys[armIndex].contains(line.templateKey) {
                let left = try TemplateCatalogStore.available(line.templateKey, tx) ?? Int64.max
                let allowed = left / Int64(line.quantity)
                if allowed < most { limit = min(limit ?? allowed, allowed) }
            }
            let statement = IssueChunkStatement(plan: issuePlan, armIndexes: [armIndex], runID: runID)
            var result = IssueChunkStatement.Result()
            if allotted[armIndex] != 0 || (countScanned && armIndex == 0) {
                result = try insertPacks(
                    statement, members, limits: [limit], stock: draws([armIndex]), countScanned: countScanned && armIndex == 0, tx)
            }
            if let scanned = result.scanned { counts["members_scanned"] = scanned }
            try account(armIndex, result.arms[armIndex], limit: limit)
        }
        return counts
    }

    /// Inserts the packs of `statement`'s arms and takes their coupons from stock (see
    /// `IssueChunkStatement.insert` and `takeStock`), with JIT off. When a concurrent run gives one
    /// of the members a limited template first, the insert collides on `cap_seq` once that run
    /// commits; it is then redone in a fresh snapshot, in which the cap and interval checks see the
    /// other run's coupons. The savepoint it returns to is left in place (committed with the chunk), which
    /// saves a round trip per chunk.
    private func insertPacks(
        _ statement: IssueChunkStatement, _ members: IssueChunkStatement.Members, limits: [Int64?],
        stock: [IssueChunkStatement.StockDraw], countScanned: Bool, _ tx: Connection
    ) throws -> IssueChunkStatement.Result {
        let limited = statement.arms.contains { $0.lines.contains(where: \.isLimited) }
        // Sent with the insert, in one round trip.
        tx.sendWithNext(IssueChunkStatement.settings)
        if limited { tx.sendWithNext("SAVEPOINT issue_packs") }
        let insert = statement.insert(members, limits: limits, countScanned: countScanned)
        for _ in 0..<(limited ? Self.capCollisionRetries : 1) {
            do {
                let result = try IssueChunkStatement.result(try tx.query(insert.sql, insert.parameters))
                if let take = statement.takeStock(stock, written: result),
                    try tx.query(take.sql, take.parameters).row(0).decode(0, as: Bool.self) == false
                {
                    throw StockContention(key: stock.map(\.key).joined(separator: ", "))
                }
                return result
            } catch let error as PostgresError
                where limited && error.code == .uniqueViolation && error.constraint == IssueChunkStatement.capConstraint
            {
                try tx.executeScript("ROLLBACK TO SAVEPOINT issue_packs")
                continue
            }
        }
        throw CapContention()
    }

    /// Each collision follows another run's commit, so this many in a row means heavy contention:
    /// the chunk then rolls back and the engine retries it later.
    static let capCollisionRetries = 20

    /// Concurrent runs kept giving the chunk's members the same limited templates first.
    struct CapContention: Error, RetryableError, CustomStringConvertible {
        var description: String { "other runs kept issuing the same limited templates to this chunk's members; retrying" }
    }

    /// Face value issued in the chunk (blind boxes vary per member, so it is summed from the rows).
    private func faceValue(
        runID: Int64, _ source: IssueChunkStatement.Members, _ arm: IssuePlan.Arm, _ tx: Connection, members: Int64
    ) throws -> Int64 {
        guard members > 0 else { return 0 }
        if arm.lines.allSatisfy({ $0.blindbox == nil }) {
            return members * arm.lines.reduce(0) { $0 + $1.faceValueFen * Int64($1.quantity) }
        }
        // A trigger batch is a run of its own: all of its coupons are this statement's.
        var (lower, upper) = (Int64.min, Int64.max)
        if case .range(let from, let to) = source { (lower, upper) = (from, to) }
        return try tx.query(
            """
            SELECT coalesce(sum(face_value_fen), 0)::bigint FROM coupons
            WHERE run_id = $1 AND member_id >= $2 AND member_id < $3 AND arm IS NOT DISTINCT FROM $4
            """, [runID, lower, upper, arm.name]
        ).row(0).decode(0, as: Int64.self)
    }

    public func finish(_ plan: RunPlan, counts: RunCounts, _ context: RunContext, _ connection: Connection) throws
        -> String?
    {
        try StockAllotment.release(runID: context.run.id, connection)
        try TemplateIssueTally.fold(runID: context.run.id, connection)
        var notes: [String] = []
        if let exhausted = counts["stock_exhausted"], exhausted > 0 {
            notes.append("stock exhausted: \(exhausted) eligible members got nothing")
        }
        let issuePlan = try Self.issuePlan(plan)
        if !issuePlan.warnings.isEmpty { notes.append("\(issuePlan.warnings.count) segment warnings") }
        return notes.isEmpty ? nil : notes.joined(separator: "; ")
    }

    // MARK: Dry run

    public func dryRun(_ context: RunContext, _ connection: Connection) throws -> DryRunReport {
        let issuePlan = try makeIssuePlan(context, connection, register: false)
        var lines: [DryRunReport.Line] = [.init("segment members", "\(try issuePlan.segment.count(connection: connection))")]
        // Arms sharing a template draw on the same stock.
        var neededByKey: [String: Int64] = [:]
        for arm in issuePlan.arms {
            let statement = IssueChunkStatement(plan: issuePlan, arm: arm, runID: 0)
            let count = statement.countEligible(lower: Int64.min, upper: Int64.max)
            let eligible = try connection.query(count.sql, count.parameters).row(0).decode(0, as: Int64.self)
            let sample = statement.sample(limit: 5)
            let ids = try connection.query(sample.sql, sample.parameters).rows.map { try $0.decode(0, as: Int64.self) }
            let armLabel = arm.name.map { "arm \($0)" } ?? "pack"
            if arm.holdout {
                lines.append(.init("\(armLabel) (holdout)", "\(eligible) members held out, nothing issued"))
            }
            for line in arm.lines {
                let needed = eligible * Int64(line.quantity)
                neededByKey[line.templateKey, default: 0] += needed
                let total = neededByKey[line.templateKey] ?? needed
                // The definition's stock, as the run will sync it (a dry run writes no stock row).
                let left =
                    try context.deployment.templates[line.templateKey].map { try TemplateCatalogStore.availableOnceSynced($0, connection) }
                    ?? TemplateCatalogStore.available(line.templateKey, connection)
                let stockText = left.map { $0 >= total ? "stock \($0) suffices" : "stock \($0) is SHORT by \(total - $0)" } ?? "unlimited stock"
                lines.append(
                    .init(
                        "\(armLabel): \(line.templateKey) v\(line.version)",
                        "\(needed) coupons to \(eligible) members; \(stockText); valid \(Self.shown(line.validFrom, context)) to \(Self.shown(line.expiresAt, context))"))
            }
            lines.append(.init("\(armLabel) sample members", ids.isEmpty ? "none" : ids.map(String.init).joined(separator: ", ")))
        }
        for warning in issuePlan.warnings { lines.append(.init("warning", warning)) }
        return DryRunReport(lines: lines)
    }

    /// People read a dry run: times in the job's zone with the offset, like every command.
    private static func shown(_ date: Date, _ context: RunContext) -> String {
        LocalTimeFormat.format(date, in: context.job.timeZone)
    }
}
