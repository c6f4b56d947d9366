import Crypto

/// The secret that coupon-code keys are derived from.
///
/// Its `description`, `debugDescription` and reflection (`dump`, `Mirror`) print
/// `CodeSecret(<redacted>)` and never reveal the bytes, so a secret that ends up in a log line,
/// an error or a debugger is not leaked. The bytes are held in a swift-crypto `SymmetricKey`,
/// which zeroes its storage when released.
///
/// Use at least 32 random bytes, e.g. `openssl rand -base64 32`; the minimum accepted is 16.
public struct CodeSecret: Sendable, CustomStringConvertible, CustomDebugStringConvertible, CustomReflectable {
    /// The fewest bytes a secret may have.
    public static let minimumByteCount = 16

    let key: SymmetricKey

    /// - Throws: ``CodeSecretError`` (``CodeSecretError/Kind/secretTooShort``) if there are fewer
    ///   than ``minimumByteCount`` bytes; the message states the count, never the bytes.
    public init(_ bytes: some Sequence<UInt8>) throws(CodeSecretError) {
        var material = Array(bytes)
        defer {
            // Best effort: do not leave a plain copy of the secret behind in freed memory.
            material.withUnsafeMutableBufferPointer { buffer in
                for index in buffer.indices { buffer[index] = 0 }
            }
        }
        guard material.count >= Self.minimumByteCount else {
            throw CodeSecretError(.secretTooShort,
                "code secret is too short: \(material.count) bytes, need at least \(Self.minimumByteCount) "
                + "(use 32 random bytes, e.g. `openssl rand -base64 32`)")
        }
        key = SymmetricKey(data: material)
    }

    /// Constant-time comparison of two secrets.
    func hasSameBytes(as other: CodeSecret) -> Bool {
        key == other.key
    }

    public var description: String { "CodeSecret(<redacted>)" }
    public var debugDescription: String { description }
    public var customMirror: Mirror { Mirror(self, children: [], displayStyle: .struct) }
}
