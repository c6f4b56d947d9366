import Foundation
import Postgres

/// The chunk's write: every arm's packs and the holdout in one statement, then the stock drawn.
extension IssueChunkStatement {
    /// What `insert` did for one arm.
    struct ArmResult: Equatable {
        /// Index into the plan's arms.
        var arm: Int
        /// Members eligible for the arm's pack.
        var eligible: Int64
        /// Members given the pack (or, for the holdout, recorded as held out).
        var members: Int64
    }

    /// What `insert` did for the chunk.
    struct Result: Equatable {
        /// Per arm (index into the plan's arms); arms without eligible members are absent.
        var arms: [Int: ArmResult] = [:]
        /// Members of the chunk's range, eligible or not (when asked for).
        var scanned: Int64?
    }

    /// Where the coupons of a line are counted.
    struct StockDraw {
        enum Where: Int32 {
            /// The template's `template_stock` row, its stock checked when it has one.
            case stockRow = 0
            /// The run's reservation of the template's stock (`issue_stock_reservations`).
            case reservation = 1
            /// A row of the chunk's own in `template_issued_chunks`, while the template has no
            /// stock; should it get one meanwhile, its `template_stock` row as for `stockRow`.
            case chunkTally = 2
        }

        var arm: Int
        var key: String
        var quantity: Int64
        var counted: Where
        /// The chunk whose reservation row a reserved line draws on, or whose tally row it writes.
        var chunk: Int = -1
    }

    /// Inserts the pack for the first `limit` by id of every eligible member (by event id for events, first come first served).
    func insert(lower: Int64, upper: Int64, limit: Int64?) -> (sql: String, parameters: [any PostgresBindable]) {
        insert(.range(lower: lower, upper: upper), limits: armIndexes.map { _ in limit })
    }

