import CouponKit
import Foundation
import Testing

@Suite("Code secrets are never revealed and load from the environment")
struct CodeSecretTests {
    private static let secretText = "SUPER-SECRET-VALUE-123456"
    private static let secretBytes = Array(secretText.utf8)

    /// Every rendering of the secret bytes that a leak could plausibly take.
    private static let forbidden: [String] = [
        secretText, "SUPER-SECRET", "VALUE-123456", secretText.lowercased(),
        secretBytes.map { String(format: "%02x", $0) }.joined(),
        secretBytes.map { String(format: "%02X", $0) }.joined(),
        secretBytes.prefix(6).map(String.init).joined(separator: ", "),  // "83, 85, 80, 69, 82, 45"
        Data(secretBytes).base64EncodedString(),
    ]

    private static func leaks(in text: String) -> [String] {
        forbidden.filter { text.contains($0) }
    }

    /// All the ways a value ends up as text: print, interpolation, debug print, dump.
    private static func renderings(of value: Any) -> [String] {
        var dumped = ""
        dump(value, to: &dumped)
        var printed = ""
        print(value, to: &printed)
        var debugPrinted = ""
        debugPrint(value, to: &debugPrinted)
        return [String(describing: value), String(reflecting: value), "\(value)", dumped, printed, debugPrinted]
    }

    private static func withTemporaryFile<T>(_ contents: String, _ body: (String) throws -> T) throws -> T {
        let url = FileManager.default.temporaryDirectory
            .appendingPathComponent("couponkit-secret-\(UUID().uuidString)")
        try Data(contents.utf8).write(to: url)
        defer { try? FileManager.default.removeItem(at: url) }
        return try body(url.path)
    }

    private static func codes(of keyring: CodeKeyring) throws -> [String] {
        let codec = CouponCodec(keyring: keyring)
        return try [1, 2, 123_456].map { try codec.code(for: $0) }
    }

    private static func environmentError(_ env: [String: String]) -> CodeSecretError? {
        do {
            _ = try CodeSecret.fromEnvironment(env)
            return nil
        } catch {
            return error
        }
    }

    // MARK: Redaction

    @Test("The leak detector itself finds the secret in a plain rendering")
    func leakDetectorWorks() {
        #expect(!Self.leaks(in: "\(Self.secretBytes)").isEmpty)
        #expect(!Self.leaks(in: Self.secretText).isEmpty)
        #expect(Self.leaks(in: "CodeSecret(<redacted>)").isEmpty)
    }

    @Test("Descriptions, debug descriptions and dumps of CodeSecret, CodeKeyring and CouponCodec contain no secret")
    func renderingsRevealNoSecret() throws {
        let secret = try CodeSecret(Self.secretBytes)
        let keyring = try CodeKeyring(current: 2, secrets: [2: secret, 1: try CodeSecret("older secret, 16+ bytes".utf8)])
        let codec = CouponCodec(keyring: keyring)
        let envKeyring = try CodeSecret.fromEnvironment(["COUPONBATCH_CODE_SECRET": Self.secretText])
        let subjects: [Any] = [secret, keyring, codec, envKeyring, CouponCodec(keyring: envKeyring),
                               [secret], ["current": secret], Optional(secret) as Any]
        for subject in subjects {
            for rendering in Self.renderings(of: subject) {
                #expect(Self.leaks(in: rendering).isEmpty, "leaked in: \(rendering)")
            }
        }
        #expect(String(describing: secret) == "CodeSecret(<redacted>)")
        #expect(Mirror(reflecting: secret).children.isEmpty)
        // The keyring and codec still describe what is useful: the versions.
        #expect("\(keyring)".contains("current: 2") && "\(keyring)".contains("[1, 2]"))
        #expect(String(reflecting: codec).contains("current key version: 2"))
    }

    // MARK: Secret validation

