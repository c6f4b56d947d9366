import CouponKit
import Testing

@Suite("Coupon code secrets can be rotated")
struct CodeKeyRotationTests {
    private let oldSecret: CodeSecret
    private let newSecret: CodeSecret

    init() throws {
        oldSecret = try CodeSecret("rotation: the old secret, 32 bytes".utf8)
        newSecret = try CodeSecret("rotation: the new secret, 32 bytes".utf8)
    }

    @Test("A version 1 code still verifies after version 2 becomes current, if the keyring keeps secret 1")
    func oldCodesSurviveRotation() throws {
        let before = CouponCodec(keyring: try CodeKeyring(current: 1, secrets: [1: oldSecret]))
        let after = CouponCodec(keyring: try CodeKeyring(current: 2, secrets: [1: oldSecret, 2: newSecret]))
        for id in [1, 500, 98_765_432, (1 << 48) - 1] as [Int64] {
            let oldCode = try before.code(for: id)
            let newCode = try after.code(for: id)
            #expect(oldCode != newCode)
            #expect(after.verify(oldCode) == .valid(couponID: id, keyVersion: 1))
            #expect(after.verify(newCode) == .valid(couponID: id, keyVersion: 2))
            // The old codec does not know version 2.
            #expect(before.verify(newCode) == .forged)
        }
        #expect(after.currentKeyVersion == 2 && after.keyVersions == [1, 2])
    }

    @Test("Once secret 1 is retired from the keyring, version 1 codes are rejected as forged")
    func retiredVersionIsForged() throws {
        let before = CouponCodec(keyring: try CodeKeyring(current: 1, secrets: [1: oldSecret]))
        let retired = CouponCodec(keyring: try CodeKeyring(current: 2, secrets: [2: newSecret]))
        #expect(retired.verify(try before.code(for: 31_337)) == .forged)
    }

    @Test("A code of a version the keyring never had is rejected as forged, even with the same secret")
    func unknownVersionIsForged() throws {
        let v3 = CouponCodec(keyring: try CodeKeyring(current: 3, secrets: [3: oldSecret]))
        let v1 = CouponCodec(keyring: try CodeKeyring(current: 1, secrets: [1: oldSecret]))
        let code = try v3.code(for: 4_242)
        #expect(v3.verify(code) == .valid(couponID: 4_242, keyVersion: 3))
        #expect(v1.verify(code) == .forged)
    }

    @Test("The same secret under two versions still gives different codes, each verifying with its version")
    func versionIsAuthenticated() throws {
        let codec1 = CouponCodec(keyring: try CodeKeyring(current: 1, secrets: [1: oldSecret, 2: oldSecret]))
        let codec2 = CouponCodec(keyring: try CodeKeyring(current: 2, secrets: [1: oldSecret, 2: oldSecret]))
        let code1 = try codec1.code(for: 77)
        let code2 = try codec2.code(for: 77)
        #expect(code1 != code2)
        #expect(codec2.verify(code1) == .valid(couponID: 77, keyVersion: 1))
        #expect(codec1.verify(code2) == .valid(couponID: 77, keyVersion: 2))
    }

    @Test("A keyring without a secret for its current version is an error")
    func keyringNeedsCurrentSecret() {
        let error = #expect(throws: CodeSecretError.self) {
            try CodeKeyring(current: 2, secrets: [1: oldSecret])
        }
        #expect(error?.kind == .missingCurrentSecret)
        #expect(error?.message.contains("current key version 2") == true, "\(String(describing: error))")
    }

    @Test("Key versions outside 1...15 are an error", arguments: [0, 16, 255] as [UInt8])
    func keyVersionOutOfRange(version: UInt8) {
        let currentError = #expect(throws: CodeSecretError.self) {
            try CodeKeyring(current: version, secrets: [version: oldSecret])
        }
        #expect(currentError?.kind == .invalidKeyVersion)
        #expect(currentError?.message.contains("version \(version) is out of range") == true)
        let retiredError = #expect(throws: CodeSecretError.self) {
            try CodeKeyring(current: 1, secrets: [1: oldSecret, version: newSecret])
        }
        #expect(retiredError?.kind == .invalidKeyVersion)
    }

    @Test("Versions 1 and 15 are both usable")
    func versionBoundsAreUsable() throws {
        for version in [1, 15] as [UInt8] {
            let codec = CouponCodec(keyring: try CodeKeyring(secret: newSecret, version: version))
            #expect(codec.verify(try codec.code(for: 8)) == .valid(couponID: 8, keyVersion: version))
        }
    }
}