    /// Inserts each eligible member's arm's pack (the holdout's members into `issue_holdouts`),
    /// each coupon recording its event, and reports per arm how many members were eligible and
    /// served (`Result`, read by `result`); `takeStock` then counts the coupons in stock. `limits`
    /// (one per arm of the statement, nil for none) caps the members an arm serves: the first by
    /// member id (by event id for events, first come first served). `countScanned` adds the
    /// number of members in a range.
    ///
    /// One statement (and `takeStock`'s), so a chunk costs two round trips however many arms and
    /// templates it has: on a busy server each round trip waits for the client and the backend to
    /// be scheduled again.
    /// The eligible members are materialized once, with their arm and cap numbers: the packs'
    /// coupons are joined to them, and with the members on the inner side of that join they would
    /// be found again for every coupon. The writes are data-modifying CTEs, which PostgreSQL runs
    /// to completion whether or not the final SELECT reads them.
    func insert(_ members: Members, limits: [Int64?], countScanned: Bool = false) -> (
        sql: String, parameters: [any PostgresBindable]
    ) {
        let p = SQLParameters()
        let eligible = eligibility(members, p)
        var order = eligible.id
        if case .events = members { order = eligible.event }
        // One element per coupon of every pack; seq numbers the coupons of a member's pack.
        var pack = CouponLineArrays()
        var packArms: [Int32] = []
        var names: [String?] = []
        var capOffsets: [Int32] = []  // 1…quantity for a limited template's coupons, -1 otherwise
        var capKeys: [Int32] = []  // the cap number (1-based, in `capColumnOrder`) a coupon continues, 0 for none
        // One column of `e` per distinct cap number: templates read together share one.
        let capColumnOrder = eligible.capNumbers.keys.sorted().compactMap { eligible.capNumbers[$0] }
            .reduce(into: [String]()) { if !$0.contains($1) { $0.append($1) } }
        var faceCases: [String] = []
        for (index, arm) in zip(armIndexes, arms) where !arm.holdout {
            var seq: Int32 = 0
            for line in arm.lines {
                for offset in 0..<line.quantity {
                    seq += 1
                    packArms.append(Int32(index))
                    names.append(arm.name)
                    let capKey = eligible.capNumbers[line.templateKey].flatMap { capColumnOrder.firstIndex(of: $0) }
                    capOffsets.append(capKey == nil ? -1 : Int32(offset + 1))
                    capKeys.append(capKey.map { Int32($0 + 1) } ?? 0)
                    pack.append(line, seq: seq)
                    if let choices = line.blindbox {
                        let salt = p.add(runID &* 1_000 &+ Int64(seq))
                        let draw = CouponPackSQL.blindboxDraw(choices, member: "e.id", salt: salt, p)
                        faceCases.append("WHEN \(p.add(Int64(pack.count))) THEN \(draw)")
                    }
                }
            }
        }
        let capColumns = capColumnOrder.enumerated().map { ", \($0.element) AS cap\($0.offset + 1)" }.joined()
        // An arm past its limit: each member's place in its arm's id order.
        var chosen = "true"
        var rank = ""
        if limits.contains(where: { $0 != nil }) {
            var perArm = [Int64](repeating: Int64.max, count: plan.arms.count)
            for (index, limit) in zip(armIndexes, limits) { perArm[index] = limit ?? Int64.max }
            rank = ", row_number() OVER (PARTITION BY \(eligible.arm) ORDER BY \(order)) AS rank"
            chosen = "e.rank <= (\(p.add(perArm))::bigint[])[e.arm + 1]"
        }
        let run = p.add(runID)
        var statements = ["served AS (SELECT e.arm, count(*) AS eligible, count(*) FILTER (WHERE \(chosen)) AS members FROM e GROUP BY e.arm)"]
        if !pack.keys.isEmpty {
            let face = faceCases.isEmpty ? "l.face" : "CASE l.n \(faceCases.joined(separator: " ")) ELSE l.face END"
            let capSeq =
                capColumnOrder.isEmpty
                ? "NULL::int"
                : "CASE l.cap_key \(capColumnOrder.indices.map { "WHEN \($0 + 1) THEN l.cap_offset + e.cap\($0 + 1)" }.joined(separator: " ")) END"
            let coupons = packSource(
                pack, arms: packArms, names: names.map { $0 ?? "" }, capOffsets: capOffsets, capKeys: capKeys, p)
            statements.append(
                """
                coupons_written AS (
                    INSERT INTO coupons (template_key, template_version, member_id, run_id, seq, arm, face_value_fen,
                                         issued_at, valid_from, expires_at, uses_left, cap_seq, event_id)
                    SELECT l.key, l.version, e.id, \(run), l.seq, nullif(l.arm_name, ''), \(face),
                           \(p.add(plan.issuedAt)), l.valid_from, l.expires_at, nullif(l.uses_left, -1), \(capSeq), e.event_id
                    FROM \(coupons)
                    WHERE \(chosen))
                """)
        }
        var held = "NULL::bigint"
        if let (index, holdout) = zip(armIndexes, arms).first(where: { $0.1.holdout }) {
            statements.append(
                """
                held AS (
                    INSERT INTO issue_holdouts (run_id, member_id, arm)
                    SELECT \(run), e.id, \(p.add(holdout.name ?? "holdout")) FROM e
                    WHERE e.arm = \(index) AND \(chosen)
                    ON CONFLICT DO NOTHING
                    RETURNING 1)
                """)
            held = "CASE WHEN s.arm = \(index) THEN (SELECT count(*) FROM held) END"
        }
        var scanned = "NULL::bigint"
        if countScanned, case .range(let lower, let upper) = members {
            // A second pass over the range's members (a few percent of a chunk) only when some
            // of them may not be eligible.
            scanned =
                eligible.coversRange
                ? "(SELECT coalesce(sum(s.eligible), 0) FROM served s)::bigint"
                : "(SELECT count(*) FROM members WHERE id >= \(p.add(lower)) AND id < \(p.add(upper)))"
        }
        // One row per arm with eligible members, and one (arm NULL) for the chunk.
        let sql = """
            WITH e AS MATERIALIZED (
                SELECT \(eligible.id) AS id, \(eligible.event) AS event_id, \(eligible.arm) AS arm\(capColumns)\(rank)
                \(eligible.from)
                ORDER BY \(order)),
            \(statements.joined(separator: ",\n"))
            SELECT s.arm, s.eligible, coalesce(\(held), s.members) AS members
            FROM served s
            UNION ALL
            SELECT NULL, \(scanned), NULL
            """
        return (sql, p.values)
    }

