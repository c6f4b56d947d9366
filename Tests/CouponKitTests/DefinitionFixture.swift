import Foundation
import Testing

@testable import CouponKit

/// A temporary deployment directory `ROOT/jobs` holding the given files, for loader tests.
///
/// Error descriptions are compared with `ROOT/` stripped, so expectations read `jobs/vip.yaml:…`.
final class DefinitionFixture {
    static let templates = """
        templates:
          - key: vip-2000-300
            type: threshold
            tiers: [{min_spend_fen: 200000, off_fen: 30000}]
            validity: {days: 7}
          - key: recall-7d
            type: cash
            off_fen: 1000
            validity: {days: 7}
          - key: recall-15d
            type: cash
            off_fen: 1000
            validity: {days: 15}

        """

    let root: String
    var jobs: String { root + "/jobs" }

    /// `files` maps names inside `jobs/` to their content. The standard templates.yaml above is
    /// added unless `files` has its own or `withTemplates` is false.
    init(_ files: [String: String], withTemplates: Bool = true) throws {
        root =
            FileManager.default.temporaryDirectory
            .appendingPathComponent("couponkit-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: root + "/jobs", withIntermediateDirectories: true)
        var all = files
        if withTemplates, all["templates.yaml"] == nil {
            all["templates.yaml"] = DefinitionFixture.templates
        }
        for (name, content) in all {
            let path = root + "/jobs/" + name
            try FileManager.default.createDirectory(
                atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
            try Data(content.utf8).write(to: URL(fileURLWithPath: path))
        }
    }

    deinit {
        try? FileManager.default.removeItem(atPath: root)
    }

    func path(_ name: String) -> String { jobs + "/" + name }

    func load() throws(DefinitionErrors) -> Deployment {
        try DefinitionLoader.load(directory: jobs)
    }

    /// The error lines of a load that must fail, with the temporary root stripped.
    func loadErrors() -> [String] {
        do {
            _ = try load()
            return []
        } catch {
            return lines(error)
        }
    }

    func validateErrors(_ names: [String]) -> [String] {
        do {
            _ = try DefinitionLoader.validate(files: names.map(path), directory: jobs)
            return []
        } catch {
            return lines(error)
        }
    }

    func lines(_ errors: DefinitionErrors) -> [String] {
        errors.errors.map { $0.description.replacingOccurrences(of: root + "/", with: "") }
    }
}

/// A job file: the given YAML lines after a standard header.
enum JobYAML {
    /// `name`, `kind: issue` and a schedule, then `body`.
    static func issue(_ body: String, name: String = "vip-monthly") -> String {
        """
        name: \(name)
        kind: issue
        schedule: "0 9 1 * *"
        \(body)
        """
    }

    /// An issue job whose segment is `segment` (indented by the caller as a block under `segment:`).
    static func segment(_ segment: String) -> String {
        issue(
            """
            segment:
            \(segment)
            coupons: [{template: recall-7d}]
            """)
    }
}
