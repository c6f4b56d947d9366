import Foundation
import Logging
import Postgres

/// `redemptions import FILE.csv`: uses recorded by tills while they were offline, back-filled.
///
/// Each row is applied as `redeem` would at the row's recorded time. Codes are verified while
/// the file streams into a staging table (forged or mistyped ones never reach the database);
/// the rest is a run in the ledger (job `redemptions-import`, visible in `runs`) whose chunks
/// of lines each commit in one fenced transaction with their checkpoint. Request ids make the
/// import safe to run again: rows recorded before come back as "already recorded". Rows that
/// conflict are reported by line with the reason; the good rows are applied.
public struct RedemptionImport: Sendable {
    public static let job = "redemptions-import"
    public static let header = ["code", "store", "amount_fen", "redeemed_at", "request_id"]

    public let codec: CouponCodec
    public let ledger: RunLedger
    /// Lines per chunk transaction.
    public let chunkLines: Int64

    public init(codec: CouponCodec, ledger: RunLedger, chunkLines: Int64 = 5_000) {
        self.codec = codec
        self.ledger = ledger
        self.chunkLines = chunkLines
    }

    public struct Outcome: Sendable, Equatable, Codable {
        public var runID: Int64 = 0
        public var read = 0
        public var redeemed = 0
        /// Request ids recorded before with the same coupon (a re-run, a till's retry).
        public var alreadyRecorded = 0
        public var rejected = 0

        enum CodingKeys: String, CodingKey {
            case read, redeemed, rejected
            case runID = "run_id"
            case alreadyRecorded = "already_recorded"
        }
    }

    public func run(path: String, _ connection: Connection, logger: Logger, onReject: (CSVRejection) -> Void) throws
        -> Outcome
    {
        // Staged outside any transaction: the temporary table lives for the session, across the
        // chunk transactions below.
        let staged = try CSVStaging(schema: Schema(codec: codec), table: "redemption_import")
            .stage(path: path, connection, dropOnCommit: false, onReject: onReject)
        defer { _ = try? connection.execute("DROP TABLE IF EXISTS pg_temp.redemption_import") }
        // Serves each chunk's `line >= $1 AND line < $2`: without it every chunk scans the file.
        try connection.execute("CREATE INDEX ON redemption_import (line)")
        // Rows refused while reading count in the run's ledger row as in the printed outcome: they
        // are committed with the first chunk (an empty one when no row was staged), so `runs`
        // and the command agree on rows and refusals.
        var outcome = Outcome(read: staged.read)
        let reading: RunCounts = ["rows": Int64(staged.read - staged.staged), "rejected": Int64(staged.rejected)]

        let run = try claimRun(connection)
        outcome.runID = run.id
        var log = logger
        log[metadataKey: "run.id"] = "\(run.id)"
        do {
            let bounds = try connection.query("SELECT min(line) AS lo, max(line) AS hi FROM redemption_import").row(0)
            let chunks =
                try bounds.decodeIfPresent("lo", as: Int64.self).map { lo in
                    RunPlan.ranges(from: lo, to: try bounds.decode("hi", as: Int64.self) + 1, size: chunkLines)
                } ?? [RunPlan.Chunk(lower: 0, upper: 0)]
            try ledger.savePlan(
                run, planJSON: String(decoding: try JSONEncoder().encode(RunPlan(chunks: chunks, parallel: false)), as: UTF8.self),
                connection)
            let redeemer = CouponRedeemer(source: "import", runID: run.id)
            for (index, chunk) in chunks.enumerated() {
                let counts = try applyChunk(
                    chunk, index: index, adding: index == 0 ? reading : [:], run: run, redeemer, connection, onReject: onReject)
                outcome.redeemed += Int(counts["redeemed"] ?? 0)
                outcome.alreadyRecorded += Int(counts["already_recorded"] ?? 0)
                outcome.rejected += Int(counts["rejected"] ?? 0)
                guard try ledger.heartbeat(run, connection) else {
                    throw RunLedger.LeaseLost(runID: run.id, attempt: run.attempt)
                }
            }
            let note =
                "\(URL(fileURLWithPath: path).lastPathComponent): \(outcome.read) rows, \(outcome.redeemed) redeemed, "
                + "\(outcome.alreadyRecorded) already recorded, \(outcome.rejected) refused"
            try ledger.finish(run, status: .succeeded, error: nil, note: note, retryAfterSeconds: nil, connection)
            log.info(
                "redemptions imported",
                metadata: [
                    "import.redeemed": "\(outcome.redeemed)", "import.already_recorded": "\(outcome.alreadyRecorded)",
                    "import.rejected": "\(outcome.rejected)",
                ])
            return outcome
        } catch {
            _ = try? ledger.finish(
                run, status: .failed, error: "\(error)", note: nil, retryAfterSeconds: nil, connection)
            throw error
        }
    }

    /// A run of its own for this import: a manual slot at the database's clock (a later import
    /// of the same file is a new run; its request ids keep it from applying anything twice).
    private func claimRun(_ connection: Connection) throws -> ClaimedRun {
        for _ in 0..<5 {
            let recorded = try SlotLedger().recordManual(job: Self.job, slot: try SlotLedger.databaseNow(connection), connection)
            guard recorded.created else { continue }
            if let run = try ledger.takeNext(jobs: [Self.job], forbidOverlap: [], onlyRun: recorded.id, connection) {
                return run
            }
        }
        throw PostgresError(kind: .client, message: "could not record a run for the redemptions import")
    }

