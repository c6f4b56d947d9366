import Foundation
import Postgres

/// Streams a run's coupons (member, code, value, validity) for a messaging vendor, in bounded
/// memory: rows arrive one at a time and codes are computed as they pass.
public struct CouponExporter: Sendable {
    public enum Format: String, Sendable, CaseIterable {
        case csv, ndjson
    }

    public let codec: CouponCodec
    public let format: Format

    public init(codec: CouponCodec, format: Format) {
        self.codec = codec
        self.format = format
    }

    static let header = "coupon_id,code,member_id,openid,template,version,arm,face_value_fen,valid_from,expires_at,status,label"

    /// Writes every coupon of `runID` through `write`, in id order; returns how many.
    @discardableResult
    public func export(runID: Int64, _ connection: Connection, write: (String) throws -> Void) throws -> Int {
        guard try !connection.query("SELECT 1 FROM job_runs WHERE id = $1", [runID]).isEmpty else {
            throw InputError("no run with id \(runID)")
        }
        if format == .csv { try write(Self.header + "\n") }
        var count = 0
        try connection.forEachRow(
            """
            SELECT c.id, c.member_id, m.openid, c.template_key, c.template_version, c.arm, c.face_value_fen,
                   c.valid_from, c.expires_at, c.status, c.label
            FROM coupons c LEFT JOIN members m ON m.id = c.member_id
            WHERE c.run_id = $1
            ORDER BY c.id
            """, [runID]
        ) { row in
            let id: Int64 = try row.decode("id")
            let code = try codec.code(for: id)
            let record = Record(
                coupon_id: id, code: code, member_id: try row.decode("member_id"), openid: try row.decodeIfPresent("openid"),
                template: try row.decode("template_key"), version: try row.decode("template_version"),
                arm: try row.decodeIfPresent("arm"), face_value_fen: try row.decode("face_value_fen"),
                valid_from: Self.iso(try row.decode("valid_from")), expires_at: Self.iso(try row.decode("expires_at")),
                status: try row.decode("status"), label: try row.decodeIfPresent("label"))
            try write(format == .csv ? record.csvLine : record.jsonLine)
            count += 1
        }
        return count
    }

    static func iso(_ date: Date) -> String { date.formatted(.iso8601) }

    struct Record: Encodable {
        let coupon_id: Int64
        let code: String
        let member_id: Int64
        let openid: String?
        let template: String
        let version: Int
        let arm: String?
        let face_value_fen: Int64
        let valid_from: String
        let expires_at: String
        let status: String
        /// A subscription plan's exclusive label (会员专享): member-exclusive coupons show it.
        let label: String?

        var csvLine: String {
            [
                "\(coupon_id)", code, "\(member_id)", Self.csv(openid ?? ""), Self.csv(template), "\(version)",
                Self.csv(arm ?? ""), "\(face_value_fen)", valid_from, expires_at, status,
                Self.csv(label ?? ""),
            ].joined(separator: ",") + "\n"
        }

        enum CodingKeys: String, CodingKey {
            case coupon_id, code, member_id, openid, template, version, arm, face_value_fen, valid_from, expires_at, status, label
        }

        /// Every column on every line, `null` when empty, as in the CSV header: the synthesized
        /// encoder would leave out `openid` and `arm` when they are nil.
        func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(coupon_id, forKey: .coupon_id)
            try container.encode(code, forKey: .code)
            try container.encode(member_id, forKey: .member_id)
            try container.encode(openid, forKey: .openid)
            try container.encode(template, forKey: .template)
            try container.encode(version, forKey: .version)
            try container.encode(arm, forKey: .arm)
            try container.encode(face_value_fen, forKey: .face_value_fen)
            try container.encode(valid_from, forKey: .valid_from)
            try container.encode(expires_at, forKey: .expires_at)
            try container.encode(status, forKey: .status)
            try container.encode(label, forKey: .label)
        }

        var jsonLine: String {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
            return String(decoding: (try? encoder.encode(self)) ?? Data(), as: UTF8.self) + "\n"
        }

        static func csv(_ field: String) -> String {
            guard field.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" }) else { return field }
            return "\"" + field.replacingOccurrences(of: "\"", with: "\"\"") + "\""
        }
    }
}

extension CodeSecretError: CategorizedError {
    public var category: FailureCategory { .configuration }
}

extension CouponCodeError: CategorizedError {
    public var category: FailureCategory { .badInput }
}
