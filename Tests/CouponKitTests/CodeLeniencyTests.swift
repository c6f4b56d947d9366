import CouponKit
import Foundation
import Testing

@Suite("Typed coupon codes are read leniently, garbage is malformed")
struct CodeLeniencyTests {
    private let codec: CouponCodec

    init() throws {
        let secret = try CodeSecret("leniency test secret: 32 bytes ok".utf8)
        codec = CouponCodec(keyring: try CodeKeyring(current: 1, secrets: [1: secret]))
    }

    private func expectValid(_ typed: String, id: Int64, sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(codec.verify(typed) == .valid(couponID: id, keyVersion: 1), "typed \"\(typed)\"",
                sourceLocation: sourceLocation)
    }

    private func malformedMessage(_ typed: String) -> String? {
        if case .malformed(let message) = codec.verify(typed) { message } else { nil }
    }

    @Test("Lower case, missing dashes, spaces and surrounding whitespace are accepted")
    func caseAndSeparatorsAreIgnored() throws {
        for id in [1, 77, 123_456_789] as [Int64] {
            let code = try codec.code(for: id)
            let bare = code.filter { $0 != "-" }
            expectValid(code.lowercased(), id: id)
            expectValid(bare, id: id)
            expectValid(bare.lowercased(), id: id)
            expectValid(code.replacingOccurrences(of: "-", with: " "), id: id)
            expectValid("  \(code)\n", id: id)
            expectValid("\t\(bare.prefix(7)) - \(bare.dropFirst(7))", id: id)
            expectValid(code.replacingOccurrences(of: "-", with: "\u{2013}"), id: id)  // en dash
            expectValid(code.replacingOccurrences(of: "-", with: "\u{00A0}"), id: id)  // no-break space
        }
    }

    @Test("I, i, L and l are read as 1, O and o as 0")
    func lookAlikeLettersAreAccepted() throws {
        var checkedOnes = 0
        var checkedZeros = 0
        for id in Int64(1)...300 {
            let code = try codec.code(for: id)
            if code.contains("1") {
                checkedOnes += 1
                for alias in ["I", "i", "L", "l"] {
                    expectValid(code.replacingOccurrences(of: "1", with: alias), id: id)
                }
            }
            if code.contains("0") {
                checkedZeros += 1
                expectValid(code.replacingOccurrences(of: "0", with: "O"), id: id)
                expectValid(code.replacingOccurrences(of: "0", with: "o").lowercased(), id: id)
            }
        }
        #expect(checkedOnes > 50 && checkedZeros > 50)
    }

    @Test("An empty or blank code is malformed, saying it is empty", arguments: ["", "   ", "----", "\n"])
    func emptyIsMalformed(typed: String) {
        let message = malformedMessage(typed)
        #expect(message?.contains("empty") == true, "\(String(describing: message))")
    }

    @Test("A code of the wrong length is malformed, stating expected and actual length")
    func wrongLengthIsMalformed() throws {
        let bare = try codec.code(for: 5).filter { $0 != "-" }
        for typed in [String(bare.dropLast()), bare + "7", "ABC", String(bare.prefix(4))] {
            let count = typed.count
            let message = try #require(malformedMessage(typed), "\(typed)")
            #expect(message.contains("20") && message.contains("got \(count)"), "\(message)")
        }
    }

    @Test("U is rejected with a message naming it")
    func letterUIsMalformed() throws {
        let code = try codec.code(for: 9)
        let typed = "U" + code.dropFirst()
        let message = try #require(malformedMessage(typed))
        #expect(message.contains("\"U\"") && message.contains("position 1"), "\(message)")
        #expect(malformedMessage(typed.lowercased()) != nil)
    }

    @Test("Characters outside the alphabet are malformed, naming character and position",
          arguments: [("ABCD-EFGH-JKMN-PQRS-TVW!", "\"!\"", 24),
                      ("hello, world!", "\",\"", 6),
                      ("ABCD_EFGH_JKMN_PQRS_TVWX", "\"_\"", 5),
                      ("ABCD-EFGH-JKMN-PQRS-TVW\u{1F600}", "\"\\u{0001F600}\"", 24),
                      ("ABCD-EFGH-\u{1B}[31m", "\"\\u{1B}\"", 11)])
    func invalidCharactersAreMalformed(typed: String, shown: String, position: Int) throws {
        let message = try #require(malformedMessage(typed))
        #expect(message.contains(shown) && message.contains("position \(position)"), "\(message)")
        #expect(!message.contains("\u{1B}"), "control characters are escaped, not echoed")
    }

    @Test("A very long input is malformed without being echoed")
    func longInputIsMalformed() throws {
        let typed = String(repeating: "ABCD-", count: 10_000)
        let message = try #require(malformedMessage(typed))
        #expect(message.contains("too long") && message.count < 200, "\(message)")
    }
}
