import ArgumentParser
import CouponKit
import Foundation

extension Couponbatch {
    struct SegmentCommand: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "segment", abstract: "Inspect a job's member segment.", subcommands: [Count.self])

        struct Count: ParsableCommand {
            static let configuration = CommandConfiguration(
                abstract: "Count the members in a job's segment now, with five sample member ids.")

            @OptionGroup var global: GlobalOptions

            @Argument(help: "The job's name.")
            var job: String

            @Option(help: "Evaluate day-based rules as of this ISO 8601 instant (default: now).")
            var at: String?

            func validate() throws { try ISOInstant.validate(at, option: "--at") }

            func run() throws {
                let logger = global.makeLogger()
                let deployment = try global.loadDeployment()
                guard let definition = deployment.job(named: job) else { throw ConfigurationError("no job named \"\(job)\"") }
                guard case .issue(let action) = definition.action else {
                    throw ConfigurationError("job \(job) is a \(definition.kind.rawValue) job; only issue jobs have segments")
                }
                let connection = try global.connect()
                let asOf = try at.flatMap(ISOInstant.parse) ?? SlotLedger.databaseNow(connection)
                let resolved = try SegmentResolver.resolve(
                    action.segment, asOf: asOf, connection: connection,
                    options: .init(sandbox: global.segmentSandbox), logger: logger)
                let count = try resolved.count(connection: connection)
                let sample = try resolved.sample(connection: connection, limit: 5)
                print("\(job): \(count) members")
                print("sample: \(sample.isEmpty ? "none" : sample.map(String.init).joined(separator: ", "))")
                for warning in resolved.warnings { print("warning: \(warning)") }
            }
        }
    }
}
