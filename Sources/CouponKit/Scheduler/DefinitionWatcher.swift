import Foundation
import Synchronization

/// Notices when files under the jobs directory change (names, sizes, modification times) and
/// reloads the definitions then.
public final class DefinitionWatcher: Sendable {
    private let directory: String
    private let lastFingerprint = Mutex<String?>(nil)

    public init(directory: String) {
        self.directory = directory
        lastFingerprint.withLock { $0 = Self.fingerprint(directory) }
    }

    /// The new deployment when files changed since the last call, nil when unchanged.
    public func reloadIfChanged() throws -> Deployment? {
        let current = Self.fingerprint(directory)
        let changed = lastFingerprint.withLock { last -> Bool in
            defer { last = current }
            return last != current
        }
        guard changed else { return nil }
        return try DefinitionLoader.load(directory: directory)
    }

    static func fingerprint(_ directory: String) -> String {
        let manager = FileManager.default
        guard let names = try? manager.contentsOfDirectory(atPath: directory) else { return "" }
        return names.sorted().map { name -> String in
            let attributes = try? manager.attributesOfItem(atPath: "\(directory)/\(name)")
            let size = (attributes?[.size] as? NSNumber)?.intValue ?? -1
            let modified = (attributes?[.modificationDate] as? Date)?.timeIntervalSince1970 ?? 0
            return "\(name):\(size):\(modified)"
        }.joined(separator: "|")
    }
}
