import Foundation
import Logging
import Postgres

/// Delivers a sink's due notifications: claims a batch (`FOR UPDATE SKIP LOCKED`, and a lease in
/// `next_try_at` with a claim token, so several deliverers never send the same notification at
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
            WHERE sink = $1 AND status = 'pending' AND next_try_at <= coalesce($2::timestamptz, now()) LIMIT 1
            """, [name, now])
        if anyDue.isEmpty { return Tally() }
        let transport = try makeTransport(sink)
        let codec = try makeCodec()
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        let started = Date()
        var tally = Tally()
        // Every way out of the pass counts what it sent (a struggling sink returns early).
        defer { CouponMetrics.notifications(sink: name, delivered: tally.delivered, failed: tally.retrying, dead: tally.dead) }
        // A batch's notifications mostly share their zone and slot: formatters are costly to make.
        var slotTexts: [String: String] = [:]
        let decoder = JSONDecoder()
        // Once per pass: notifications that came due inside their quiet hours wait for the end.
        tally.deferred += Int64(try connection.execute(Self.deferQuiet, [name, now]))
        while Date().timeIntervalSince(started) < budgetSeconds {
            let token = Int64.random(in: 1...Int64.max)
            let claimed = try connection.query(Self.claim, [name, token, sink.batchSize, transport.leaseSeconds, now])
            if claimed.isEmpty { break }
            var messages: [NotificationMessage] = []
            var unlisted: [(id: Int64, zone: TimeZone)] = []
            for row in claimed.rows {
                let zoneName: String = try row.decode("zone")
                let slot: Date = try row.decode("slot")
                let key = "\(zoneName) \(slot.timeIntervalSince1970)"
                let slotText =
                    slotTexts[key]
                    ?? ISO8601Text.format(slot, TimeZone(identifier: zoneName) ?? DefinitionDefaults.timeZone)
                slotTexts[key] = slotText
                let (message, listed) = try Self.message(row, slot: slotText, codec: codec, decoder: decoder)
                messages.append(message)
                if !listed { unlisted.append((message.id, TimeZone(identifier: zoneName) ?? DefinitionDefaults.timeZone)) }
            }
            // Bundle notifications name their coupons by id only: read them now, with their codes.
            if !unlisted.isEmpty {
                let details = try NotificationCouponDetails.load(unlisted, connection)
                let unlistedIDs = Set(unlisted.map(\.id))
                for index in messages.indices where unlistedIDs.contains(messages[index].id) {
                    var coupons = details[messages[index].id] ?? []
                    for coupon in coupons.indices { coupons[coupon].code = try codec.code(for: coupons[coupon].couponID) }
                    messages[index].coupons = coupons
                }
            }
            messages.sort { $0.id < $1.id }
            let ids = messages.map(\.id)
            let lines = try messages.map { try encoder.encode($0) }
            let outcome = transport.send(lines)
            tally.batches += 1
            switch outcome {
            case .delivered:
                tally.delivered += Int64(try connection.execute(Self.markDelivered, [ids, token, now]))
            case .retry(let error, let after):
                let statuses = try connection.query(
                    Self.markFailed,
                    [ids, token, error, sink.maxAttempts, after, Double(sink.maxBackoffSeconds), Double(sink.backoffSeconds), now])
                for row in statuses.rows {
                    if try row.decode(0, as: String.self) == "dead" { tally.dead += 1 } else { tally.retrying += 1 }
                }
                logger.info(
                    "sink did not take a batch; will retry",
                    metadata: ["sink.name": "\(name)", "batch.size": "\(ids.count)", "error": "\(error)"])
                // The sink is struggling: leave the rest for later passes instead of hammering it.
                return tally
            case .reject(let error):
                tally.dead += Int64(try connection.execute(Self.markRejected, [ids, token, error]))
                logger.info(
                    "sink refused a batch; dead-lettered",
                    metadata: ["sink.name": "\(name)", "batch.size": "\(ids.count)", "error": "\(error)"])
            }
        }
        return tally
    }

    /// Earliest time a pending notification of these sinks is due, if any.
    public func nextDue(sinks names: [String], _ connection: Connection) throws -> Date? {
        try connection.query(
            "SELECT min(next_try_at) FROM notifications WHERE status = 'pending' AND sink = ANY($1::text[])", [names]
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

    /// The message of a claimed row, and whether its payload listed its coupons (a bundle's does
    /// not: the caller reads them by id).
    static func message(_ row: Row, slot: String, codec: CouponCodec, decoder: JSONDecoder) throws
        -> (NotificationMessage, listed: Bool)
    {
        let payload = try decoder.decode(
            NotificationMessage.StoredPayload.self, from: Data(try row.decode("payload", as: String.self).utf8))
        var coupons = payload.coupons ?? []
        for index in coupons.indices { coupons[index].code = try codec.code(for: coupons[index].couponID) }
        let message = NotificationMessage(
            id: try row.decode("id"), kind: try row.decode("kind"), job: try row.decode("job"),
            slot: slot, memberID: try row.decode("member_id"),
            openid: try row.decodeIfPresent("openid"), coupons: coupons, bundles: payload.bundles)
        return (message, payload.coupons != nil)
    }

    // MARK: Statements ($now: nil is the database's clock)

    /// Pending notifications inside their quiet hours wait until the hours end (no attempt used).
    static let deferQuiet = """
        UPDATE notifications n SET next_try_at = quiet_hours_end(coalesce($2::timestamptz, now()), n.zone, n.quiet_from, n.quiet_until)
        FROM (SELECT id FROM notifications
              WHERE sink = $1 AND status = 'pending' AND quiet_from IS NOT NULL
                AND next_try_at <= coalesce($2::timestamptz, now())
                AND quiet_hours_end(coalesce($2::timestamptz, now()), zone, quiet_from, quiet_until) > coalesce($2::timestamptz, now())
              FOR UPDATE SKIP LOCKED) AS quiet
        WHERE n.id = quiet.id
        """

    /// A batch of due notifications, claimed with a token and a lease; the attempt is counted now.
    static let claim = """
        UPDATE notifications n
        SET attempts = n.attempts + 1, claim = $2,
            next_try_at = coalesce($5::timestamptz, now()) + make_interval(secs => $4::double precision)
        FROM (SELECT id FROM notifications
              WHERE sink = $1 AND status = 'pending' AND next_try_at <= coalesce($5::timestamptz, now())
                AND (quiet_from IS NULL
                     OR quiet_hours_end(coalesce($5::timestamptz, now()), zone, quiet_from, quiet_until) <= coalesce($5::timestamptz, now()))
              ORDER BY next_try_at
              LIMIT $3
              FOR UPDATE SKIP LOCKED) AS due
        WHERE n.id = due.id
        RETURNING n.id, n.job, n.slot, n.kind, n.member_id, n.openid, n.payload::text AS payload, n.zone
        """

    static let markDelivered = """
        UPDATE notifications SET status = 'delivered', delivered_at = coalesce($3::timestamptz, now()), claim = NULL,
                                 last_error = NULL
        WHERE id = ANY($1::bigint[]) AND claim = $2
        """

    /// Back to pending after a backoff (Retry-After when given), or dead after the last attempt.
    static let markFailed = """
        UPDATE notifications
        SET status = CASE WHEN attempts >= $4 THEN 'dead' ELSE 'pending' END,
            claim = NULL, last_error = $3,
            next_try_at = CASE WHEN attempts >= $4 THEN next_try_at ELSE quiet_hours_end(
                coalesce($8::timestamptz, now()) + make_interval(secs => coalesce($5::double precision,
                    least($6::double precision, $7::double precision * power(2, least(attempts - 1, 30))) * (0.5 + random() / 2))),
                zone, quiet_from, quiet_until) END
        WHERE id = ANY($1::bigint[]) AND claim = $2
        RETURNING status
        """

    static let markRejected = """
        UPDATE notifications SET status = 'dead', claim = NULL, last_error = $3
        WHERE id = ANY($1::bigint[]) AND claim = $2
        """
}