    /// Counts the coupons `insert` wrote (its `result`) where `stock` says each line's are, after
    /// they are written: a template's stock row stays locked until the chunk commits, and other
    /// chunks taking that stock wait for it (a chunk's own reservation row keeps nobody waiting).
    /// Its one value is false when a template's stock (or the run's reservation of it) could not
    /// cover them: another run took it meanwhile, and the chunk must be redone. Nil when nothing
    /// is counted.
    ///
    /// A statement of its own, sent after the insert. As CTEs of the insert's statement, the
    /// updates ran after the insert only by reading every inserted row back (`RETURNING 1`,
    /// counted), since a statement's unreferenced CTEs run after its main query: for a chunk of
    /// 20,000 members given 4 coupons each, 80,000 rows through a tuplestore that spilled to disk.
    func takeStock(_ stock: [StockDraw], written result: Result) -> (sql: String, parameters: [any PostgresBindable])? {
        // Coupons per template, counted where each line's are; each row must be counted, or stock
        // ran out (or was given to a template without) under another transaction.
        struct Place: Hashable {
            let key: String
            let counted: StockDraw.Where
        }
        var drawn: [Place: Int64] = [:]
        var places: [Place] = []  // in the order first drawn
        for draw in stock {
            let coupons = draw.quantity * (result.arms[draw.arm]?.members ?? 0)
            guard coupons > 0 else { continue }
            let place = Place(key: draw.key, counted: draw.counted)
            if drawn[place] == nil { places.append(place) }
            drawn[place, default: 0] += coupons
        }
        guard !places.isEmpty else { return nil }
        let p = SQLParameters()
        let run = p.add(runID)
        let chunk = p.add(Int32(stock.first?.chunk ?? -1))
        let sql = """
            WITH drawn AS (
                SELECT d.key, d.counted, d.coupons
                FROM unnest(\(p.add(places.map(\.key)))::text[], \(p.add(places.map(\.counted.rawValue)))::int[],
                            \(p.add(places.map { drawn[$0] ?? 0 }))::bigint[])
                    AS d(key, counted, coupons)),
            stock_taken AS (
                UPDATE template_stock t SET issued = t.issued + d.coupons FROM drawn d
                WHERE t.key = d.key AND (d.counted = 0 OR (d.counted = 2 AND t.stock IS NOT NULL))
                  AND (t.stock IS NULL OR t.issued + d.coupons <= t.stock)
                RETURNING 1),
            reservation_drawn AS (
                UPDATE issue_stock_reservations r SET reserved = r.reserved - d.coupons FROM drawn d
                WHERE r.run_id = \(run) AND r.template_key = d.key AND r.chunk IN (\(chunk), -1)
                  AND d.counted = 1 AND r.reserved >= d.coupons
                RETURNING 1),
            still_unlimited AS (
                SELECT t.key FROM template_stock t
                WHERE t.key IN (SELECT d.key FROM drawn d WHERE d.counted = 2) AND t.stock IS NULL
                FOR KEY SHARE),
            tallied AS (
                INSERT INTO template_issued_chunks (template_key, run_id, chunk, coupons)
                SELECT d.key, \(run), \(chunk), d.coupons FROM drawn d JOIN still_unlimited u ON u.key = d.key
                WHERE d.counted = 2
                RETURNING 1)
            SELECT (SELECT count(*) FROM drawn) = (SELECT count(*) FROM stock_taken) + (SELECT count(*) FROM reservation_drawn) + (SELECT count(*) FROM tallied)
            """
        return (sql, p.values)
    }

