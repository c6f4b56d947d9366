/// A problem with the coupon-code secret configuration.
///
/// Messages name environment variables, files and key versions, and may state a byte count;
/// they never contain secret bytes.
public struct CodeSecretError: Error, Sendable, Equatable, CustomStringConvertible {
    /// What went wrong, for callers that branch on it (for example to choose an exit status).
    public enum Kind: Sendable, Equatable {
        /// Neither `COUPONBATCH_CODE_SECRET` nor `COUPONBATCH_CODE_SECRET_FILE` is set.
        case missingSecret
        /// A secret has fewer than ``CodeSecret/minimumByteCount`` bytes.
        case secretTooShort
        /// A secret file could not be read.
        case unreadableSecretFile
        /// A key version is not in `1...15`, or `COUPONBATCH_CODE_KEY_VERSION` is not such a number.
        case invalidKeyVersion
        /// A keyring has no secret for its current version.
        case missingCurrentSecret
        /// Two settings give different secrets for the same key version.
        case conflictingSecrets
        /// A `COUPONBATCH_CODE_SECRET_*` variable that this library does not know (likely a typo).
        case unknownVariable
    }

    public let kind: Kind
    /// A sentence saying what is wrong and how to fix it; never contains secret bytes.
    public let message: String

    public init(_ kind: Kind, _ message: String) {
        self.kind = kind
        self.message = message
    }

    public var description: String { message }
}
