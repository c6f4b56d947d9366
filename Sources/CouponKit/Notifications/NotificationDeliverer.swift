import Foundation
import Logging
import Postgres

/// Delivers a sink's due notifications: claims a batch (`FOR UPDATE SKIP LOCKED`, and a lease in
/// `lease_until` with a claim token, so several deliverers never send the same notification at
/// once), sends it, and records the outcome only while the claim is still its own.
///
/// At least once: a notification is `delivered` only after the sink acknowledged it; a
/// deliverer that dies mid-send leaves it claimed until the lease lapses, then it is sent again
/// (receivers dedupe by `id`). Retries back off exponentially with jitter (or as Retry-After
/// says); after `max_attempts` sends it is `dead` with its last error. Quiet hours defer, never drop.
///
/// Confinement: uses the one connection it is given, from one thread.
public struct NotificationDeliverer: Sendable {
    public let sinks: [String: NotificationSink]
    let environment: [String: String]
    let logger: Logger

    public init(
        sinks: [String: NotificationSink], environment: [String: String] = ProcessInfo.processInfo.environment,
        logger: Logger
    ) {
        self.sinks = sinks
        self.environment = environment
        self.logger = logger
    }

    /// What one delivery pass did.
    public struct Tally: Sendable, Equatable {
        public var delivered: Int64 = 0
        public var retrying: Int64 = 0
        public var dead: Int64 = 0
        /// Pushed to the end of their quiet hours.
        public var deferred: Int64 = 0
        public var batches: Int = 0
        public init() {}

        public mutating func add(_ other: Tally) {
            delivered += other.delivered
            retrying += other.retrying
            dead += other.dead
            deferred += other.deferred
            batches += other.batches
        }
    }

