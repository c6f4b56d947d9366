import Foundation
import Testing

@testable import CouponKit

/// The binary carries sql/ (generated at build time): it must be exactly what the directory holds,
/// byte for byte, or the checksums recorded by a `--sql-dir` migrate would not match.
@Test func embeddedMigrationsAreExactlyTheFilesOfSqlDirectory() throws {
    let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()
    let fromDisk = try Migration.load(directory: root.appending(path: "sql").path)
    let embedded = try Migration.embedded()
    #expect(embedded.map(\.fileName) == fromDisk.map(\.fileName))
    #expect(embedded.map(\.checksum) == fromDisk.map(\.checksum))
    #expect(embedded.count >= 4)
}
