@testable import CouponKit
import Testing

@Suite("Building blocks of coupon codes")
struct CodePrimitivesTests {
    // MARK: SipHash-2-4

    /// Key 00 01 ... 0f, as the reference implementation's test vectors use.
    private static let referenceKey = CouponCodeSipHash(k0: 0x0706_0504_0302_0100, k1: 0x0f0e_0d0c_0b0a_0908)

    /// SipHash-2-4 reference vectors (vectors.h of the reference implementation): the hash of
    /// the message 00 01 ... (n-1) for n = 0...15, as the output's little-endian bytes.
    private static let referenceVectors: [[UInt8]] = [
        [0x31, 0x0e, 0x0e, 0xdd, 0x47, 0xdb, 0x6f, 0x72],
        [0xfd, 0x67, 0xdc, 0x93, 0xc5, 0x39, 0xf8, 0x74],
        [0x5a, 0x4f, 0xa9, 0xd9, 0x09, 0x80, 0x6c, 0x0d],
        [0x2d, 0x7e, 0xfb, 0xd7, 0x96, 0x66, 0x67, 0x85],
        [0xb7, 0x87, 0x71, 0x27, 0xe0, 0x94, 0x27, 0xcf],
        [0x8d, 0xa6, 0x99, 0xcd, 0x64, 0x55, 0x76, 0x18],
        [0xce, 0xe3, 0xfe, 0x58, 0x6e, 0x46, 0xc9, 0xcb],
        [0x37, 0xd1, 0x01, 0x8b, 0xf5, 0x00, 0x02, 0xab],
        [0x62, 0x24, 0x93, 0x9a, 0x79, 0xf5, 0xf5, 0x93],
        [0xb0, 0xe4, 0xa9, 0x0b, 0xdf, 0x82, 0x00, 0x9e],
        [0xf3, 0xb9, 0xdd, 0x94, 0xc5, 0xbb, 0x5d, 0x7a],
        [0xa7, 0xad, 0x6b, 0x22, 0x46, 0x2f, 0xb3, 0xf4],
        [0xfb, 0xe5, 0x0e, 0x86, 0xbc, 0x8f, 0x1e, 0x75],
        [0x90, 0x3d, 0x84, 0xc0, 0x27, 0x56, 0xea, 0x14],
        [0xee, 0xf2, 0x7a, 0x8e, 0x90, 0xca, 0x23, 0xf7],
        [0xe5, 0x45, 0xbe, 0x49, 0x61, 0xca, 0x29, 0xa1],
    ]

    private static func littleEndianValue(_ bytes: [UInt8]) -> UInt64 {
        bytes.enumerated().reduce(0) { $0 | UInt64($1.element) << (8 * $1.offset) }
    }

    @Test("SipHash-2-4 matches the reference test vectors for messages of 0 to 15 bytes",
          arguments: 0..<16)
    func sipHashReferenceVectors(length: Int) {
        let message = (0..<length).map(UInt8.init)
        let expected = Self.littleEndianValue(Self.referenceVectors[length])
        #expect(Self.referenceKey.hash(bytes: message) == expected)
    }

    @Test("The 8-byte fast path of SipHash equals the general path")
    func sipHashWordPathMatchesBytePath() {
        let reference = Self.littleEndianValue(Self.referenceVectors[8])
        #expect(Self.referenceKey.hash(word: 0x0706_0504_0302_0100) == reference)
        let key = CouponCodeSipHash(k0: .random(in: .min ... .max), k1: .random(in: .min ... .max))
        for _ in 0..<1000 {
            let word = UInt64.random(in: .min ... .max)
            let bytes = (0..<8).map { UInt8(truncatingIfNeeded: word >> (8 * $0)) }
            #expect(key.hash(word: word) == key.hash(bytes: bytes))
        }
    }

    // MARK: Feistel permutation

    private static func randomKeyMaterial() -> [UInt8] {
        (0..<CouponCodeFeistel.keyMaterialByteCount).map { _ in .random(in: .min ... .max) }
    }

