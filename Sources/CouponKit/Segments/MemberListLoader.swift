import Foundation
import Postgres

/// Loads a `list: FILE.csv` segment into a snapshot: read, parse, store by fingerprint.
enum MemberListLoader {
    struct Loaded {
        var snapshot: SegmentSnapshot
        var reused: Bool
        var problems: [SegmentWarning]
        var duplicateCount: Int
    }

    /// `path` is the job's text: reported as written, read relative to `directory` when relative.
    static func load(path: String, directory: String?, field: String, connection: Connection) throws -> Loaded {
        guard !path.isEmpty else {
            throw SegmentError(field: field, reason: .listUnreadable, message: "no member list file is named")
        }
        let location: String
        if path.hasPrefix("/") || directory == nil {
            location = path
        } else {
            location = URL(fileURLWithPath: directory ?? ".").appendingPathComponent(path).path
        }
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: location, isDirectory: &isDirectory), !isDirectory.boolValue else {
            throw SegmentError(field: field, reason: .listUnreadable, message: "cannot read \(path): no such file")
        }
        guard let data = FileManager.default.contents(atPath: location) else {
            throw SegmentError(
                field: field, reason: .listUnreadable, message: "cannot read \(path): permission denied or I/O error")
        }
        let file = MemberListFile(parsing: String(decoding: data, as: UTF8.self), name: path)
        let stored = try SegmentSnapshotStore.store(
            sortedMemberIDs: file.memberIDs, kind: .list, source: path, connection: connection)
        return Loaded(
            snapshot: stored.snapshot, reused: stored.reused, problems: file.problems,
            duplicateCount: file.duplicateCount)
    }
}