    /// Delivers `sink`'s notifications due at `now` (nil: the database's clock) until none is due
    /// or `budgetSeconds` have passed.
    public func deliver(sink name: String, now: Date? = nil, budgetSeconds: Double, _ connection: Connection) throws -> Tally {
        guard let sink = sinks[name] else {
            throw ConfigurationError("no sink named \"\(name)\" in sinks.yaml")
        }
        // A sink with nothing due needs no secret, no codec and no connection to the receiver.
        let anyDue = try connection.query(
            """
            SELECT 1 FROM notifications
            WHERE sink = $1 AND status = 'pending' AND next_try_at <= coalesce($2::timestamptz, now())
              AND (lease_until IS NULL OR lease_until <= coalesce($2::timestamptz, now()))
            LIMIT 1
            """, [name, now])
        if anyDue.isEmpty { return Tally() }
        let transport = try makeTransport(sink)
        let wire = NotificationWireText(codec: try makeCodec())
        let started = Date()
        var tally = Tally()
        // Every way out of the pass counts what it sent (a struggling sink returns early).
        defer { CouponMetrics.notifications(sink: name, delivered: tally.delivered, failed: tally.retrying, dead: tally.dead) }
        var slots = SlotTexts()
        // Once per pass: notifications that came due inside their quiet hours wait for the end.
        tally.deferred += Int64(try connection.execute(Self.deferQuiet, [name, now]))
        // A batch the sink acknowledged is marked delivered by the statement that claims the
        // next one (one round trip and one commit per batch instead of two).
        var acknowledged: Batch?
        // Where this pass's last claim ended, in the due index's order: the next claim starts
        // there, instead of stepping again over the rows this deliverer still holds (claimed rows
        // keep their entries in the index: the claim is a HOT update). Rows before it that come
        // due meanwhile (a lapsed lease) are found by the claim from the start that ends a pass.
        var cursor: (at: String, id: Int64)?
        func claim() throws -> Batch? {
            while true {
                let token = Int64.random(in: 1...Int64.max)
                let marking = acknowledged
                acknowledged = nil
                let from = cursor
                let result = try connection.query(
                    from == nil ? Self.claim : Self.claimAfterCursor,
                    [name, token, sink.batchSize, transport.leaseSeconds, now, marking?.ids ?? [], marking?.token ?? 0]
                        + (from.map { [$0.at, $0.id] as [any PostgresBindable] } ?? []))
                let rows = result.rows
                if let first = rows.first { tally.delivered += try first.decode(Self.claimMarkedColumn, as: Int64.self) }
                guard let last = rows.last, let lastID = try last.decodeIfPresent(0, as: Int64.self) else {
                    cursor = nil
                    if from == nil { return nil }
                    continue
                }
                cursor = (try last.decode(Self.claimCursorColumn), lastID)
                return try Batch(rows, token: token, wire: wire, slots: &slots, connection)
            }
        }
        func markAcknowledged() throws {
            guard let marking = acknowledged else { return }
            acknowledged = nil
            tally.delivered += Int64(try connection.execute(Self.markDelivered, [marking.ids, marking.token, now]))
        }
        // Pipelined: while the sink works on one batch, the next is claimed and encoded, and the
        // previous one's outcome recorded. A deliverer holds at most three claims at once (one
        // acknowledged and not yet marked, one being sent, one claimed behind it).
        guard var current = try claim() else { return tally }
        var sending = transport.start(current.lines)
        while true {
            var next: Batch?
            do {
                if Date().timeIntervalSince(started) < budgetSeconds { next = try claim() } else { try markAcknowledged() }
            } catch {
                _ = sending.wait()
                throw error
            }
            let outcome = sending.wait()
            tally.batches += 1
            if case .retry(let error, let after) = outcome {
                let statuses = try connection.query(
                    Self.markFailed,
                    [current.ids, current.token, error, sink.maxAttempts, after, Double(sink.maxBackoffSeconds),
                     Double(sink.backoffSeconds), now])
                for row in statuses.rows {
                    if try row.decode(0, as: String.self) == "dead" { tally.dead += 1 } else { tally.retrying += 1 }
                }
                // Claimed but never sent: due again, its attempt not counted.
                if let next { try connection.execute(Self.release, [next.ids, next.token]) }
                logger.info(
                    "sink did not take a batch; will retry",
                    metadata: ["sink.name": "\(name)", "batch.size": "\(current.ids.count)", "error": "\(error)"])
                // The sink is struggling: leave the rest for later passes instead of hammering it.
                return tally
            }
            if let next { sending = transport.start(next.lines) }
            switch outcome {
            case .delivered:
                acknowledged = current
            case .reject(let error):
                do {
                    tally.dead += Int64(try connection.execute(Self.markRejected, [current.ids, current.token, error]))
                } catch {
                    if next != nil { _ = sending.wait() }
                    throw error
                }
                logger.info(
                    "sink refused a batch; dead-lettered",
                    metadata: ["sink.name": "\(name)", "batch.size": "\(current.ids.count)", "error": "\(error)"])
            case .retry:
                break
            }
            guard let following = next else { break }
            current = following
        }
        try markAcknowledged()
        return tally
    }

    /// A claimed batch, encoded for its sink.
    struct Batch {
        var ids: [Int64] = []
        let token: Int64
        var lines: [Data] = []

        /// `rows` are the claim's (see `claim`). A payload that lists its coupons
        /// (sweeps) is spliced as it is; one that does not (a bundle's periods) gets its coupons
        /// read by id and the message encoded (`unlisted`).
        init(_ rows: [Row], token: Int64, wire: NotificationWireText, slots: inout SlotTexts, _ connection: Connection)
            throws
        {
            self.token = token
            var out: [UInt8] = []
            var unlisted: [(line: Int, message: NotificationMessage, zone: TimeZone)] = []
            for row in rows {
                let id: Int64 = try row.decode(0)
                let zone: String = try row.decode(8)
                let fields = NotificationWireText.Fields(
                    id: id, jobJSON: try row.decode(1), kindJSON: try row.decode(3), memberID: try row.decode(4),
                    openidJSON: try row.decodeIfPresent(5), slot: try slots.text(slot: try row.decode(2), zone: zone),
                    couponIDs: try row.decode(6))
                ids.append(id)
                if try row.decode(9, as: String.self) == "t" {
                    out.removeAll(keepingCapacity: true)
                    try row.withBytes(7) { payload in try wire.append(payload: payload, fields, to: &out) }
                    lines.append(Data(out))
                } else {
                    let payload = try JSONDecoder().decode(
                        NotificationMessage.StoredPayload.self, from: Data(try row.decode(7, as: String.self).utf8))
                    let message = NotificationMessage(
                        id: id, kind: try row.decode(10), job: try row.decode(11), slot: fields.slot, memberID: fields.memberID,
                        openid: try row.decodeIfPresent(12), coupons: [], bundles: payload.bundles)
                    unlisted.append((lines.count, message, TimeZone(identifier: zone) ?? DefinitionDefaults.timeZone))
                    lines.append(Data())
                }
            }
            guard !unlisted.isEmpty else { return }
            let details = try NotificationCouponDetails.load(unlisted.map { ($0.message.id, $0.zone) }, connection)
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
            for (line, message, _) in unlisted {
                var message = message
                message.coupons = details[message.id] ?? []
                for index in message.coupons.indices {
                    message.coupons[index].code = try wire.codec.code(for: message.coupons[index].couponID)
                }
                lines[line] = try encoder.encode(message)
            }
        }
    }

