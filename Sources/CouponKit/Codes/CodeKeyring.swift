/// The code secrets by key version, and which version new codes are made with.
///
/// Key versions are `1...15` (the code has 4 version bits; version 0 is reserved and never
/// issued). To rotate the secret: add a new secret under the next version and make it current,
/// keeping the old secret under its version for as long as codes made with it must stay valid.
///
/// Descriptions and reflection show only the version numbers, never the secrets.
public struct CodeKeyring: Sendable, CustomStringConvertible, CustomDebugStringConvertible, CustomReflectable {
    /// The key versions a code can carry.
    public static let versionRange: ClosedRange<UInt8> = 1...15

    /// The version new codes are made with.
    public let current: UInt8
    let currentSecret: CodeSecret
    let secrets: [UInt8: CodeSecret]

    /// - Throws: ``CodeSecretError`` if a version is outside ``versionRange`` or there is no
    ///   secret for `current`.
    public init(current: UInt8, secrets: [UInt8: CodeSecret]) throws(CodeSecretError) {
        for version in [current] + secrets.keys.sorted() where !Self.versionRange.contains(version) {
            throw CodeSecretError(.invalidKeyVersion,
                "code key version \(version) is out of range: versions are \(Self.versionRange.lowerBound) "
                + "to \(Self.versionRange.upperBound)")
        }
        guard let currentSecret = secrets[current] else {
            throw CodeSecretError(.missingCurrentSecret,
                "no code secret for the current key version \(current) "
                + "(the keyring has versions \(secrets.keys.sorted()))")
        }
        self.current = current
        self.currentSecret = currentSecret
        self.secrets = secrets
    }

    /// A keyring with a single secret, current at `version` (default 1).
    public init(secret: CodeSecret, version: UInt8 = 1) throws(CodeSecretError) {
        try self.init(current: version, secrets: [version: secret])
    }

    /// All versions that have a secret (and so can be verified), ascending.
    public var versions: [UInt8] { secrets.keys.sorted() }

    public var description: String { "CodeKeyring(current: \(current), versions: \(versions))" }
    public var debugDescription: String { description }
    public var customMirror: Mirror {
        Mirror(self, children: ["current": current, "versions": versions], displayStyle: .struct)
    }
}
