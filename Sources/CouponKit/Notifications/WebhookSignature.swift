import Crypto
import Foundation

/// The `Couponbatch-Signature` header of webhook POSTs: `t=<unix seconds>,v1=<hex HMAC-SHA256 of
/// "<t>.<body>">`, keyed by the sink's secret. A receiver recomputes the HMAC over the raw body it
/// got, compares in constant time, and rejects a `t` too far from its clock (replays).
public struct WebhookSignature: Sendable {
    public static let headerName = "Couponbatch-Signature"

    private let key: SymmetricKey

    public init(secret: [UInt8]) { key = SymmetricKey(data: secret) }

    /// The header value for `body` sent at `timestamp` (unix seconds).
    public func header(body: Data, timestamp: Int64) -> String {
        "t=\(timestamp),v1=\(hex(body: body, timestamp: timestamp))"
    }

    /// Whether `header` signs `body` with this key (and its time is within `toleranceSeconds` of `now`).
    public func verify(header: String, body: Data, now: Int64, toleranceSeconds: Int64 = 300) -> Bool {
        var timestamp: Int64?
        var signatures: [String] = []
        for part in header.split(separator: ",") {
            let pair = part.split(separator: "=", maxSplits: 1)
            guard pair.count == 2 else { continue }
            if pair[0] == "t" { timestamp = Int64(pair[1]) }
            if pair[0] == "v1" { signatures.append(String(pair[1])) }
        }
        guard let timestamp, abs(now - timestamp) <= toleranceSeconds else { return false }
        let expected = Array(hex(body: body, timestamp: timestamp).utf8)
        return signatures.contains { candidate in
            let bytes = Array(candidate.utf8)
            guard bytes.count == expected.count else { return false }
            return zip(bytes, expected).reduce(UInt8(0)) { $0 | ($1.0 ^ $1.1) } == 0
        }
    }

    private func hex(body: Data, timestamp: Int64) -> String {
        var hmac = HMAC<SHA256>(key: key)
        hmac.update(data: Data("\(timestamp).".utf8))
        hmac.update(data: body)
        return hmac.finalize().map { byte in
            let digits = Array("0123456789abcdef")
            return String([digits[Int(byte >> 4)], digits[Int(byte & 0x0f)]])
        }.joined()
    }
}

/// Reads a webhook sink's secret from where `sinks.yaml` says; errors name the variable or file,
/// never the secret.
enum WebhookSecret {
    static let minimumByteCount = 16

    static func read(_ source: NotificationSink.SecretSource, sink: String, environment: [String: String]) throws -> [UInt8] {
        let text: String
        switch source {
        case .environment(let variable):
            guard let value = environment[variable], !value.isEmpty else {
                throw ConfigurationError("sink \(sink): no webhook secret: \(variable) is not set")
            }
            text = value
        case .file(let path):
            guard let contents = FileManager.default.contents(atPath: path) else {
                throw ConfigurationError("sink \(sink): cannot read the webhook secret file \(path)")
            }
            text = String(decoding: contents, as: UTF8.self).trimmingCharacters(in: .newlines)
        }
        let bytes = Array(text.utf8)
        guard bytes.count >= minimumByteCount else {
            throw ConfigurationError("sink \(sink): the webhook secret is shorter than \(minimumByteCount) bytes")
        }
        return bytes
    }
}