    /// A batch's notifications mostly share their zone and slot: formatters are costly to make,
    /// and the slot's text from the server serves as the key without parsing it.
    struct SlotTexts {
        private var texts: [String: String] = [:]

        mutating func text(slot: String, zone: String) throws -> String {
            let key = zone + " " + slot
            if let text = texts[key] { return text }
            let date = try Date(postgresText: slot)
            let text = ISO8601Text.format(date, TimeZone(identifier: zone) ?? DefinitionDefaults.timeZone)
            texts[key] = text
            return text
        }
    }

    /// Earliest time a pending notification of these sinks is due, if any.
    public func nextDue(sinks names: [String], _ connection: Connection) throws -> Date? {
        try connection.query(
            """
            SELECT min(greatest(next_try_at, lease_until)) FROM notifications
            WHERE status = 'pending' AND sink = ANY($1::text[])
            """, [names]
        ).row(0).decodeIfPresent(0, as: Date.self)
    }

    func makeTransport(_ sink: NotificationSink) throws -> any NotificationTransport {
        switch sink.destination {
        case .webhook(let url, let source, let timeout):
            let secret = try WebhookSecret.read(source, sink: sink.name, environment: environment)
            return WebhookTransport(url: url, secret: secret, timeoutSeconds: Double(timeout))
        case .file(let path):
            return FileTransport(path: path)
        case .stdout:
            return FileTransport(path: nil)
        }
    }

    func makeCodec() throws -> CouponCodec {
        do {
            return CouponCodec(keyring: try CodeSecret.fromEnvironment(environment))
        } catch {
            throw ConfigurationError("notifications carry coupon codes: \(error)")
        }
    }

    // MARK: Statements ($now: nil is the database's clock)

    /// Pending notifications inside their quiet hours wait until the hours end (no attempt used).
    static let deferQuiet = """
        UPDATE notifications n SET next_try_at = quiet_hours_end(coalesce($2::timestamptz, now()), n.zone, n.quiet_from, n.quiet_until)
        FROM (SELECT id FROM notifications
              WHERE sink = $1 AND status = 'pending' AND quiet_from IS NOT NULL
                AND next_try_at <= coalesce($2::timestamptz, now())
                AND (lease_until IS NULL OR lease_until <= coalesce($2::timestamptz, now()))
                AND quiet_hours_end(coalesce($2::timestamptz, now()), zone, quiet_from, quiet_until) > coalesce($2::timestamptz, now())
              FOR UPDATE SKIP LOCKED) AS quiet
        WHERE n.id = quiet.id
        """

    /// A batch of due notifications, claimed with a token and a lease; the attempt is counted now.
    /// It changes no indexed column (the lease has a column of its own), so it is a HOT update.
    /// The same statement marks delivered the batch acknowledged before ($6 its ids, $7 its
    /// token; an empty list marks nothing): its rows still hold that claim's lease, so the claim
    /// cannot take them, and `claim IS DISTINCT FROM $7` says so outright.
    /// One row per claimed notification, in the due index's order (next_try_at, id): id, job, slot,
    /// kind, member_id, openid, coupon_ids, payload, zone (strings as JSON text), listed, kind, job,
    /// openid as text, how many it marked delivered (`claimMarkedColumn`) and next_try_at as text
    /// (`claimCursorColumn`, exact to the microsecond). Nothing claimed: one row of NULLs but that count.
    static let claim = claimStatement(afterCursor: false)

