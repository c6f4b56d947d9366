import Foundation
import Logging
import Postgres

/// `events import FILE.csv` (`external_id,member_id,type,amount_fen,occurred_at`): back-fills
/// events the merchant's systems could not send. Rows are checked while they stream into a
/// staging table (COPY); one set-based INSERT then records the good ones, idempotent by external
/// id, so importing the same file twice records each event once. Bad rows are reported by line.
public struct MemberEventImport: Sendable {
    public static let header = ["external_id", "member_id", "type", "amount_fen", "occurred_at"]

    public struct Outcome: Sendable, Equatable, Codable {
        public var read = 0
        public var inserted = 0
        /// Good rows whose external id was already recorded (an earlier import, or the sender).
        public var alreadyRecorded = 0
        public var rejected = 0
    }

    public init() {}

    public func run(path: String, _ connection: Connection, logger: Logger, onReject: (CSVRejection) -> Void) throws
        -> Outcome
    {
        try connection.transaction { tx in
            let staged = try CSVStaging(schema: Schema(), table: "event_import").stage(path: path, tx, onReject: onReject)
            var outcome = Outcome(read: staged.read, rejected: staged.rejected)
            // The same external id twice in one file: the first line is recorded, later ones refused.
            let staging = CSVStaging(schema: Schema(), table: "event_import")
            let repeated = try staging.dropRepeatedKeys(
                "external_id", field: "external_id", tx, reason: { "\"\($0)\" is already on line \($1)" }, onReject: onReject)
            outcome.rejected += repeated
            outcome.inserted = try tx.execute(
                """
                INSERT INTO member_events (external_id, member_id, type, amount_fen, occurred_at)
                SELECT external_id, member_id, type, amount_fen, occurred_at FROM event_import
                ORDER BY line
                ON CONFLICT (external_id) DO NOTHING
                """)
            outcome.alreadyRecorded = staged.staged - repeated - outcome.inserted
            logger.info(
                "member events imported",
                metadata: [
                    "import.file": "\(path)", "import.inserted": "\(outcome.inserted)", "import.rejected": "\(outcome.rejected)",
                ])
            return outcome
        }
    }

    struct Event {
        var externalID: String
        var memberID: Int64
        var type: String
        var amountFen: Int64?
        var occurredAt: String
    }

    struct Schema: CSVSchema {
        var header: [String] { MemberEventImport.header }
        let stagingColumns = """
            external_id text NOT NULL, member_id bigint NOT NULL, type text NOT NULL, amount_fen bigint,
            occurred_at timestamptz NOT NULL
            """

        func decode(_ f: [String]) throws(CSVFieldError) -> Event {
            let externalID = try CSVField.text(f[0], "external_id", maxLength: 200)
            let member = try CSVField.integer(f[1], "member_id", in: 1...Int64.max)
            let type = f[2].trimmingCharacters(in: .whitespaces)
            guard MemberEventType.isValid(type) else {
                throw CSVFieldError("type", "\"\(type.prefix(40))\" must be lowercase letters, digits, - or _ (e.g. payment)")
            }
            let amountText = f[3].trimmingCharacters(in: .whitespaces)
            let amount = amountText.isEmpty ? nil : try CSVField.integer(amountText, "amount_fen", in: 0...Int64.max)
            return Event(
                externalID: externalID, memberID: member, type: type, amountFen: amount,
                occurredAt: try CSVField.instant(f[4], "occurred_at"))
        }

        func write(_ e: Event, to writer: inout CopyInWriter) throws {
            try writer.field(e.externalID)
            writer.field(e.memberID)
            writer.rawField(e.type)
            if let amount = e.amountFen { writer.field(amount) } else { writer.null() }
            try writer.field(e.occurredAt)
        }
    }
}
