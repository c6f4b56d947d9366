import ArgumentParser
import CouponKit
import Foundation
import Postgres

/// sysexits codes of DESIGN.md: every exit code of the executable comes from here.
enum ExitStatus: Int32, Error {
    case ok = 0
    case jobFailed = 1
    case usage = 64
    case dataError = 65
    case unavailable = 69
    case temporaryFailure = 75
    case configuration = 78
    /// A second SIGINT or SIGTERM while stopping (128 + SIGINT, as shells report it).
    case interrupted = 130

    init(_ category: FailureCategory) {
        switch category {
        case .jobFailed: self = .jobFailed
        case .badInput: self = .dataError
        case .unavailable: self = .unavailable
        case .temporary: self = .temporaryFailure
        case .configuration: self = .configuration
        }
    }

    /// How a run this process drove ended: failed (for good or until its retry) is 1; given up
    /// for another runner to resume (shutdown, a database outage past the budget, a stall,
    /// a takeover) is 75, worth retrying.
    init(_ outcome: RunReport.Outcome) {
        switch outcome {
        case .succeeded: self = .ok
        case .failed, .retrying: self = .jobFailed
        case .released, .leaseLost: self = .temporaryFailure
        }
    }

    /// A run found in the ledger (not driven by this process), by its status.
    init(runStatus status: String) {
        switch RunStatus(rawValue: status) {
        case .failed: self = .jobFailed
        case .running, .pending: self = .temporaryFailure
        default: self = .ok
        }
    }

    /// Exits with this status (`exit` itself, so no code reaches the OS around this type).
    func exitNow() -> Never { exit(rawValue) }
}

/// Exits with the code an error deserves, after printing it on stderr.
///
/// Usage errors, `--help` and `--version` go to ArgumentParser, which already exits 64 or 0.
func terminate(withFailure error: any Error) -> Never {
    if let categorized = error as? any CategorizedError {
        printError(categorized.description)
        ExitStatus(categorized.category).exitNow()
    }
    if let status = error as? ExitStatus { status.exitNow() }
    Couponbatch.exit(withError: error)
}

func printError(_ message: String) {
    let text = message.hasSuffix("\n") ? message : message + "\n"
    FileHandle.standardError.write(Data(("couponbatch: " + text).utf8))
}