    @Test("A secret of 15 bytes is rejected without echoing it; 16 bytes are accepted")
    func shortSecretIsRejected() throws {
        let short = "SHORT-SECRET-15"  // 15 bytes
        let error = #expect(throws: CodeSecretError.self) { try CodeSecret(short.utf8) }
        #expect(error?.kind == .secretTooShort)
        #expect(error.map { !$0.message.contains("SHORT") && $0.message.contains("at least 16") } == true,
                "\(String(describing: error))")
        _ = try CodeSecret((short + "!").utf8)
    }

    // MARK: Environment

    @Test("No secret in the environment is a clear error naming both variables")
    func missingSecretIsAClearError() {
        for env in [[:], ["COUPONBATCH_CODE_SECRET": ""], ["COUPONBATCH_CODE_SECRET_FILE": ""],
                    ["COUPONBATCH_CODE_KEY_VERSION": "2"]] as [[String: String]] {
            let error = Self.environmentError(env)
            #expect(error?.kind == .missingSecret)
            #expect(error?.message == "no code secret: set COUPONBATCH_CODE_SECRET or COUPONBATCH_CODE_SECRET_FILE")
        }
    }

    @Test("A short secret in the environment is an error naming the variable, not the value")
    func shortEnvironmentSecretIsRejected() throws {
        let error = try #require(Self.environmentError(["COUPONBATCH_CODE_SECRET": "SHORT-SECRET-15"]))
        #expect(error.kind == .secretTooShort)
        #expect(error.message.contains("COUPONBATCH_CODE_SECRET") && !error.message.contains("SHORT-SECRET"))
    }

    @Test("COUPONBATCH_CODE_SECRET gives a version 1 keyring that codes like a directly built one")
    func secretFromEnvironment() throws {
        let keyring = try CodeSecret.fromEnvironment(["COUPONBATCH_CODE_SECRET": Self.secretText])
        #expect(keyring.current == 1 && keyring.versions == [1])
        let direct = try CodeKeyring(current: 1, secrets: [1: try CodeSecret(Self.secretBytes)])
        #expect(try Self.codes(of: keyring) == Self.codes(of: direct))
    }

    @Test("COUPONBATCH_CODE_SECRET_FILE is read with its trailing newline trimmed",
          arguments: ["\n", "\r\n", "", "\n\n"])
    func secretFromFile(ending: String) throws {
        let expected = try Self.codes(of: try CodeKeyring(current: 1, secrets: [1: try CodeSecret(Self.secretBytes)]))
        let keyring = try Self.withTemporaryFile(Self.secretText + ending) { path in
            try CodeSecret.fromEnvironment(["COUPONBATCH_CODE_SECRET_FILE": path])
        }
        #expect(try Self.codes(of: keyring) == expected)
    }

    @Test("COUPONBATCH_CODE_SECRET wins over COUPONBATCH_CODE_SECRET_FILE")
    func valueWinsOverFile() throws {
        let expected = try Self.codes(of: try CodeKeyring(current: 1, secrets: [1: try CodeSecret(Self.secretBytes)]))
        let keyring = try Self.withTemporaryFile("a different secret in the file\n") { path in
            try CodeSecret.fromEnvironment(["COUPONBATCH_CODE_SECRET": Self.secretText,
                                            "COUPONBATCH_CODE_SECRET_FILE": path])
        }
        #expect(try Self.codes(of: keyring) == expected)
    }

    @Test("An unreadable secret file is an error naming the file; a short one does not echo its contents")
    func badSecretFiles() throws {
        let missing = "/nonexistent/couponkit/secret-\(UUID().uuidString)"
        let directory = FileManager.default.temporaryDirectory.path
        for path in [missing, directory] {
            let error = try #require(Self.environmentError(["COUPONBATCH_CODE_SECRET_FILE": path]))
            #expect(error.kind == .unreadableSecretFile && error.message.contains(path), "\(error)")
        }

        let shortError = try Self.withTemporaryFile("SHORT-SECRET-15\n") { path in
            Self.environmentError(["COUPONBATCH_CODE_SECRET_FILE": path])
        }
        #expect(shortError?.kind == .secretTooShort)
        #expect(shortError?.message.contains("COUPONBATCH_CODE_SECRET_FILE") == true)
        #expect(shortError?.message.contains("SHORT-SECRET") == false)
    }

    @Test("COUPONBATCH_CODE_KEY_VERSION and COUPONBATCH_CODE_SECRET_V1 rotate to version 2 keeping version 1 codes valid")
    func rotationFromEnvironment() throws {
        let oldText = "the old secret of version 1, 32b"
        let v1Codec = CouponCodec(keyring: try CodeKeyring(current: 1, secrets: [1: try CodeSecret(oldText.utf8)]))
        let oldCode = try v1Codec.code(for: 2_024)

        let byValue = try CodeSecret.fromEnvironment([
            "COUPONBATCH_CODE_SECRET": Self.secretText,
            "COUPONBATCH_CODE_KEY_VERSION": "2",
            "COUPONBATCH_CODE_SECRET_V1": oldText,
        ])
        let byFile = try Self.withTemporaryFile(oldText + "\n") { path in
            try CodeSecret.fromEnvironment([
                "COUPONBATCH_CODE_SECRET": Self.secretText,
                "COUPONBATCH_CODE_KEY_VERSION": " 2 ",
                "COUPONBATCH_CODE_SECRET_V1_FILE": path,
            ])
        }
        for keyring in [byValue, byFile] {
            #expect(keyring.current == 2 && keyring.versions == [1, 2])
            let codec = CouponCodec(keyring: keyring)
            #expect(codec.verify(oldCode) == .valid(couponID: 2_024, keyVersion: 1))
            #expect(codec.verify(try codec.code(for: 2_024)) == .valid(couponID: 2_024, keyVersion: 2))
        }
    }

    @Test("An invalid COUPONBATCH_CODE_KEY_VERSION is an error naming the variable",
          arguments: ["0", "16", "two", "-1", "1.5", "300"])
    func invalidKeyVersion(raw: String) {
        let error = Self.environmentError(["COUPONBATCH_CODE_SECRET": Self.secretText,
                                           "COUPONBATCH_CODE_KEY_VERSION": raw])
        #expect(error?.kind == .invalidKeyVersion)
        #expect(error?.message.contains("COUPONBATCH_CODE_KEY_VERSION") == true)
        #expect(error.map { Self.leaks(in: $0.message).isEmpty } == true)
    }

    @Test("A secret pasted into COUPONBATCH_CODE_KEY_VERSION by mistake is not echoed")
    func misplacedSecretInKeyVersionIsNotEchoed() {
        let error = Self.environmentError(["COUPONBATCH_CODE_SECRET_FILE": "/run/secrets/code",
                                           "COUPONBATCH_CODE_KEY_VERSION": Self.secretText])
        #expect(error?.kind == .invalidKeyVersion)
        #expect(error.map { Self.leaks(in: $0.message).isEmpty && $0.message.contains("25-character") } == true)
    }

    @Test("Unknown COUPONBATCH_CODE_SECRET_* variables are an error naming them",
          arguments: ["COUPONBATCH_CODE_SECRET_OLD", "COUPONBATCH_CODE_SECRET_V16", "COUPONBATCH_CODE_SECRET_V01",
                      "COUPONBATCH_CODE_SECRET_V0_FILE", "COUPONBATCH_CODE_SECRET_FILES"])
    func unknownSecretVariable(name: String) {
        let error = Self.environmentError(["COUPONBATCH_CODE_SECRET": Self.secretText, name: Self.secretText])
        #expect(error?.kind == .unknownVariable)
        #expect(error?.message.contains(name) == true)
        #expect(error.map { Self.leaks(in: $0.message).isEmpty } == true)
    }

    @Test("A secret for the current version given twice must be the same secret")
    func conflictingCurrentSecret() throws {
        let conflicting = Self.environmentError([
            "COUPONBATCH_CODE_SECRET": Self.secretText,
            "COUPONBATCH_CODE_KEY_VERSION": "2",
            "COUPONBATCH_CODE_SECRET_V2": "a different secret for version 2",
        ])
        #expect(conflicting?.kind == .conflictingSecrets)
        #expect(conflicting.map { Self.leaks(in: $0.message).isEmpty && !$0.message.contains("different") } == true)

        let consistent = try CodeSecret.fromEnvironment([
            "COUPONBATCH_CODE_SECRET": Self.secretText,
            "COUPONBATCH_CODE_KEY_VERSION": "2",
            "COUPONBATCH_CODE_SECRET_V2": Self.secretText,
        ])
        #expect(consistent.current == 2 && consistent.versions == [2])
    }
}
