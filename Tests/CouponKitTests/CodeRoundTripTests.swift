import CouponKit
import Testing

@Suite("Coupon codes round-trip")
struct CodeRoundTripTests {
    private static let maxID: Int64 = (1 << 48) - 1
    private let codec: CouponCodec

    init() throws {
        let secret = try CodeSecret("round-trip test secret, 32 bytes!".utf8)
        codec = CouponCodec(keyring: try CodeKeyring(current: 1, secrets: [1: secret]))
    }

    @Test("Verifying the code of an id yields that id and the current key version",
          arguments: [1, 2, 3, 7, 10, 99, 1000, 65_535, 65_536,
                      (1 << 24) - 1, 1 << 24, (1 << 24) + 1, (1 << 32) - 1, 1 << 32, 1 << 47,
                      maxID - 1_000, maxID - 2, maxID - 1, maxID] as [Int64])
    func roundTripOfEdgeIDs(id: Int64) throws {
        let code = try codec.code(for: id)
        #expect(codec.verify(code) == .valid(couponID: id, keyVersion: 1), "code \(code)")
    }

    @Test("Every id in 1...5000 and 20 000 random ids round-trip")
    func roundTripOfManyIDs() throws {
        var ids = Array(Int64(1)...5_000)
        for _ in 0..<20_000 { ids.append(Int64.random(in: 1...Self.maxID)) }
        var failures: [Int64] = []
        for id in ids where codec.verify(try codec.code(for: id)) != .valid(couponID: id, keyVersion: 1) {
            failures.append(id)
        }
        #expect(failures.isEmpty, "ids that did not round-trip: \(failures.prefix(10))")
    }

    @Test("Ids outside 1...2^48-1 throw couponIDOutOfRange instead of trapping",
          arguments: [0, -1, -42, Int64.min, 1 << 48, (1 << 48) + 1, Int64.max] as [Int64])
    func outOfRangeIDsThrow(id: Int64) {
        #expect(throws: CouponCodeError.couponIDOutOfRange(id)) { try codec.code(for: id) }
        let error = CouponCodeError.couponIDOutOfRange(id)
        #expect(error.description.contains("\(id)") && error.description.contains("281474976710655"))
    }

    @Test("The documented id range is exactly 1 to 2^48-1")
    func couponIDRangeIsFortyEightBits() {
        #expect(CouponCodec.couponIDRange == 1...((1 << 48) - 1))
    }

    @Test("Codes are five dashed groups of four Crockford characters, first character = version*2 + one bit")
    func codeShape() throws {
        let alphabet = Array("0123456789ABCDEFGHJKMNPQRSTVWXYZ")
        for version in [1, 2, 7, 15] as [UInt8] {
            let secret = try CodeSecret("shape test secret number \(version)!".utf8)
            let codec = CouponCodec(keyring: try CodeKeyring(current: version, secrets: [version: secret]))
            for id in [1, 2, 12_345, Self.maxID] as [Int64] {
                let code = try codec.code(for: id)
                let groups = code.split(separator: "-", omittingEmptySubsequences: false)
                #expect(groups.count == 5 && groups.allSatisfy { $0.count == 4 }, "\(code)")
                #expect(code.replacingDashes().allSatisfy { alphabet.contains($0) }, "\(code)")
                let first = try #require(code.first.flatMap { alphabet.firstIndex(of: $0) })
                #expect(first >> 1 == Int(version), "code \(code) should carry version \(version)")
            }
        }
    }

    @Test("The same id gives the same code every time, and from a second codec with the same secret")
    func codesAreDeterministic() throws {
        let secret = try CodeSecret("round-trip test secret, 32 bytes!".utf8)
        let twin = CouponCodec(keyring: try CodeKeyring(current: 1, secrets: [1: secret]))
        for id in [1, 2, 999_999, Self.maxID] as [Int64] {
            #expect(try codec.code(for: id) == codec.code(for: id))
            #expect(try codec.code(for: id) == twin.code(for: id))
        }
    }

    @Test("A codec shared by concurrent tasks makes the same codes as when used serially")
    func concurrentUseMatchesSerialUse() async throws {
        let ids = Array(Int64(1)...2_000)
        let serial = try ids.map { try codec.code(for: $0) }
        let shared = codec
        let concurrent = try await withThrowingTaskGroup(of: (Int, [String]).self) { group in
            for chunk in 0..<8 {
                group.addTask {
                    let slice = ids[(chunk * 250)..<((chunk + 1) * 250)]
                    return (chunk, try slice.map { try shared.code(for: $0) })
                }
            }
            var byChunk = [[String]](repeating: [], count: 8)
            for try await (chunk, codes) in group { byChunk[chunk] = codes }
            return byChunk.flatMap { $0 }
        }
        #expect(concurrent == serial)
    }
}

private extension String {
    func replacingDashes() -> String { filter { $0 != "-" } }
}