    @Test("The Feistel permutation is inverted by invert and stays within 48 bits")
    func feistelInverts() {
        let feistel = CouponCodeFeistel(keyMaterial: Self.randomKeyMaterial())
        let edges: [UInt64] = [0, 1, 2, (1 << 24) - 1, 1 << 24, (1 << 48) - 2, (1 << 48) - 1]
        for value in edges + (0..<10_000).map({ _ in UInt64.random(in: 0..<(1 << 48)) }) {
            let permuted = feistel.permute(value)
            #expect(permuted < 1 << 48)
            #expect(feistel.invert(permuted) == value)
            #expect(feistel.permute(feistel.invert(value)) == value)
        }
    }

    @Test("The Feistel permutation is injective on a block of 100 000 consecutive values")
    func feistelIsInjective() {
        let feistel = CouponCodeFeistel(keyMaterial: Self.randomKeyMaterial())
        let images = Set((UInt64(1)...100_000).map(feistel.permute))
        #expect(images.count == 100_000)
    }

    @Test("Changing any round key changes the permutation")
    func everyRoundKeyMatters() {
        let material = Self.randomKeyMaterial()
        let original = CouponCodeFeistel(keyMaterial: material)
        let samples = (0..<64).map { _ in UInt64.random(in: 0..<(1 << 48)) }
        for round in 0..<CouponCodeFeistel.rounds {
            var changed = material
            changed[16 * round + Int.random(in: 0..<16)] ^= 1 << UInt8.random(in: 0..<8)
            let other = CouponCodeFeistel(keyMaterial: changed)
            #expect(samples.contains { original.permute($0) != other.permute($0) }, "round \(round)")
        }
    }

    // MARK: Crockford text

    /// A code whose 5-bit symbols are `values`, split into the documented 50-bit halves.
    private static func fields(symbolValues values: [UInt64]) -> CouponCodeText.Fields {
        let high = values[0..<10].reduce(0) { $0 << 5 | $1 }
        let low = values[10..<20].reduce(0) { $0 << 5 | $1 }
        return CouponCodeText.Fields(high50: high, low50: low)
    }

    @Test("Known bit patterns encode to the Crockford symbols for their 5-bit values",
          arguments: [
              (Array(repeating: 0, count: 20), "0000-0000-0000-0000-0000"),
              (Array(repeating: 31, count: 20), "ZZZZ-ZZZZ-ZZZZ-ZZZZ-ZZZZ"),
              (Array(0..<20), "0123-4567-89AB-CDEF-GHJK"),
              (Array(12..<32), "CDEF-GHJK-MNPQ-RSTV-WXYZ"),
          ] as [([UInt64], String)])
    func crockfordKnownPatterns(values: [UInt64], text: String) throws {
        let fields = Self.fields(symbolValues: values)
        #expect(CouponCodeText.format(fields) == text)
        #expect(try CouponCodeText.parse(text).get() == fields)
    }

    @Test("Fields sit at bits 99-96 (version), 95-48 (permuted id) and 47-0 (tag)")
    func fieldLayout() {
        // Only the version's lowest bit: bit 96, i.e. the second-lowest bit of the first symbol.
        #expect(CouponCodeText.format(.init(version: 1, permutedID: 0, tag: 0)) == "2000-0000-0000-0000-0000")
        // Only the permuted id's top bit: bit 95, the lowest bit of the first symbol.
        #expect(CouponCodeText.format(.init(version: 0, permutedID: 1 << 47, tag: 0)) == "1000-0000-0000-0000-0000")
        // Only the permuted id's lowest bit: bit 48; the 11th symbol holds bits 49...45, so value 8.
        #expect(CouponCodeText.format(.init(version: 0, permutedID: 1, tag: 0)) == "0000-0000-0080-0000-0000")
        // Only the tag's top bit: bit 47, value 4 in the 11th symbol.
        #expect(CouponCodeText.format(.init(version: 0, permutedID: 0, tag: 1 << 47)) == "0000-0000-0040-0000-0000")
        // Only the tag's lowest bit: the last symbol.
        #expect(CouponCodeText.format(.init(version: 0, permutedID: 0, tag: 1)) == "0000-0000-0000-0000-0001")
    }

    @Test("Random fields survive format then parse")
    func textRoundTrip() throws {
        for _ in 0..<10_000 {
            let fields = CouponCodeText.Fields(version: .random(in: 0...15),
                                               permutedID: .random(in: 0..<(1 << 48)),
                                               tag: .random(in: 0..<(1 << 48)))
            #expect(try CouponCodeText.parse(CouponCodeText.format(fields)).get() == fields)
        }
    }
}