    /// One chunk of lines in one transaction, committed with its checkpoint (fenced), its counts
    /// plus `extra` (the reading's, on the first chunk).
    private func applyChunk(
        _ chunk: RunPlan.Chunk, index: Int, adding extra: RunCounts, run: ClaimedRun, _ redeemer: CouponRedeemer,
        _ connection: Connection,
        onReject: (CSVRejection) -> Void
    ) throws -> RunCounts {
        var tries = 0
        // Request ids are looked up only for refused rows at first (nearly all of a file's are
        // new); after a collision, which a recorded id among the rows to redeem causes, all first.
        var requestsFirst = false
        while true {
            tries += 1
            var rejections: [CSVRejection] = []
            do {
                let counts = try connection.transaction { tx -> RunCounts in
                    let rows = try tx.query(
                        """
                        SELECT line, coupon_id, code, store, amount_fen, at, request_id FROM redemption_import
                        WHERE line >= $1 AND line < $2 ORDER BY line
                        """, [chunk.lower, chunk.upper]
                    ).rows
                    var attempts: [RedemptionAttempt] = []
                    for row in rows {
                        attempts.append(
                            RedemptionAttempt(
                                couponID: try row.decode("coupon_id"), requestID: try row.decode("request_id"),
                                store: try row.decode("store"), amountFen: try row.decode("amount_fen"), at: try row.decode("at")))
                    }
                    var counts: RunCounts = ["rows": Int64(rows.count), "redeemed": 0, "already_recorded": 0, "rejected": 0]
                    for (outcome, (row, attempt)) in zip(try redeemer.apply(attempts, requestsFirst: requestsFirst, in: tx), zip(rows, attempts)) {
                        switch outcome {
                        case .redeemed: counts["redeemed", default: 0] += 1
                        case .replayed: counts["already_recorded", default: 0] += 1
                        case .refused(let refusal):
                            counts["rejected", default: 0] += 1
                            // The row as the reject file shows it: formatted only for the few refused.
                            rejections.append(
                                CSVRejection(
                                    line: Int(try row.decode("line", as: Int64.self)), field: nil, reason: refusal.description,
                                    fields: [
                                        try row.decode("code"), attempt.store, "\(attempt.amountFen)",
                                        (attempt.at ?? Date()).formatted(.iso8601), attempt.requestID,
                                    ]))
                        }
                    }
                    counts.merge(extra, uniquingKeysWith: +)
                    try ledger.commitChunk(run, chunk: index, counts: counts, in: tx)
                    return counts
                }
                rejections.forEach(onReject)
                return counts
            } catch let error as PostgresError where error.code == .uniqueViolation && tries < RetryStrategy.database.attempts {
                requestsFirst = true
                continue  // a row's request id was recorded (before, or by a till meanwhile); the retry sees it
            } catch {
                guard RetryStrategy.database.shouldRetry(error, attempt: tries) else { throw error }
                Thread.sleep(forTimeInterval: RetryStrategy.database.delay(attempt: tries))
            }
        }
    }

    struct Row {
        var couponID: Int64
        var code: String
        var store: String
        var amountFen: Int64
        var at: String
        var requestID: String
    }

    struct Schema: CSVSchema {
        let codec: CouponCodec
        var header: [String] { RedemptionImport.header }
        let stagingColumns = """
            coupon_id bigint NOT NULL, code text NOT NULL, store text NOT NULL, amount_fen bigint NOT NULL,
            at timestamptz NOT NULL, request_id text NOT NULL
            """

        func decode(_ f: [String]) throws(CSVFieldError) -> Row {
            let code = CSVField.trimmed(f[0])
            let couponID: Int64
            switch CouponRedeemer.couponID(of: code, codec) {
            case .success(let id): couponID = id
            case .failure(let refusal): throw CSVFieldError("code", refusal.description)
            }
            return Row(
                couponID: couponID, code: code, store: try CSVField.text(f[1], "store", maxLength: 64),
                amountFen: try CSVField.integer(f[2], "amount_fen", in: 0...Int64.max),
                at: try CSVField.instant(f[3], "redeemed_at"),
                requestID: try CSVField.text(f[4], "request_id", maxLength: 128))
        }

        func write(_ row: Row, to writer: inout CopyInWriter) throws {
            writer.field(row.couponID)
            try writer.field(row.code)
            try writer.field(row.store)
            writer.field(row.amountFen)
            try writer.field(row.at)
            try writer.field(row.requestID)
        }
    }
}

/// Writes refused rows next to the input, in line order, so they can be fixed and imported again.
public struct RejectFile {
    public let path: String
    private let header: [String]
    private var rejections: [CSVRejection] = []

    /// `orders.csv` → `orders.rejects.csv`.
    public init(besides input: String, header: [String]) {
        let url = URL(fileURLWithPath: input)
        let stem = url.deletingPathExtension().lastPathComponent
        path = url.deletingLastPathComponent().appendingPathComponent("\(stem).rejects.csv").path
        self.header = header
    }

    public mutating func add(_ rejection: CSVRejection) { rejections.append(rejection) }

    public var count: Int { rejections.count }

    /// Writes the file when rows were refused; removes one left by an earlier import otherwise.
    public func write() throws {
        if rejections.isEmpty {
            try? FileManager.default.removeItem(atPath: path)
            return
        }
        var text = CSVText.line(header + ["line", "reason"])
        for rejection in rejections.sorted(by: { $0.line < $1.line }) {
            let reason = (rejection.field.map { "\($0): " } ?? "") + rejection.reason
            text += CSVText.line(rejection.fields + ["\(rejection.line)", reason])
        }
        try text.write(toFile: path, atomically: true, encoding: .utf8)
    }
}
