import CouponKit
import Testing

@Suite("Coupon codes of related ids look unrelated")
struct CodeUnguessabilityTests {
    private let codec: CouponCodec

    init() throws {
        let secret = try CodeSecret("unguessability test secret ..... 32".utf8)
        codec = CouponCodec(keyring: try CodeKeyring(current: 1, secrets: [1: secret]))
    }

    /// The 100 bits of a canonical code, decoded here independently of the library.
    private static func bits(of code: String) -> [Bool] {
        let alphabet = Array("0123456789ABCDEFGHJKMNPQRSTVWXYZ")
        return code.filter { $0 != "-" }.flatMap { character -> [Bool] in
            let value = alphabet.firstIndex(of: character) ?? 0
            return (0..<5).map { value >> (4 - $0) & 1 == 1 }
        }
    }

    private func codes(_ ids: ClosedRange<Int64>) throws -> [String] {
        try ids.map { try codec.code(for: $0) }
    }

    @Test("1000 consecutive ids give 1000 distinct codes", arguments: [1, 1 << 24, (1 << 48) - 1_000] as [Int64])
    func consecutiveIDsGiveDistinctCodes(start: Int64) throws {
        let codes = try codes(start...(start + 999))
        #expect(Set(codes).count == 1000)
    }

    @Test("Consecutive ids share a prefix beyond the version character no more often than chance",
          arguments: [1, 1 << 24, (1 << 48) - 1_000] as [Int64])
    func consecutiveCodesShareNoPrefix(start: Int64) throws {
        let codes = try codes(start...(start + 999)).map { Array($0.filter { $0 != "-" }) }
        var sharingTwo = 0    // chance: 1 in 32 per pair, about 31 of 999
        var sharingThree = 0  // chance: 1 in 1024, about 1 of 999
        for (a, b) in zip(codes, codes.dropFirst()) {
            if a[0...1] == b[0...1] { sharingTwo += 1 }
            if a[0...2] == b[0...2] { sharingThree += 1 }
        }
        // A counter-like encoding would share prefixes in nearly all 999 pairs.
        #expect(sharingTwo < 80, "\(sharingTwo) of 999 consecutive pairs share 2 leading characters")
        #expect(sharingThree < 10, "\(sharingThree) of 999 consecutive pairs share 3 leading characters")
    }

    @Test("Permuted ids of ids in arithmetic progression differ in about half the bits of each half",
          arguments: [(1, 1), (1 << 40, 1), (5, 1 << 24), (3, 1 << 20), (7, 1 << 37)] as [(Int64, Int64)])
    func permutedIDsLookRandom(start: Int64, stride: Int64) throws {
        let ids = (0..<1000).map { start + $0 * stride }
        // Bits 95...48 of the code are the permuted id: its high half, then its low half.
        let bits = try ids.map { Array(Self.bits(of: try codec.code(for: $0))[4..<52]) }
        for (name, half) in [("high", 0..<24), ("low", 24..<48)] {
            let distances = zip(bits, bits.dropFirst()).map { a, b in half.filter { a[$0] != b[$0] }.count }
            let mean = Double(distances.reduce(0, +)) / Double(distances.count)
            // A random permutation gives 12 on average (standard error of this mean about 0.08);
            // a weak one (too few Feistel rounds, or none) leaves a half nearly unchanged.
            #expect(abs(mean - 12) < 1, "\(name) half: mean Hamming distance \(mean)")
        }
        // Every one of the 48 bits varies across the codes (no constant high bits leaking size).
        for position in 0..<48 {
            let ones = bits.filter { $0[position] }.count
            #expect((350...650).contains(ones), "bit \(position) is set in \(ones) of 1000 codes")
        }
    }

    @Test("Different secrets give unrelated codes for the same id")
    func differentSecretsGiveDifferentCodes() throws {
        let other = CouponCodec(keyring: try CodeKeyring(
            current: 1, secrets: [1: try CodeSecret("another unguessability secret 32b".utf8)]))
        var equalCharacters = 0
        for id in Int64(1)...200 {
            let a = Array(try codec.code(for: id).filter { $0 != "-" }.dropFirst())
            let b = Array(try other.code(for: id).filter { $0 != "-" }.dropFirst())
            equalCharacters += zip(a, b).filter { $0 == $1 }.count
        }
        // 200 ids x 19 characters, each equal by chance 1 time in 32: about 119.
        #expect(equalCharacters < 250, "\(equalCharacters) of 3800 characters equal")
    }
}
