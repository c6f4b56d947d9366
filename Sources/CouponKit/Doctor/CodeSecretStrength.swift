import Foundation

/// Judges the configured code secret for `doctor` without ever showing it: only its length and
/// how many distinct bytes it has are reported.
enum CodeSecretStrength {
    /// `openssl rand -base64 32` gives 44 characters; 32 bytes is what the README asks for.
    static let recommendedByteCount = 32
    /// Fewer distinct bytes than this is a pattern (`aaaa…`, `abcabc…`), not randomness.
    static let minimumDistinctBytes = 10

    static func check(_ environment: [String: String]) -> DoctorCheck {
        do {
            _ = try CodeSecret.fromEnvironment(environment)
        } catch {
            return DoctorCheck(
                "code secret", .fail, error.message, action: "set COUPONBATCH_CODE_SECRET_FILE to a file made by `openssl rand -base64 32`")
        }
        guard let bytes = rawBytes(environment) else {
            return DoctorCheck("code secret", .ok, "present")
        }
        let distinct = Set(bytes).count
        if distinct < minimumDistinctBytes {
            return DoctorCheck(
                "code secret", .fail, "\(bytes.count) bytes but only \(distinct) distinct: guessable",
                action: "replace it with `openssl rand -base64 32` (keep the old one as COUPONBATCH_CODE_SECRET_V1)")
        }
        if bytes.count < recommendedByteCount {
            return DoctorCheck(
                "code secret", .warn, "\(bytes.count) bytes, fewer than \(recommendedByteCount)",
                action: "rotate to `openssl rand -base64 32` (keep the old one as COUPONBATCH_CODE_SECRET_V1)")
        }
        if bytes.elementsEqual("demo-secret-not-for-production-0123456789".utf8) {
            return DoctorCheck(
                "code secret", .fail, "the demo secret from the Makefile",
                action: "set a secret of your own: `openssl rand -base64 32`")
        }
        return DoctorCheck("code secret", .ok, "present, \(bytes.count) bytes")
    }

    /// The current secret's bytes as `fromEnvironment` reads them (variable first, else file).
    private static func rawBytes(_ environment: [String: String]) -> [UInt8]? {
        if let value = environment[CodeSecret.secretVariable], !value.isEmpty { return Array(value.utf8) }
        guard let path = environment[CodeSecret.secretFileVariable], !path.isEmpty,
            let data = FileManager.default.contents(atPath: path)
        else { return nil }
        var text = String(decoding: data, as: UTF8.self)
        while text.hasSuffix("\n") || text.hasSuffix("\r") { text.removeLast() }
        return Array(text.utf8)
    }
}
