import CouponKit
import Testing

@Suite("Forged coupon codes are rejected")
struct CodeForgeryTests {
    private static let alphabet = Array("0123456789ABCDEFGHJKMNPQRSTVWXYZ")
    private let codec: CouponCodec

    init() throws {
        let secret = try CodeSecret("forgery test secret, thirty-two b".utf8)
        codec = CouponCodec(keyring: try CodeKeyring(current: 1, secrets: [1: secret]))
    }

    private static func dashed(_ characters: some Collection<Character>) -> String {
        var text = ""
        for (index, character) in characters.enumerated() {
            if index > 0, index % 4 == 0 { text.append("-") }
            text.append(character)
        }
        return text
    }

    private func realCodes() throws -> [String] {
        let ids: [Int64] = [1, 2, 3, 42, 1_000, 65_536, 123_456_789, (1 << 48) - 1]
            + (0..<12).map { _ in Int64.random(in: 1...((1 << 48) - 1)) }
        return try ids.map { try codec.code(for: $0) }
    }

    @Test("100 000 random well-formed codes are all rejected as forged")
    func randomCodesAreForged() {
        var accepted: [String] = []
        var notForged = 0
        for _ in 0..<100_000 {
            let code = Self.dashed((0..<20).map { _ in Self.alphabet.randomElement()! })
            if codec.verify(code) != .forged {
                notForged += 1
                if accepted.count < 5 { accepted.append(code) }
            }
        }
        #expect(notForged == 0, "not rejected as forged: \(accepted)")
    }

    @Test("Every single-character edit of real codes is rejected as forged")
    func singleCharacterEditsAreForged() throws {
        var edits = 0
        var survivors: [String] = []
        for code in try realCodes() {
            #expect(codec.verify(code).couponID != nil)
            let characters = Array(code.filter { $0 != "-" })
            for position in characters.indices {
                for replacement in Self.alphabet where replacement != characters[position] {
                    var edited = characters
                    edited[position] = replacement
                    let forgery = Self.dashed(edited)
                    edits += 1
                    if codec.verify(forgery) != .forged { survivors.append(forgery) }
                }
            }
        }
        #expect(edits == 20 * 20 * 31)
        #expect(survivors.isEmpty, "edits not rejected: \(survivors.prefix(5))")
    }

    @Test("Swapping any two groups of a real code is rejected as forged")
    func swappedGroupsAreForged() throws {
        var swaps = 0
        for code in try realCodes() {
            let groups = code.split(separator: "-").map(String.init)
            for i in groups.indices {
                for j in groups.indices where i < j && groups[i] != groups[j] {
                    var swapped = groups
                    swapped.swapAt(i, j)
                    let forgery = swapped.joined(separator: "-")
                    swaps += 1
                    #expect(codec.verify(forgery) == .forged, "\(code) with groups \(i + 1) and \(j + 1) swapped")
                }
            }
        }
        #expect(swaps > 150)
    }

    @Test("A code made with another secret under the same key version is rejected as forged")
    func codeFromAnotherSecretIsForged() throws {
        let attacker = CouponCodec(keyring: try CodeKeyring(
            current: 1, secrets: [1: try CodeSecret("attacker guesses this secret....".utf8)]))
        for id in [1, 2, 42, 1_000_000, (1 << 48) - 1] as [Int64] {
            let code = try attacker.code(for: id)
            #expect(attacker.verify(code) == .valid(couponID: id, keyVersion: 1))
            #expect(codec.verify(code) == .forged, "\(code)")
        }
    }

    @Test("Splicing the id part of one real code onto the tag of another is rejected as forged")
    func splicedCodesAreForged() throws {
        let a = Array(try codec.code(for: 1_001).filter { $0 != "-" })
        let b = Array(try codec.code(for: 1_002).filter { $0 != "-" })
        // Characters 1...10 carry the version and most of the permuted id; 11...20 mostly the tag.
        #expect(codec.verify(Self.dashed(a[0..<10] + b[10...])) == .forged)
        #expect(codec.verify(Self.dashed(b[0..<10] + a[10...])) == .forged)
    }
}
