/// A keyed permutation of the 48-bit integers: a balanced Feistel network with 24-bit halves.
///
/// Each round maps `(L, R)` to `(R, L ^ F_i(R))`, where `F_i` is SipHash-2-4 under its own
/// 128-bit round key, truncated to 24 bits. A Feistel network is a bijection whatever the
/// round function, so distinct coupon ids always give distinct permuted ids, and ``invert(_:)``
/// runs the rounds backwards.
///
/// Ten rounds, as in NIST FF1: with 24-bit halves the domain is small, and the security of a
/// Feistel network over a small domain grows with the number of rounds; each round costs
/// about 10 ns, so the extra rounds are nearly free next to the HMAC tag.
struct CouponCodeFeistel: Sendable {
    static let rounds = 10
    /// Bytes of key material needed: 16 per round.
    static let keyMaterialByteCount = 16 * rounds
    /// The permutation's domain is `0 ..< 2^48`.
    static let domainMask: UInt64 = (1 << 48) - 1

    private static let halfBits: UInt64 = 24
    private static let halfMask: UInt64 = (1 << 24) - 1

    private let roundFunctions: [CouponCodeSipHash]

    /// - Parameter keyMaterial: exactly ``keyMaterialByteCount`` secret bytes (round `i` uses
    ///   bytes `16 i ..< 16 i + 16`); anything else is a programming error inside this module.
    init(keyMaterial: some RandomAccessCollection<UInt8>) {
        let bytes = Array(keyMaterial)
        assert(bytes.count == Self.keyMaterialByteCount)
        func word(_ offset: Int) -> UInt64 {
            var value: UInt64 = 0
            for index in 0..<8 where offset + index < bytes.count {
                value |= UInt64(bytes[offset + index]) << (8 * index)
            }
            return value
        }
        roundFunctions = (0..<Self.rounds).map { round in
            CouponCodeSipHash(k0: word(16 * round), k1: word(16 * round + 8))
        }
    }

    /// Permutes a 48-bit value (higher bits of `value` are ignored).
    func permute(_ value: UInt64) -> UInt64 {
        var left = (value >> Self.halfBits) & Self.halfMask
        var right = value & Self.halfMask
        for function in roundFunctions {
            let next = left ^ (function.hash(word: right) & Self.halfMask)
            left = right
            right = next
        }
        return (left << Self.halfBits) | right
    }

    /// The inverse of ``permute(_:)`` (higher bits of `value` are ignored).
    func invert(_ value: UInt64) -> UInt64 {
        var left = (value >> Self.halfBits) & Self.halfMask
        var right = value & Self.halfMask
        for function in roundFunctions.reversed() {
            let previous = right ^ (function.hash(word: left) & Self.halfMask)
            right = left
            left = previous
        }
        return (left << Self.halfBits) | right
    }
}