    /// The members' coupons: `e` with the columns of their arm's pack as `l` (`CouponLineArrays.columns`,
    /// then arm, arm_name, cap_offset, cap_key, and n, the coupon's place in the pack arrays), and
    /// the condition pairing them (for the WHERE clause).
    ///
    /// When every arm's pack is one coupon (most jobs: one template, or A/B arms of one each), a
    /// member's coupon is its arm's values picked by subscript, or constants for one arm, in a
    /// LATERAL subquery the planner pulls up into the scan of `e`. Otherwise the pack is unnested
    /// and joined by arm, which PostgreSQL hashes: for a pack of one coupon that join was about a
    /// tenth of a chunk statement's server CPU (50 chunks, 1M members: 4.84–5.05 s with it,
    /// 4.35–4.49 s by subscript, 3.65–4.10 s with constants, the floor's own statement cut into the
    /// same chunks 3.15–3.69 s), which a single worker pays in wall time.
    private func packSource(
        _ pack: CouponLineArrays, arms: [Int32], names: [String], capOffsets: [Int32], capKeys: [Int32], _ p: SQLParameters
    ) -> String {
        let columns = "\(CouponLineArrays.columns), arm, arm_name, cap_offset, cap_key, n"
        guard Set(arms).count == pack.count else {
            return """
                e JOIN unnest(\(pack.unnestArguments(p)), \(p.add(arms))::int[], \(p.add(names))::text[],
                                  \(p.add(capOffsets))::int[], \(p.add(capKeys))::int[])
                        WITH ORDINALITY AS l(\(columns))
                        ON l.arm = e.arm
                """
        }
        let ordinals = (1...max(1, pack.count)).map { Int64($0) }
        let values: [(any PostgresBindable, [any PostgresBindable], String)] = [
            (pack.keys.first ?? "", pack.keys, "text"), (pack.versions.first ?? 0, pack.versions, "int"),
            (pack.seqs.first ?? 0, pack.seqs, "int"), (pack.faces.first ?? 0, pack.faces, "bigint"),
            (pack.froms.first ?? "", pack.froms, "timestamptz"), (pack.expiries.first ?? "", pack.expiries, "timestamptz"),
            (pack.uses.first ?? -1, pack.uses, "int"), (arms.first ?? -1, arms, "int"), (names.first ?? "", names, "text"),
            (capOffsets.first ?? -1, capOffsets, "int"), (capKeys.first ?? 0, capKeys, "int"), (Int64(1), ordinals, "bigint"),
        ]
        let picked: [String]
        var everyArm = false
        if pack.count == 1 {
            picked = values.map { "\(p.add($0.0))::\($0.2)" }
        } else {
            // Arrays by plan arm (arm + 1 is the subscript), sent as text and cast; an arm without
            // a pack (a holdout, or one another statement writes) repeats the first coupon's values
            // with arm -1, which no member's arm equals.
            let slot = arms.enumerated().reduce(into: [Int32: Int]()) { $0[$1.element] = $1.offset }
            let armColumn = 7
            everyArm = plan.arms.indices.allSatisfy { slot[Int32($0)] != nil }
            picked = values.enumerated().map { column, value in
                // Every member's arm has a coupon: no arm to filter out.
                if column == armColumn && everyArm { return "e.arm" }
                // The same for every arm (A/B arms often differ only in the template): a constant.
                if column != armColumn, Set(value.1.map { $0.postgresText ?? "" }).count == 1 {
                    return "\(p.add(value.0))::\(value.2)"
                }
                let byArm = plan.arms.indices.map { arm -> String in
                    guard let index = slot[Int32(arm)] else { return column == armColumn ? "-1" : value.1[0].postgresText ?? "" }
                    return value.1[index].postgresText ?? ""
                }
                return "(\(p.add(byArm))::\(value.2)[])[e.arm + 1]"
            }
        }
        let names = columns.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
        let select = zip(picked, names).map { "\($0) AS \($1)" }.joined(separator: ", ")
        return "e JOIN LATERAL (SELECT \(select)) AS l ON \(everyArm ? "true" : "l.arm = e.arm")"
    }

    /// The rows of `insert`'s statement.
    static func result(_ rows: QueryResult) throws -> Result {
        var result = Result()
        for row in rows.rows {
            guard let arm = try row.decodeIfPresent("arm", as: Int32.self) else {
                result.scanned = try row.decodeIfPresent("eligible", as: Int64.self)
                continue
            }
            result.arms[Int(arm)] = ArmResult(
                arm: Int(arm), eligible: try row.decode("eligible", as: Int64.self),
                members: try row.decode("members", as: Int64.self))
        }
        return result
    }
}