    /// The claim from where the previous one ended: ($8, $9) is its last row's (next_try_at, id).
    static let claimAfterCursor = claimStatement(afterCursor: true)

    static func claimStatement(afterCursor: Bool) -> String {
        """
        WITH marked AS (
            \(markDeliveredStatement(ids: "$6", claim: "$7", at: "$5"))
            RETURNING 1
        ), claimed AS (
            UPDATE notifications n
            SET attempts = n.attempts + 1, claim = $2,
                lease_until = coalesce($5::timestamptz, now()) + make_interval(secs => $4::double precision)
            FROM (SELECT id FROM notifications
                  WHERE sink = $1 AND status = 'pending' AND next_try_at <= coalesce($5::timestamptz, now())
                    AND (lease_until IS NULL OR lease_until <= coalesce($5::timestamptz, now()))
                    AND claim IS DISTINCT FROM $7
                    \(afterCursor ? "AND (next_try_at, id) > ($8::timestamptz, $9::bigint)" : "")
                    AND (quiet_from IS NULL
                         OR quiet_hours_end(coalesce($5::timestamptz, now()), zone, quiet_from, quiet_until) <= coalesce($5::timestamptz, now()))
                  ORDER BY next_try_at, id
                  LIMIT $3
                  FOR UPDATE SKIP LOCKED) AS due
            WHERE n.id = due.id
            RETURNING n.id, n.job, n.slot, n.kind, n.member_id, n.openid, n.coupon_ids, n.payload, n.zone, n.next_try_at
        )
        SELECT c.id, c.job, c.slot, c.kind, c.member_id, c.openid, c.coupon_ids, c.payload, c.zone, c.listed, c.kind_text,
               c.job_text, c.openid_text, m.marked, c.next_try_at::text
        FROM (SELECT count(*)::bigint AS marked FROM marked) AS m
        LEFT JOIN (SELECT id, to_json(job)::text AS job, slot, to_json(kind)::text AS kind, member_id,
                          to_json(openid)::text AS openid, coupon_ids, payload::text AS payload, zone,
                          kind <> 'bundle' AS listed, kind AS kind_text, job AS job_text, openid AS openid_text,
                          next_try_at, id AS order_id
                   FROM claimed) AS c ON true
        ORDER BY c.next_try_at, c.order_id
        """
    }

    static let claimMarkedColumn = 13
    static let claimCursorColumn = 14

    /// A batch claimed but not sent (the sink failed the one before it): claimable again, the
    /// attempt its claim counted taken back.
    static let release = """
        UPDATE notifications SET claim = NULL, lease_until = NULL, attempts = attempts - 1
        WHERE id = ANY($1::bigint[]) AND claim = $2
        """

    static let markDelivered = markDeliveredStatement(ids: "$1", claim: "$2", at: "$3")

    /// The rows `ids` become delivered if claim `claim` is still theirs; used alone and inside
    /// the claim statement, with the parameter numbers given.
    static func markDeliveredStatement(ids: String, claim: String, at: String) -> String {
        """
        UPDATE notifications SET status = 'delivered', delivered_at = coalesce(\(at)::timestamptz, now()), claim = NULL,
                                 lease_until = NULL, last_error = NULL
        WHERE id = ANY(\(ids)::bigint[]) AND claim = \(claim)
        """
    }

    /// Back to pending after a backoff (Retry-After when given), or dead after the last attempt.
    static let markFailed = """
        UPDATE notifications
        SET status = CASE WHEN attempts >= $4 THEN 'dead' ELSE 'pending' END,
            claim = NULL, lease_until = NULL, last_error = $3,
            next_try_at = CASE WHEN attempts >= $4 THEN next_try_at ELSE quiet_hours_end(
                coalesce($8::timestamptz, now()) + make_interval(secs => coalesce($5::double precision,
                    least($6::double precision, $7::double precision * power(2, least(attempts - 1, 30))) * (0.5 + random() / 2))),
                zone, quiet_from, quiet_until) END
        WHERE id = ANY($1::bigint[]) AND claim = $2
        RETURNING status
        """

    static let markRejected = """
        UPDATE notifications SET status = 'dead', claim = NULL, lease_until = NULL, last_error = $3
        WHERE id = ANY($1::bigint[]) AND claim = $2
        """
}
