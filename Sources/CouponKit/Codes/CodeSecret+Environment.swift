import Foundation

extension CodeSecret {
    /// The variable holding the current secret.
    public static let secretVariable = "COUPONBATCH_CODE_SECRET"
    /// The variable naming a file that holds the current secret.
    public static let secretFileVariable = "COUPONBATCH_CODE_SECRET_FILE"
    /// The variable holding the current key version (default 1).
    public static let keyVersionVariable = "COUPONBATCH_CODE_KEY_VERSION"

    /// Builds the code keyring from environment variables.
    ///
    /// - `COUPONBATCH_CODE_SECRET`: the current secret (its UTF-8 bytes, at least 16), else
    /// - `COUPONBATCH_CODE_SECRET_FILE`: a file holding it (trailing `\n` / `\r\n` trimmed).
    ///   If both are set, `COUPONBATCH_CODE_SECRET` wins. An empty value counts as unset.
    /// - `COUPONBATCH_CODE_KEY_VERSION`: the current key version, `1...15`, default 1.
    /// - `COUPONBATCH_CODE_SECRET_V<n>` or `COUPONBATCH_CODE_SECRET_V<n>_FILE` (n in `1...15`):
    ///   retired secrets, so that codes made under version n still verify after rotation.
    ///   Naming the current version is allowed only with the same secret.
    ///
    /// Rotation from version 1 to 2: set `COUPONBATCH_CODE_SECRET_V1` to the old secret,
    /// `COUPONBATCH_CODE_SECRET` to the new one and `COUPONBATCH_CODE_KEY_VERSION=2`.
    ///
    /// Any other `COUPONBATCH_CODE_SECRET_*` variable is an error, so a typo in a retired
    /// secret's name fails loudly instead of silently invalidating old codes.
    ///
    /// - Throws: ``CodeSecretError``, whose message names the variable at fault and never
    ///   contains a secret.
    public static func fromEnvironment(
        _ env: [String: String] = ProcessInfo.processInfo.environment
    ) throws(CodeSecretError) -> CodeKeyring {
        let current = try currentKeyVersion(env)
        guard let currentSecret = try secret(valueVariable: secretVariable,
                                             fileVariable: secretFileVariable, in: env)
        else {
            throw CodeSecretError(.missingSecret,
                "no code secret: set \(secretVariable) or \(secretFileVariable)")
        }
        var secrets = [current: currentSecret]
        for version in try retiredVersionsNamed(in: env) {
            let valueVariable = "\(secretVariable)_V\(version)"
            guard let secret = try secret(valueVariable: valueVariable,
                                          fileVariable: "\(valueVariable)_FILE", in: env)
            else { continue }
            if version == current {
                guard secret.hasSameBytes(as: currentSecret) else {
                    throw CodeSecretError(.conflictingSecrets,
                        "\(valueVariable) names the current key version \(current) but differs from "
                        + "the secret in \(secretVariable)/\(secretFileVariable); remove one of them")
                }
            } else {
                secrets[version] = secret
            }
        }
        return try CodeKeyring(current: current, secrets: secrets)
    }

    private static func currentKeyVersion(_ env: [String: String]) throws(CodeSecretError) -> UInt8 {
        guard let raw = env[keyVersionVariable]?.trimmingCharacters(in: .whitespaces), !raw.isEmpty else {
            return 1
        }
        guard let version = UInt8(raw), CodeKeyring.versionRange.contains(version) else {
            // Echo only values too short to be a misplaced secret.
            let shown = raw.count <= 3 ? "\"\(raw)\"" : "a \(raw.count)-character value"
            throw CodeSecretError(.invalidKeyVersion,
                "\(keyVersionVariable) must be a whole number from \(CodeKeyring.versionRange.lowerBound) "
                + "to \(CodeKeyring.versionRange.upperBound), got \(shown)")
        }
        return version
    }

    /// The versions n named by `COUPONBATCH_CODE_SECRET_V<n>[_FILE]` variables, ascending.
    private static func retiredVersionsNamed(in env: [String: String]) throws(CodeSecretError) -> [UInt8] {
        let prefix = secretVariable + "_"
        var versions = Set<UInt8>()
        for name in env.keys.sorted() where name.hasPrefix(prefix) && name != secretFileVariable {
            var rest = name.dropFirst(prefix.count)
            if rest.hasSuffix("_FILE") { rest = rest.dropLast("_FILE".count) }
            let digits = rest.dropFirst()
            guard rest.first == "V", let version = UInt8(digits), String(version) == digits,
                  CodeKeyring.versionRange.contains(version)
            else {
                throw CodeSecretError(.unknownVariable,
                    "unknown variable \(name): retired code secrets are set as \(secretVariable)_V<n> "
                    + "or \(secretVariable)_V<n>_FILE with n from \(CodeKeyring.versionRange.lowerBound) "
                    + "to \(CodeKeyring.versionRange.upperBound)")
            }
            versions.insert(version)
        }
        return versions.sorted()
    }

    /// The secret from `valueVariable`, else from the file named by `fileVariable`, else nil.
    private static func secret(valueVariable: String, fileVariable: String,
                               in env: [String: String]) throws(CodeSecretError) -> CodeSecret? {
        if let value = env[valueVariable], !value.isEmpty {
            do {
                return try CodeSecret(value.utf8)
            } catch {
                throw CodeSecretError(error.kind, "\(valueVariable): \(error.message)")
            }
        }
        guard let path = env[fileVariable], !path.isEmpty else { return nil }
        var isDirectory: ObjCBool = false
        if FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), isDirectory.boolValue {
            throw CodeSecretError(.unreadableSecretFile,
                "cannot read the code secret file \(path) named by \(fileVariable): it is a directory")
        }
        var contents: Data
        do {
            contents = try Data(contentsOf: URL(fileURLWithPath: path))
        } catch {
            throw CodeSecretError(.unreadableSecretFile,
                "cannot read the code secret file \(path) named by \(fileVariable): "
                + "\(error.localizedDescription)")
        }
        defer { contents.resetBytes(in: contents.startIndex..<contents.endIndex) }
        var end = contents.endIndex
        while end > contents.startIndex,
              contents[end - 1] == UInt8(ascii: "\n") || contents[end - 1] == UInt8(ascii: "\r") {
            end -= 1
        }
        do {
            return try CodeSecret(contents[contents.startIndex..<end])
        } catch {
            throw CodeSecretError(error.kind, "\(fileVariable) (\(path)): \(error.message)")
        }
    }
}
