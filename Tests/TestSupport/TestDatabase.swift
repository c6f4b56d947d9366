import Foundation
import Postgres

/// A database of its own for one test, cloned from the migrated template that `make test`
/// prepares (CREATE DATABASE … TEMPLATE), and dropped when the value goes away.
///
/// Tests therefore run in parallel and never see each other's rows.
public final class TestDatabase: Sendable {
    public let name: String
    public let url: String
    private let adminURL: String

    /// Clones the migrated template; `empty: true` gives a database with no tables at all.
    public init(empty: Bool = false) throws {
        guard let template = ProcessInfo.processInfo.environment["COUPONBATCH_TEST_DATABASE_URL"] else {
            throw TestSetupError(
                "COUPONBATCH_TEST_DATABASE_URL is not set: run the tests with `make test`, which starts PostgreSQL "
                    + "and prepares the template database")
        }
        let (base, templateName) = Self.split(template)
        adminURL = base + "/postgres"
        name = "cbt_" + UUID().uuidString.replacingOccurrences(of: "-", with: "").prefix(20).lowercased()
        url = base + "/" + name
        let admin = try Connection.connect(url: adminURL)
        try admin.execute("CREATE DATABASE \(name) TEMPLATE \(empty ? "template0" : templateName)")
    }

    deinit {
        if let admin = try? Connection.connect(url: adminURL) {
            _ = try? admin.execute("DROP DATABASE IF EXISTS \(name) WITH (FORCE)")
        }
    }

    public func connect() throws -> Connection {
        try Connection.connect(url: url)
    }

    /// The URL of the template database's server with another database name.
    public static func split(_ url: String) -> (base: String, database: String) {
        var trimmed = url
        if let query = trimmed.firstIndex(of: "?") { trimmed = String(trimmed[..<query]) }
        guard let slash = trimmed.lastIndex(of: "/") else { return (trimmed, "postgres") }
        return (String(trimmed[..<slash]), String(trimmed[trimmed.index(after: slash)...]))
    }
}

public struct TestSetupError: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}

/// Peak resident memory of this process so far, in bytes (VmHWM).
public func peakResidentBytes() -> Int {
    guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8) else { return 0 }
    for line in status.split(separator: "\n") where line.hasPrefix("VmHWM:") {
        let digits = line.filter(\.isNumber)
        return (Int(digits) ?? 0) * 1024
    }
    return 0
}

/// Current resident memory (VmRSS), in bytes.
public func residentBytes() -> Int {
    guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8) else { return 0 }
    for line in status.split(separator: "\n") where line.hasPrefix("VmRSS:") {
        return (Int(line.filter(\.isNumber)) ?? 0) * 1024
    }
    return 0
}
