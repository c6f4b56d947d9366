import Crypto
import Foundation

/// Makes and verifies coupon codes.
///
/// A code is the coupon id passed through a keyed permutation (``CouponCodeFeistel``), followed
/// by a 48-bit HMAC-SHA256 tag, with a 4-bit key version in front: 100 bits written as 20
/// Crockford base32 characters in dashed groups of four, e.g. `3K7Q-M9XD-2VHA-PT4E-W8RN`
/// (layout in ``CouponCodeText``). Consequences:
///
/// - Unique by construction: the permutation is a bijection, so distinct ids give distinct codes.
/// - Unguessable: without the secret, codes of consecutive ids look unrelated, and a made-up code
///   passes verification with probability 2^-48.
/// - Verifiable before any database read, and nothing to store: ``verify(_:)`` checks the tag and
///   inverts the permutation to recover the coupon id; read the coupon by primary key.
/// - Rotatable: the code carries its key version, and the keyring keeps retired secrets.
///
/// Per key version, two independent keys are derived from the secret once, at init, with
/// HKDF-SHA256 (salt `couponbatch.coupon-code`): the ten Feistel round keys (info
/// `feistel-round-keys`) and the tag key (info `tag-key`). The tag is
/// `HMAC-SHA256(tagKey, 0x00 || version || permutedID as 6 bytes big-endian)`, first 6 bytes.
///
/// `CouponCodec` is an immutable value and safe to share between tasks. Its descriptions and
/// reflection show only key versions, never keys.
public struct CouponCodec: Sendable, CustomStringConvertible, CustomDebugStringConvertible, CustomReflectable {
    /// The coupon ids that have codes: `1 ... 2^48 - 1` (281 474 976 710 655).
    public static let couponIDRange: ClosedRange<Int64> = 1...((1 << 48) - 1)

    /// The key version new codes are made with.
    public let currentKeyVersion: UInt8
    private let currentKeys: VersionKeys
    /// Indexed by key version (0...15); nil where the keyring has no secret.
    private let keysByVersion: [VersionKeys?]

    public init(keyring: CodeKeyring) {
        var keysByVersion = [VersionKeys?](repeating: nil, count: 16)
        for (version, secret) in keyring.secrets where version != keyring.current {
            keysByVersion[Int(version & 0xF)] = VersionKeys(secret: secret)
        }
        let currentKeys = VersionKeys(secret: keyring.currentSecret)
        keysByVersion[Int(keyring.current & 0xF)] = currentKeys
        self.keysByVersion = keysByVersion
        self.currentKeys = currentKeys
        self.currentKeyVersion = keyring.current
    }

    /// The code for a coupon, made with the current key version, e.g. `3K7Q-M9XD-2VHA-PT4E-W8RN`.
    ///
    /// - Throws: ``CouponCodeError/couponIDOutOfRange(_:)`` if `couponID` is not in
    ///   ``couponIDRange``.
    public func code(for couponID: Int64) throws(CouponCodeError) -> String {
        guard Self.couponIDRange.contains(couponID) else {
            throw .couponIDOutOfRange(couponID)
        }
        let permutedID = currentKeys.feistel.permute(UInt64(couponID))
        let tag = currentKeys.tag(version: currentKeyVersion, permutedID: permutedID)
        return CouponCodeText.format(.init(version: currentKeyVersion, permutedID: permutedID, tag: tag))
    }

    /// Checks a code as typed by a person (case, dashes, spaces, I/L/O look-alikes forgiven) and
    /// returns the coupon id it stands for. Needs no database access.
    public func verify(_ code: String) -> CodeVerification {
        let fields: CouponCodeText.Fields
        switch CouponCodeText.parse(code) {
        case .failure(let malformed): return .malformed(malformed.message)
        case .success(let parsed): fields = parsed
        }
        guard let keys = keysByVersion[Int(fields.version)] else { return .forged }
        // A 64-bit integer comparison does not leak where the tags differ.
        guard keys.tag(version: fields.version, permutedID: fields.permutedID) == fields.tag else {
            return .forged
        }
        let couponID = Int64(keys.feistel.invert(fields.permutedID))
        // Id 0 is never issued, so a code for it cannot be authentic.
        guard Self.couponIDRange.contains(couponID) else { return .forged }
        return .valid(couponID: couponID, keyVersion: fields.version)
    }

    /// The key versions this codec can verify, ascending.
    public var keyVersions: [UInt8] {
        keysByVersion.indices.filter { keysByVersion[$0] != nil }.map { UInt8($0) }
    }

    public var description: String {
        "CouponCodec(current key version: \(currentKeyVersion), key versions: \(keyVersions))"
    }
    public var debugDescription: String { description }
    public var customMirror: Mirror {
        Mirror(self, children: ["currentKeyVersion": currentKeyVersion, "keyVersions": keyVersions],
               displayStyle: .struct)
    }

    /// The keys derived from one version's secret.
    private struct VersionKeys: Sendable {
        static let salt = Array("couponbatch.coupon-code".utf8)

        let feistel: CouponCodeFeistel
        /// HMAC-SHA256 already keyed with the tag key; copied for each code, which skips
        /// re-processing the key.
        let keyedTagMAC: HMAC<SHA256>

        init(secret: CodeSecret) {
            let roundKeys = HKDF<SHA256>.deriveKey(
                inputKeyMaterial: secret.key, salt: Self.salt, info: Array("feistel-round-keys".utf8),
                outputByteCount: CouponCodeFeistel.keyMaterialByteCount)
            feistel = roundKeys.withUnsafeBytes { CouponCodeFeistel(keyMaterial: $0) }
            let tagKey = HKDF<SHA256>.deriveKey(
                inputKeyMaterial: secret.key, salt: Self.salt, info: Array("tag-key".utf8),
                outputByteCount: SHA256.byteCount)
            keyedTagMAC = HMAC<SHA256>(key: tagKey)
        }

        /// The 48-bit tag of a code's version and permuted id.
        func tag(version: UInt8, permutedID: UInt64) -> UInt64 {
            var mac = keyedTagMAC
            // 8 bytes: 0x00, version, permuted id as 6 bytes big-endian.
            let message = ((UInt64(version) << 48) | (permutedID & CouponCodeFeistel.domainMask)).bigEndian
            withUnsafeBytes(of: message) { mac.update(data: $0) }
            return mac.finalize().withUnsafeBytes { digest in
                var tag: UInt64 = 0
                for index in 0..<6 { tag = (tag << 8) | UInt64(digest[index]) }
                return tag
            }
        }
    }
}
