/// SipHash-2-4 (Aumasson & Bernstein, 2012), a keyed pseudorandom function for short inputs.
///
/// It is the round function of ``CouponCodeFeistel``: ten rounds per code must be cheap, and an
/// HMAC-SHA256 per round would cost about ten times the whole rest of the code. SipHash is a PRF
/// with a 128-bit key designed for exactly this (short messages, secret key), and the
/// implementation is checked against the reference test vectors in `CodePrimitivesTests`.
///
/// The key state is expanded once at init; ``hash(word:)`` is the allocation-free fast path
/// for an 8-byte message.
struct CouponCodeSipHash: Sendable {
    private let v0: UInt64
    private let v1: UInt64
    private let v2: UInt64
    private let v3: UInt64

    /// - Parameters:
    ///   - k0: key bytes 0..<8 read little-endian.
    ///   - k1: key bytes 8..<16 read little-endian.
    init(k0: UInt64, k1: UInt64) {
        v0 = k0 ^ 0x736f_6d65_7073_6575
        v1 = k1 ^ 0x646f_7261_6e64_6f6d
        v2 = k0 ^ 0x6c79_6765_6e65_7261
        v3 = k1 ^ 0x7465_6462_7974_6573
    }

    /// SipHash-2-4 of the 8-byte message `word.littleEndian`.
    @inline(__always)
    func hash(word m: UInt64) -> UInt64 {
        var s = (v0, v1, v2, v3)
        s.3 ^= m
        Self.round(&s)
        Self.round(&s)
        s.0 ^= m
        let b: UInt64 = 8 << 56  // message length 8, no tail bytes
        s.3 ^= b
        Self.round(&s)
        Self.round(&s)
        s.0 ^= b
        return Self.finish(&s)
    }

    /// SipHash-2-4 of an arbitrary byte string (reference path, used by tests).
    func hash(bytes: some Collection<UInt8>) -> UInt64 {
        var s = (v0, v1, v2, v3)
        var word: UInt64 = 0
        var filled = 0
        for byte in bytes {
            word |= UInt64(byte) << (8 * filled)
            filled += 1
            if filled == 8 {
                s.3 ^= word
                Self.round(&s)
                Self.round(&s)
                s.0 ^= word
                word = 0
                filled = 0
            }
        }
        let b = (UInt64(truncatingIfNeeded: bytes.count) << 56) | word
        s.3 ^= b
        Self.round(&s)
        Self.round(&s)
        s.0 ^= b
        return Self.finish(&s)
    }

    @inline(__always)
    private static func finish(_ s: inout (UInt64, UInt64, UInt64, UInt64)) -> UInt64 {
        s.2 ^= 0xff
        round(&s)
        round(&s)
        round(&s)
        round(&s)
        return s.0 ^ s.1 ^ s.2 ^ s.3
    }

    @inline(__always)
    private static func round(_ s: inout (UInt64, UInt64, UInt64, UInt64)) {
        s.0 &+= s.1
        s.1 = rotateLeft(s.1, 13)
        s.1 ^= s.0
        s.0 = rotateLeft(s.0, 32)
        s.2 &+= s.3
        s.3 = rotateLeft(s.3, 16)
        s.3 ^= s.2
        s.0 &+= s.3
        s.3 = rotateLeft(s.3, 21)
        s.3 ^= s.0
        s.2 &+= s.1
        s.1 = rotateLeft(s.1, 17)
        s.1 ^= s.2
        s.2 = rotateLeft(s.2, 32)
    }

    @inline(__always)
    private static func rotateLeft(_ x: UInt64, _ n: UInt64) -> UInt64 {
        (x << n) | (x >> (64 - n))
    }
}
